import { addDays, addMonths, cstInstant, cstParts, lastDayOf, type LocalDate, type Period } from '../time';
import type { WorkCalendar } from './calendar';
import type { LoopParams } from './params';

/**
 * Due-date rules of the loop (spec §4 "Due dates"; DOMAIN "What goes wrong"), as pure functions of
 * their inputs and the region's LoopParams. A due date is a CST calendar day; it lapses at the start
 * of the next CST day, so a payment at 23:59:59.999 on the due day is on time and one at 00:00 the
 * day after is late.
 */
export type DueRule = 'direct' | 'manual' | 'manual_cutoff' | 'declaration';

export interface DueDate {
  /** The last CST day on which the obligation is met in time. */
  date: LocalDate;
  /** First instant at which it is overdue: 00:00 CST of the day after `date`. */
  lapses_at: Date;
  /** Which rule produced the date (`manual_cutoff`: the 31 March cap replaced the working-day count). */
  rule: DueRule;
  /** Years the working-day count crossed that the calendar does not cover (judged by weekday only). */
  uncovered_years?: number[];
}

/** A due date on `date` under `rule`, lapsing at the start of the next CST day. */
export function dueOn(date: LocalDate, rule: DueRule): DueDate {
  return { date, lapses_at: cstInstant(addDays(date, 1)), rule };
}

/** "Overdue as of t" iff t ≥ the lapse instant. */
export function isOverdueAt(due: DueDate, t: Date): boolean {
  return t.getTime() >= due.lapses_at.getTime();
}

/** "Closed late" iff the closing `pay_time` ≥ the lapse instant. */
export function isClosedLate(due: DueDate, closedAt: Date): boolean {
  return closedAt.getTime() >= due.lapses_at.getTime();
}

/**
 * Direct settlement (直接结算): institutions claim monthly (000 §5(6), 001 art. 15), so the insurer owes
 * by the end of the month `direct_due_months_after` months after the settlement month.
 */
export function directDueDate(settlementPeriod: Period, params: Pick<LoopParams, 'direct_due_months_after'>): DueDate {
  assertNonNegativeInt(params.direct_due_months_after, 'direct_due_months_after');
  return dueOn(lastDayOf(addMonths(settlementPeriod, params.direct_due_months_after)), 'direct');
}

/**
 * Manual claim (零星报销, 001 art. 16): `manual_due_working_days` working days after the CST date of
 * `setl_time` (the day after is the first counted), and never later than `manual_final_cutoff`
 * ("截止时间原则上为次年3月31日前") of the year after the settlement year.
 */
export function manualDueDate(
  setlTime: Date,
  params: Pick<LoopParams, 'manual_due_working_days' | 'manual_final_cutoff'>,
  calendar: WorkCalendar,
): DueDate {
  assertNonNegativeInt(params.manual_due_working_days, 'manual_due_working_days');
  const { date: start, year } = cstParts(setlTime);
  const counted = calendar.addWorkingDays(start, params.manual_due_working_days);
  const cutoff = cutoffDate(year + 1, params.manual_final_cutoff);
  const due = counted > cutoff ? dueOn(cutoff, 'manual_cutoff') : dueOn(counted, 'manual');
  const uncovered = calendar.uncoveredYearsBetween(start, counted);
  return uncovered.length > 0 ? { ...due, uncovered_years: uncovered } : due;
}

/** The due date of one settlement's payment, by its mode. */
export function settlementDueDate(
  s: { setl_mode: 'direct' | 'manual'; setl_time: Date },
  params: LoopParams,
  calendar: WorkCalendar,
): DueDate {
  return s.setl_mode === 'direct'
    ? directDueDate(cstParts(s.setl_time).period, params)
    : manualDueDate(s.setl_time, params, calendar);
}

/**
 * An institution's declaration of period P is due on day `declaration_due_day` of P+1; a day past the
 * end of that month (e.g. 31 in February) means its last day.
 */
export function declarationDueDate(period: Period, params: Pick<LoopParams, 'declaration_due_day'>): DueDate {
  const day = params.declaration_due_day;
  if (!Number.isInteger(day) || day < 1 || day > 31) throw new RangeError(`declaration_due_day must be 1–31: ${day}`);
  const next = addMonths(period, 1);
  const last = lastDayOf(next);
  const wanted = `${next}-${String(day).padStart(2, '0')}`;
  return dueOn(wanted > last ? last : wanted, 'declaration');
}

/**
 * Spec §4: a reference to a record not yet known waits `grace_days` days, counted from when the gateway
 * received the referencing message, before it is flagged. Calendar days (not working days), because the
 * grace absorbs feeds that arrive on different days, which they do on weekends too.
 */
export function graceExpiry(receivedAt: Date, params: Pick<LoopParams, 'grace_days'>): Date {
  assertNonNegativeInt(params.grace_days, 'grace_days');
  return new Date(receivedAt.getTime() + params.grace_days * 86_400_000);
}

/** `MM-DD` of the given year; a day past the month's end (02-29 in a common year) means its last day. */
function cutoffDate(year: number, monthDay: string): LocalDate {
  const m = /^(\d{2})-(\d{2})$/.exec(monthDay);
  const month = Number(m?.[1]);
  if (!m || month < 1 || month > 12 || Number(m[2]) < 1 || Number(m[2]) > 31) {
    throw new RangeError(`manual_final_cutoff must be MM-DD: ${monthDay}`);
  }
  const period = `${String(year).padStart(4, '0')}-${m[1]}`;
  const wanted = `${period}-${m[2]}`;
  const last = lastDayOf(period);
  return wanted > last ? last : wanted;
}

function assertNonNegativeInt(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer: ${n}`);
}
