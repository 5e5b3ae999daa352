import { Money } from '../../money';
import type { EvaluationContext, SettlementFact } from './facts';
import { makeFinding, settlementEvidence, type Finding } from '../finding';
import { compareSettlements, sorted } from './order';
import { subjectKey } from './subject-key';

/**
 * Findings on the agency record itself, from the order-of-payers rule (004 §6: nothing reimbursed
 * twice, the payers together never above the bill). Only valid settlements: a reversed one pays nothing.
 */

const PAYERS = ['hifp_pay', 'hifob_pay', 'hifmi_pay', 'cvlserv_pay', 'maf_pay', 'oth_pay'] as const;

/** OVER_REIMBURSEMENT (超费用报销): hifp + hifob + hifmi + cvlserv + maf + oth > medfee_sumamt. */
export function overReimbursementFindings(s: SettlementFact, ctx: EvaluationContext): Finding[] {
  if (s.status !== 'valid') return [];
  let total = Money.ZERO;
  for (const p of PAYERS) {
    const v = s[p];
    if (v !== undefined) total = total.plus(v);
  }
  if (!total.gt(s.medfee_sumamt)) return [];
  // The amounts as text only for a finding (most settlements have none).
  const amounts: Record<string, string> = {};
  for (const p of PAYERS) {
    const v = s[p];
    if (v !== undefined) amounts[p] = v.toString();
  }
  amounts.medfee_sumamt = s.medfee_sumamt.toString();
  return [
    makeFinding(ctx, {
      code: 'OVER_REIMBURSEMENT',
      subject_key: subjectKey({ kind: 'settlement', setl_id: s.setl_id }),
      setl_id: s.setl_id,
      admdvs: s.insuplc_admdvs,
      insurer_code: s.insurer_code,
      fixmedins_code: s.fixmedins_code,
      period: s.period,
      expected: s.medfee_sumamt,
      actual: total,
      detail: `Settlement ${s.setl_id}: the payers together pay ${total}, more than the total medical cost of ${s.medfee_sumamt}.`,
      evidence: { settlements: [settlementEvidence(s)], amounts },
    }),
  ];
}

/**
 * DUPLICATE_REIMBURSEMENT (重复报销): one mdtrt_id reimbursed by the large-expense fund in both a valid
 * direct and a valid manual settlement. The subject is the manual settlement (the claim that should not
 * have been paid), so the finding is only raised while evaluating the manual one; a caller that records
 * a direct settlement must also re-evaluate the manual settlements of its mdtrt_id. The amounts are the
 * manual claim's hifob_pay against 0.00 expected.
 */
export function duplicateReimbursementFindings(
  s: SettlementFact,
  sameMdtrt: readonly SettlementFact[],
  ctx: EvaluationContext,
): Finding[] {
  const direct = reimbursedBefore(s, sameMdtrt);
  if (direct.length === 0) return [];
  return [
    makeFinding(ctx, {
      code: 'DUPLICATE_REIMBURSEMENT',
      subject_key: subjectKey({ kind: 'settlement', setl_id: s.setl_id }),
      setl_id: s.setl_id,
      admdvs: s.insuplc_admdvs,
      insurer_code: s.insurer_code,
      fixmedins_code: s.fixmedins_code,
      period: s.period,
      expected: Money.ZERO,
      actual: s.hifob_pay,
      detail: `Manual settlement ${s.setl_id} reimburses a large-expense amount of ${s.hifob_pay} for a visit already reimbursed by direct settlement ${direct.map((d) => d.setl_id).join(', ')}.`,
      evidence: { settlements: [settlementEvidence(s), ...direct.map(settlementEvidence)] },
    }),
  ];
}

/**
 * The valid direct settlements that already reimbursed the visit of manual settlement `s` by the
 * large-expense fund (sorted), or none: `s` is then the later half of a duplicate reimbursement
 * (DUPLICATE_REIMBURSEMENT; the fund-year statement allows it nothing, spec §8).
 */
export function reimbursedBefore(s: SettlementFact, sameMdtrt: readonly SettlementFact[]): SettlementFact[] {
  if (s.status !== 'valid' || s.setl_mode !== 'manual' || !s.hifob_pay.isPositive()) return [];
  return sorted(sameMdtrt, compareSettlements).filter(
    (o) =>
      o.setl_id !== s.setl_id &&
      o.mdtrt_id === s.mdtrt_id &&
      o.status === 'valid' &&
      o.setl_mode === 'direct' &&
      o.hifob_pay.isPositive(),
  );
}
