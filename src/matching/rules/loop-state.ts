import { settlementDueDate, isOverdueAt, type DueDate } from '../../deadlines/due-dates';
import { Money } from '../../money';
import type { LocalDate } from '../../time';
import type { EvaluationContext, PaymentLineFact, RecoveryFact, SettlementFact } from './facts';
import { compareLines, compareRecoveries, sorted } from './order';

/**
 * The state of one settlement's loop (spec §4 "The loop", §5 `loop`). Owed = valid with hifob_pay > 0;
 * a reversed or zero-share settlement owes 0. Only lines from the owing insurer to the right payee
 * count (direct → the institution, manual → the person). Closure uses gross paid + rejected; a later
 * recovery lowers net paid but "keeps it closed" (spec §4), so it never reopens the loop.
 */
export type LoopStatus = 'owed' | 'closed' | 'overdue' | 'reversed' | 'not_owed';

export interface LoopState {
  status: LoopStatus;
  owed: Money;
  /** Gross paid by counted lines (before recoveries). */
  paid: Money;
  /** Rejected with a reason code by counted lines (拒付). */
  rejected: Money;
  /** Recovered (追回) by the owing insurer. */
  recovered: Money;
  /** max(owed − (paid + rejected), 0). */
  outstanding: Money;
  due_date: LocalDate;
  /** The instant the due date lapses (00:00 CST the day after `due_date`). */
  due_at: Date;
  /** pay_time of the line that closed it (owed settlements only). */
  closed_at?: Date;
}

export interface LineVerdict {
  line: PaymentLineFact;
  insurerOk: boolean;
  payeeOk: boolean;
  /** Counts toward the loop: from the owing insurer and to the right payee. */
  counted: boolean;
}

/** Everything the finding rules need, computed once. */
export interface LoopComputation {
  state: LoopState;
  due: DueDate;
  /** All lines naming the settlement, in canonical order, with their verdicts. */
  verdicts: LineVerdict[];
  counted: PaymentLineFact[];
  /** The owing insurer's recoveries, canonical order. */
  recoveries: RecoveryFact[];
  closingLine?: PaymentLineFact;
  /** paid − recovered. */
  netPaid: Money;
}

/** The right payee of a settlement (spec §3: manual = 零星报销, payee is the person). */
export function isRightPayee(s: SettlementFact, l: Pick<PaymentLineFact, 'payee_type' | 'payee_id'>): boolean {
  return s.setl_mode === 'direct'
    ? l.payee_type === 'institution' && l.payee_id === s.fixmedins_code
    : l.payee_type === 'person' && l.payee_id === s.psn_no;
}

/**
 * A rejection counts toward closure only with a reason code (DOMAIN: "paid + rejected-with-reason");
 * ingest already refuses a rejected_amount without one (spec §3), so this is a guard, not a rule.
 */
export function countedRejection(l: PaymentLineFact): Money {
  return l.reject_reason_code !== undefined && l.reject_reason_code !== '' ? l.rejected_amount : Money.ZERO;
}

/**
 * Net paid (spec §4): what the owing insurer paid the right payee for the settlement, less its own
 * recoveries — computeLoop's `netPaid`, without the due date (the fund statement needs only this).
 */
export function netPaidOf(
  s: SettlementFact,
  lines: readonly PaymentLineFact[],
  recoveries: readonly RecoveryFact[],
): Money {
  let net = Money.ZERO;
  for (const l of lines) if (l.insurer_code === s.insurer_code && isRightPayee(s, l)) net = net.plus(l.paid_amount);
  for (const r of recoveries) if (r.insurer_code === s.insurer_code) net = net.minus(r.amount);
  return net;
}

/**
 * settlementDueDate, remembered per CST day and mode for the same params and calendar: a settlement's
 * due date depends only on its mode and the China Standard Time date of setl_time (the month's
 * end for direct settlement, working days from that date for manual claims), and a month's
 * settlements fall on ~30 days (the working-day arithmetic was ~a fifth of an evaluation). The
 * DueDate objects are shared between settlements: nothing changes them.
 */
const DAY_MS = 86_400_000,
  CST_MS = 8 * 3_600_000;
const dueMemo = new WeakMap<object, WeakMap<object, Map<string, DueDate>>>();
function dueDateOf(
  s: Pick<SettlementFact, 'setl_mode' | 'setl_time'>,
  params: EvaluationContext['params'],
  calendar: EvaluationContext['calendar'],
): DueDate {
  let byCalendar = dueMemo.get(params);
  if (!byCalendar) dueMemo.set(params, (byCalendar = new WeakMap()));
  let memo = byCalendar.get(calendar);
  if (!memo) byCalendar.set(calendar, (memo = new Map()));
  const key = `${s.setl_mode}:${Math.floor((s.setl_time.getTime() + CST_MS) / DAY_MS)}`;
  let due = memo.get(key);
  if (!due) memo.set(key, (due = settlementDueDate(s, params, calendar)));
  return due;
}

export function computeLoop(
  s: SettlementFact,
  lines: readonly PaymentLineFact[],
  recoveries: readonly RecoveryFact[],
  ctx: Pick<EvaluationContext, 'asOf' | 'params' | 'calendar'>,
): LoopComputation {
  const due = dueDateOf(s, ctx.params, ctx.calendar);
  const verdicts = sorted(lines, compareLines).map((line) => {
    const insurerOk = line.insurer_code === s.insurer_code;
    const payeeOk = isRightPayee(s, line);
    return { line, insurerOk, payeeOk, counted: insurerOk && payeeOk };
  });
  const counted = verdicts.filter((v) => v.counted).map((v) => v.line);
  const ownRecoveries = sorted(recoveries, compareRecoveries).filter((r) => r.insurer_code === s.insurer_code);

  const paid = Money.sum(counted.map((l) => l.paid_amount));
  const rejected = Money.sum(counted.map(countedRejection));
  const recovered = Money.sum(ownRecoveries.map((r) => r.amount));
  const netPaid = netPaidOf(s, lines, recoveries);
  const owesSomething = s.status === 'valid' && s.hifob_pay.isPositive();
  const owed = owesSomething ? s.hifob_pay : Money.ZERO;

  let closingLine: PaymentLineFact | undefined;
  if (owesSomething) {
    let covered = Money.ZERO;
    for (const l of counted) {
      covered = covered.plus(l.paid_amount).plus(countedRejection(l));
      if (covered.gte(owed)) {
        closingLine = l;
        break;
      }
    }
  }

  const outstanding = Money.max(owed.minus(paid.plus(rejected)), Money.ZERO);
  const status: LoopStatus =
    s.status === 'reversed'
      ? 'reversed'
      : !owesSomething
        ? 'not_owed'
        : closingLine
          ? 'closed'
          : isOverdueAt(due, ctx.asOf)
            ? 'overdue'
            : 'owed';

  const state: LoopState = {
    status,
    owed,
    paid,
    rejected,
    recovered,
    outstanding,
    due_date: due.date,
    due_at: due.lapses_at,
  };
  if (closingLine) state.closed_at = closingLine.pay_time;
  const out: LoopComputation = { state, due, verdicts, counted, recoveries: ownRecoveries, netPaid };
  if (closingLine) out.closingLine = closingLine;
  return out;
}
