/**
 * The engine's result for one person-year turned into discrepancy findings (spec §4: one
 * BENEFIT_RULE_DEVIATION per settlement, one ANNUAL_CAP_EXCEEDED per person-year) and into the rows
 * the audit keeps per settlement. Pure: the caller loads the records and stores the output.
 */
import { subjectKey } from '../matching/rules';
import type { Finding } from '../matching';
import { Money } from '../money';
import type { BenefitDerivation, PersonYearBenefits } from './engine-types';
import { fenText } from './exact';
import { annualCapFinding, benefitDeviation } from './findings';
import type { AuditRecord, PersonYear } from './audit-records';

/** What the audit keeps per settlement (table settlement_benefits, migration 030). */
export interface SettlementBenefitRow {
  setl_id: string;
  admdvs: string;
  period: string;
  checked: boolean;
  unchecked_reason: string | null;
  expected_amount: string | null;
  actual_amount: string;
  difference: string | null;
  tolerance: string;
  deviates: boolean;
  /** The engine's derivation; stored as derivationEvidence's JSON (audit.ts storeResults). */
  derivation: BenefitDerivation | null;
}

export interface PersonYearAudit {
  findings: Finding<object>[];
  rows: SettlementBenefitRow[];
}

/**
 * `records` are the person-year's records (any order) and `result` the engine's evaluation of them.
 * A deviation's evidence names the messages of the settlements up to and including it: those are
 * the facts its expected amount rests on, so a later settlement arriving leaves the case untouched.
 */
export function auditPersonYear(
  py: PersonYear,
  records: readonly AuditRecord[],
  result: PersonYearBenefits,
): PersonYearAudit {
  const { policy } = py;
  const byId = new Map(records.map((r) => [r.setl_id, r]));
  const ordered = [...records].sort(
    (a, b) =>
      a.setl_time.getTime() - b.setl_time.getTime() || (a.setl_id < b.setl_id ? -1 : a.setl_id > b.setl_id ? 1 : 0),
  );
  const tolerance = fenText(policy.benefit_tolerance);
  const findings: Finding<object>[] = [];
  const rows: SettlementBenefitRow[] = [];

  for (const r of result.settlements) {
    const rec = byId.get(r.setl_id)!;
    const dev = benefitDeviation(policy, r);
    rows.push({
      setl_id: r.setl_id,
      admdvs: rec.insuplc_admdvs,
      period: rec.period,
      checked: r.checked,
      unchecked_reason: r.unchecked_reason,
      expected_amount: r.derivation ? fenText(r.expected) : null,
      actual_amount: fenText(r.actual),
      difference: r.derivation ? fenText(r.actual.minus(r.expected)) : null,
      tolerance,
      deviates: dev !== undefined,
      derivation: r.derivation,
    });
    if (!dev) continue;
    const upTo = ordered.slice(0, ordered.indexOf(rec) + 1);
    findings.push({
      code: 'BENEFIT_RULE_DEVIATION',
      severity: 'high',
      subject_key: subjectKey({ kind: 'settlement', setl_id: r.setl_id }),
      admdvs: rec.insuplc_admdvs,
      insurer_code: rec.insurer_code,
      fixmedins_code: rec.fixmedins_code,
      period: rec.period,
      setl_id: r.setl_id,
      expected_amount: dev.expected_amount,
      actual_amount: dev.actual_amount,
      difference: dev.difference,
      detail:
        `Settlement ${r.setl_id}: recorded hifob_pay ${dev.actual_amount} differs from the ${dev.expected_amount} the ${policy.id} benefit rules give ` +
        `for benefit year ${py.year} (difference ${dev.difference}, tolerance ${dev.tolerance}).`,
      evidence: { ...dev.evidence, tolerance: dev.tolerance, message_ids: messageIds(upTo) },
    });
  }
  for (const id of result.excluded) {
    const rec = byId.get(id)!;
    rows.push({
      setl_id: id,
      admdvs: rec.insuplc_admdvs,
      period: rec.period,
      checked: false,
      unchecked_reason: 'reversed',
      expected_amount: null,
      actual_amount: fenText(Money.of(rec.hifob_pay)),
      difference: null,
      tolerance,
      deviates: false,
      derivation: null,
    });
  }

  const cap = annualCapFinding(policy, result);
  if (cap) {
    // The case is filed where the recorded payments first passed the cap: that settlement's region,
    // insurer, institution and month.
    const crossing = crossingSettlement(result, Money.of(cap.expected_amount));
    const rec = byId.get(crossing)!;
    findings.push({
      code: 'ANNUAL_CAP_EXCEEDED',
      severity: 'high',
      subject_key: py.key,
      admdvs: rec.insuplc_admdvs,
      insurer_code: rec.insurer_code,
      fixmedins_code: rec.fixmedins_code,
      period: rec.period,
      expected_amount: cap.expected_amount,
      actual_amount: cap.actual_amount,
      difference: cap.difference,
      detail:
        `Benefit year ${py.year}: large-expense payments recorded for one insured person total ${cap.actual_amount}, ` +
        `above the ${policy.id} yearly limit of ${cap.expected_amount} by ${cap.difference}; the limit was passed at settlement ${crossing}.`,
      evidence: {
        ...cap.evidence,
        region: policy.id,
        benefit_year: py.year,
        crossing_setl_id: crossing,
        message_ids: messageIds(ordered.filter((r) => r.status === 'valid')),
      },
    });
  }
  return { findings, rows };
}

function crossingSettlement(result: PersonYearBenefits, limit: Money): string {
  let sum = Money.ZERO;
  for (const s of result.settlements) {
    sum = sum.plus(s.actual);
    if (sum.gt(limit)) return s.setl_id;
  }
  return result.settlements[result.settlements.length - 1]!.setl_id;
}

function messageIds(records: readonly AuditRecord[]): string[] {
  return [...new Set(records.flatMap((r) => r.message_ids))].sort();
}
