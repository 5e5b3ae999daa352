import { graceExpiry } from '../../deadlines/due-dates';
import { Money } from '../../money';
import { toCstIso } from '../../time';
import type { BatchItemFact, EvaluationContext, SettlementInput, SettlementFact } from './facts';
import {
  fallbackAdmdvs,
  itemEvidence,
  makeFinding,
  settlementEvidence,
  type Finding,
  type FindingEvidence,
} from '../finding';
import { compareItems, sorted } from './order';
import { subjectKey } from './subject-key';

/**
 * Declaration findings of one setl_id (spec §4; DOMAIN step 2, 两定对账 line by line): what the
 * institutions' current batches say about it against the agency's record.
 */

/** DECLARED_NOT_RECORDED: a declared item whose setl_id the agency has not recorded, once grace expired. */
export function declaredNotRecordedFindings(
  setlId: string,
  items: readonly BatchItemFact[],
  ctx: EvaluationContext,
): { findings: Finding[]; pending: Date[] } {
  const findings: Finding[] = [];
  const pending: Date[] = [];
  for (const i of sorted(items, compareItems)) {
    // The grace starts when the batch carrying the item was received (spec §4).
    const expires = graceExpiry(i.received_at, ctx.params);
    if (ctx.asOf.getTime() < expires.getTime()) {
      pending.push(expires);
      continue;
    }
    findings.push(
      makeFinding(ctx, {
        code: 'DECLARED_NOT_RECORDED',
        subject_key: itemKey(i),
        setl_id: setlId,
        admdvs: fallbackAdmdvs(ctx, { insurer_code: i.insurer_code, fixmedins_code: i.fixmedins_code }),
        insurer_code: i.insurer_code,
        fixmedins_code: i.fixmedins_code,
        period: i.period,
        actual: i.hifob_pay,
        detail: `Batch ${i.batch_id} of institution ${i.fixmedins_code} declares settlement ${setlId}, which the agency has not recorded within the grace period.`,
        evidence: { items: [itemEvidence(i)], grace_expires_at: toCstIso(expires) },
      }),
    );
  }
  return { findings, pending };
}

/**
 * DECLARED_AMOUNT_MISMATCH: a declared hifob_pay or medfee_sumamt (and, from a 3202 detail file,
 * fund_pay_sumamt or acct_pay) differing from the record by any amount (one fen counts). The
 * finding's amounts are the first differing field's, in that order — hifob_pay (what the insurer would pay) when it
 * differs, else medfee_sumamt; every differing field is in `evidence.mismatched_fields`. A reversed
 * settlement owes nothing, so declaring it with a hifob_pay > 0 is a mismatch against 0.00.
 */
export function declaredAmountFindings(
  s: SettlementFact,
  items: readonly BatchItemFact[],
  ctx: EvaluationContext,
): Finding[] {
  const out: Finding[] = [];
  const recordedHifob = s.status === 'valid' ? s.hifob_pay : Money.ZERO;
  for (const i of sorted(items, compareItems)) {
    const fields: NonNullable<FindingEvidence['mismatched_fields']> = [];
    if (!i.hifob_pay.eq(recordedHifob))
      fields.push({ field: 'hifob_pay', declared: i.hifob_pay.toString(), recorded: recordedHifob.toString() });
    if (s.status === 'valid' && !i.medfee_sumamt.eq(s.medfee_sumamt)) {
      fields.push({
        field: 'medfee_sumamt',
        declared: i.medfee_sumamt.toString(),
        recorded: s.medfee_sumamt.toString(),
      });
    }
    // A 3202 detail file declares these too (spec §9); a batch item never carries them.
    for (const f of ['fund_pay_sumamt', 'acct_pay'] as const) {
      const declared = i[f];
      const recorded = s[f];
      if (s.status === 'valid' && declared && recorded && !declared.eq(recorded))
        fields.push({ field: f, declared: declared.toString(), recorded: recorded.toString() });
    }
    const first = fields[0];
    if (!first) continue;
    const recordedOf = (f: typeof first.field) =>
      f === 'hifob_pay' ? recordedHifob : f === 'medfee_sumamt' ? s.medfee_sumamt : s[f]!;
    const declaredOf = (f: typeof first.field) =>
      f === 'hifob_pay' ? i.hifob_pay : f === 'medfee_sumamt' ? i.medfee_sumamt : i[f]!;
    out.push(
      makeFinding(ctx, {
        code: 'DECLARED_AMOUNT_MISMATCH',
        subject_key: itemKey(i),
        setl_id: s.setl_id,
        admdvs: s.insuplc_admdvs,
        insurer_code: i.insurer_code,
        fixmedins_code: i.fixmedins_code,
        period: i.period,
        expected: recordedOf(first.field),
        actual: declaredOf(first.field),
        detail:
          s.status === 'reversed'
            ? `Batch ${i.batch_id} declares settlement ${s.setl_id}, which was reversed, with a large-expense amount of ${i.hifob_pay}.`
            : `Batch ${i.batch_id} declares settlement ${s.setl_id} with ${fields.map((f) => `${f.field} ${f.declared}`).join(' and ')}, but the agency recorded ${fields.map((f) => f.recorded).join(' and ')}.`,
        evidence: { settlements: [settlementEvidence(s)], items: [itemEvidence(i)], mismatched_fields: fields },
      }),
    );
  }
  return out;
}

/**
 * RECORDED_NOT_DECLARED: an owed direct settlement (the institution advanced the large-expense share
 * and must claim it, 001 art. 15) missing from its institution's current batch for its insurer and
 * period, once that batch has arrived. No grace: both facts are already known.
 */
export function recordedNotDeclaredFindings(
  s: SettlementFact,
  input: Pick<SettlementInput, 'declaredItems' | 'declarationReceived'>,
  ctx: EvaluationContext,
): Finding[] {
  const batch = input.declarationReceived;
  if (!batch || s.status !== 'valid' || s.setl_mode !== 'direct' || !s.hifob_pay.isPositive()) return [];
  const declared = input.declaredItems.some(
    (i) => i.fixmedins_code === s.fixmedins_code && i.insurer_code === s.insurer_code && i.period === s.period,
  );
  if (declared) return [];
  return [
    makeFinding(ctx, {
      code: 'RECORDED_NOT_DECLARED',
      subject_key: subjectKey({ kind: 'settlement', setl_id: s.setl_id }),
      setl_id: s.setl_id,
      admdvs: s.insuplc_admdvs,
      insurer_code: s.insurer_code,
      fixmedins_code: s.fixmedins_code,
      period: s.period,
      expected: s.hifob_pay,
      actual: Money.ZERO,
      detail: `Direct settlement ${s.setl_id} of ${s.hifob_pay} is missing from batch ${batch.batch_id} of institution ${s.fixmedins_code} for ${s.period}.`,
      evidence: {
        settlements: [settlementEvidence(s)],
        batch: { batch_id: batch.batch_id, message_id: batch.message_id, received_at: toCstIso(batch.received_at) },
      },
    }),
  ];
}

function itemKey(i: BatchItemFact): string {
  return subjectKey({
    kind: 'batch_item',
    fixmedins_code: i.fixmedins_code,
    insurer_code: i.insurer_code,
    period: i.period,
    setl_id: i.setl_id,
  });
}
