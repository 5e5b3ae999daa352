import { graceExpiry, isClosedLate } from '../../deadlines/due-dates';
import { Money } from '../../money';
import { periodOf, toCstIso } from '../../time';
import type { EvaluationContext, PaymentLineFact, SettlementFact } from './facts';
import {
  dueEvidence,
  fallbackAdmdvs,
  lineEvidence,
  makeFinding,
  recoveryEvidence,
  settlementEvidence,
  type Finding,
} from '../finding';
import { countedRejection, type LoopComputation } from './loop-state';
import { compareLines, sorted } from './order';
import { subjectKey } from './subject-key';

/**
 * Payment findings of a known settlement (spec §4): deadline (PAYMENT_OVERDUE / PAID_LATE), amount
 * (UNDERPAID / OVERPAID / DUPLICATE_PAYMENT), REVERSED_SETTLEMENT_PAID, and the per-line
 * PAYEE_MISMATCH / INSURER_MISMATCH. Excess is judged on net paid (paid − recovered) + rejected, so a
 * recovery of the excess resolves OVERPAID, DUPLICATE_PAYMENT and REVERSED_SETTLEMENT_PAID, while the
 * shortfall (UNDERPAID) is judged on gross paid, because a recovery keeps the loop closed.
 */
export function paymentFindings(s: SettlementFact, loop: LoopComputation, ctx: EvaluationContext): Finding[] {
  const out: Finding[] = [];
  const { state, due } = loop;
  const base = {
    admdvs: s.insuplc_admdvs,
    insurer_code: s.insurer_code,
    fixmedins_code: s.fixmedins_code,
    period: s.period,
    setl_id: s.setl_id,
  };
  // The subject key and the evidence are built when a finding needs them: most settlements have
  // none. (Inline, not as closures: a closure made per call costs more than the work it saves.)
  let key: string | undefined;
  let lines: ReturnType<typeof lineEvidence>[] | undefined;
  let settlements: ReturnType<typeof settlementEvidence>[] | undefined;
  const covered = state.paid.plus(state.rejected);

  if (state.status === 'overdue') {
    out.push(
      makeFinding(ctx, {
        ...base,
        code: 'PAYMENT_OVERDUE',
        subject_key: (key ??= subjectKey({ kind: 'settlement', setl_id: s.setl_id })),
        expected: state.owed,
        actual: covered,
        detail: `Settlement ${s.setl_id} owes ${state.owed} and still has ${state.outstanding} outstanding after its due date ${due.date}.`,
        evidence: {
          settlements: (settlements ??= [settlementEvidence(s)]),
          lines: (lines ??= loop.counted.map(lineEvidence)),
          due: dueEvidence(due),
        },
      }),
    );
  }
  if (state.status === 'closed' && loop.closingLine && isClosedLate(due, loop.closingLine.pay_time)) {
    out.push(
      makeFinding(ctx, {
        ...base,
        code: 'PAID_LATE',
        subject_key: (key ??= subjectKey({ kind: 'settlement', setl_id: s.setl_id })),
        detail: `Settlement ${s.setl_id} was closed by payment ${loop.closingLine.payment_id} after its due date ${due.date}.`,
        evidence: {
          settlements: (settlements ??= [settlementEvidence(s)]),
          lines: [lineEvidence(loop.closingLine)],
          due: dueEvidence(due),
          closed_at: toCstIso(loop.closingLine.pay_time),
        },
      }),
    );
  }
  if (s.status === 'valid' && state.owed.isPositive() && loop.counted.length > 0 && covered.lt(state.owed)) {
    out.push(
      makeFinding(ctx, {
        ...base,
        code: 'UNDERPAID',
        subject_key: (key ??= subjectKey({ kind: 'settlement', setl_id: s.setl_id })),
        expected: state.owed,
        actual: covered,
        detail: `Settlement ${s.setl_id} owes ${state.owed} but its payments pay and reject only ${covered} together.`,
        evidence: {
          settlements: (settlements ??= [settlementEvidence(s)]),
          lines: (lines ??= loop.counted.map(lineEvidence)),
        },
      }),
    );
  }

  const netCovered = loop.netPaid.plus(state.rejected);
  const recoveries = loop.recoveries.length ? loop.recoveries.map(recoveryEvidence) : [];
  if (s.status === 'valid' && netCovered.gt(state.owed)) {
    const repeats = repeatedOvershoots(loop.counted, state.owed);
    const dup = repeats.length > 0;
    const excess = netCovered.minus(state.owed);
    out.push(
      makeFinding(ctx, {
        ...base,
        code: dup ? 'DUPLICATE_PAYMENT' : 'OVERPAID',
        subject_key: (key ??= subjectKey({ kind: 'settlement', setl_id: s.setl_id })),
        expected: state.owed,
        actual: netCovered,
        detail: dup
          ? `Settlement ${s.setl_id} owes ${state.owed}; a further payment repeats an amount already paid, exceeding it by ${excess}.`
          : `Settlement ${s.setl_id} owes ${state.owed} but was paid and rejected ${netCovered} net of recoveries, ${excess} too much.`,
        evidence: {
          settlements: (settlements ??= [settlementEvidence(s)]),
          lines: dup ? sorted(repeats, compareLines).map(lineEvidence) : (lines ??= loop.counted.map(lineEvidence)),
          ...(recoveries.length ? { recoveries } : {}),
        },
      }),
    );
  }
  if (s.status === 'reversed' && loop.netPaid.isPositive()) {
    out.push(
      makeFinding(ctx, {
        ...base,
        code: 'REVERSED_SETTLEMENT_PAID',
        subject_key: key ?? subjectKey({ kind: 'settlement', setl_id: s.setl_id }),
        expected: Money.ZERO,
        actual: loop.netPaid,
        detail: `Settlement ${s.setl_id} was reversed but ${loop.netPaid} remains paid for it net of recoveries.`,
        evidence: {
          settlements: (settlements ??= [settlementEvidence(s)]),
          lines: lines ?? loop.counted.map(lineEvidence),
          ...(recoveries.length ? { recoveries } : {}),
        },
      }),
    );
  }

  for (const v of loop.verdicts) {
    if (v.insurerOk && v.payeeOk) continue;
    const l = v.line;
    const lineBase = {
      ...base,
      insurer_code: l.insurer_code,
      period: periodOf(l.pay_time),
      subject_key: lineKey(l),
      actual: l.paid_amount,
    };
    if (!v.insurerOk) {
      out.push(
        makeFinding(ctx, {
          ...lineBase,
          code: 'INSURER_MISMATCH',
          detail: `Payment ${l.payment_id} line ${l.line_no} from insurer ${l.insurer_code} names settlement ${s.setl_id}, which insurer ${s.insurer_code} owes.`,
          evidence: { settlements: (settlements ??= [settlementEvidence(s)]), lines: [lineEvidence(l)] },
        }),
      );
    }
    if (!v.payeeOk) {
      const want =
        s.setl_mode === 'direct' ? `institution ${s.fixmedins_code}` : 'the insured person of the manual claim';
      const got = l.payee_type === 'institution' ? `institution ${l.payee_id}` : 'a person';
      out.push(
        makeFinding(ctx, {
          ...lineBase,
          code: 'PAYEE_MISMATCH',
          detail: `Payment ${l.payment_id} line ${l.line_no} for settlement ${s.setl_id} pays ${got} instead of ${want}.`,
          evidence: { settlements: (settlements ??= [settlementEvidence(s)]), lines: [lineEvidence(l)] },
        }),
      );
    }
  }
  return out;
}

/**
 * DUPLICATE_PAYMENT (spec §4: "a further payment repeats an amount already paid for it"): a counted
 * line whose paid_amount equals an earlier counted line's and that takes the total beyond what is
 * owed. Requiring the overshoot keeps equal instalments (50 + 50 of 100) from being called
 * duplicates when a different, later line is what overpays. Returns the repeating lines and the
 * lines they repeat.
 */
function repeatedOvershoots(counted: readonly PaymentLineFact[], owed: Money): PaymentLineFact[] {
  const involved = new Set<PaymentLineFact>();
  let covered = Money.ZERO;
  counted.forEach((l, i) => {
    covered = covered.plus(l.paid_amount).plus(countedRejection(l));
    if (!l.paid_amount.isPositive() || !covered.gt(owed)) return;
    const earlier = counted.slice(0, i).filter((e) => e.paid_amount.eq(l.paid_amount));
    if (earlier.length === 0) return;
    involved.add(l);
    for (const e of earlier) involved.add(e);
  });
  return [...involved];
}

/** UNKNOWN_SETTLEMENT (spec §4): lines naming a setl_id the agency has not recorded, once grace expired. */
export function unknownSettlementFindings(
  setlId: string,
  lines: readonly PaymentLineFact[],
  ctx: EvaluationContext,
): { findings: Finding[]; pending: Date[] } {
  const findings: Finding[] = [];
  const pending: Date[] = [];
  for (const l of sorted(lines, compareLines)) {
    const expires = graceExpiry(l.received_at, ctx.params);
    if (ctx.asOf.getTime() < expires.getTime()) {
      pending.push(expires);
      continue;
    }
    const fixmedins = l.payee_type === 'institution' ? l.payee_id : undefined;
    findings.push(
      makeFinding(ctx, {
        code: 'UNKNOWN_SETTLEMENT',
        subject_key: lineKey(l),
        setl_id: setlId,
        admdvs: fallbackAdmdvs(ctx, {
          insurer_code: l.insurer_code,
          ...(fixmedins ? { fixmedins_code: fixmedins } : {}),
        }),
        insurer_code: l.insurer_code,
        ...(fixmedins ? { fixmedins_code: fixmedins } : {}),
        period: periodOf(l.pay_time),
        actual: l.paid_amount,
        detail: `Payment ${l.payment_id} line ${l.line_no} names settlement ${setlId}, which the agency has not recorded within the grace period.`,
        evidence: { lines: [lineEvidence(l)], grace_expires_at: toCstIso(expires) },
      }),
    );
  }
  return { findings, pending };
}

function lineKey(l: PaymentLineFact): string {
  return subjectKey({
    kind: 'payment_line',
    insurer_code: l.insurer_code,
    payment_id: l.payment_id,
    line_no: l.line_no,
  });
}
