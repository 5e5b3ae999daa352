import { Money } from '../money';
import { addDays, cstParts, type LocalDate } from '../time';
import type { WorkCalendar } from './calendar';
import type { LoopParams } from './params';

/**
 * Arrears by age (应支未支, 000 §3–4; spec §10): an outstanding amount is aged in working days past its
 * due date as of a time. The due date is day 0 and the next working day day 1, so the days counted
 * are the working days after the due date up to and including the CST date of `asOf`. A due date
 * that lapsed on a Friday is still day 0 over the weekend (and over a holiday: the Spring Festival
 * week adds no days), although PAYMENT_OVERDUE is raised the moment it lapses.
 */
export type AgeingBucket = 'not_due' | 'd1_10' | 'd11_30' | 'd31_60' | 'over_60';

export const AGEING_BUCKETS: readonly AgeingBucket[] = Object.freeze([
  'not_due',
  'd1_10',
  'd11_30',
  'd31_60',
  'over_60',
]);

/** Outstanding amounts per bucket (the keys keep their names whatever the region's bounds). */
export type Ageing = Record<AgeingBucket, Money>;

/**
 * Working days after `due` up to the CST date of `asOf` (0 when asOf's date is on or before `due`).
 * Counting stops past `cap`: every count above it falls in the last bucket anyway.
 */
export function workingDaysPast(
  due: LocalDate,
  asOf: Date,
  calendar: WorkCalendar,
  cap = Number.MAX_SAFE_INTEGER,
): number {
  const end = cstParts(asOf).date;
  let n = 0;
  for (let d = addDays(due, 1); d <= end && n <= cap; d = addDays(d, 1)) if (calendar.isWorkingDay(d)) n += 1;
  return n;
}

/** The bucket of a count of working days past due, under the region's bounds (default 10 / 30 / 60). */
export function ageingBucket(days: number, bounds: LoopParams['ageing_buckets']): AgeingBucket {
  if (days <= 0) return 'not_due';
  if (days <= bounds[0]) return 'd1_10';
  if (days <= bounds[1]) return 'd11_30';
  if (days <= bounds[2]) return 'd31_60';
  return 'over_60';
}

/** The bucket of an amount due on `due`, as of `asOf`. */
export function ageOf(
  due: LocalDate,
  asOf: Date,
  calendar: WorkCalendar,
  bounds: LoopParams['ageing_buckets'],
): AgeingBucket {
  return ageingBucket(workingDaysPast(due, asOf, calendar, bounds[2]), bounds);
}

export function emptyAgeing(): Ageing {
  return { not_due: Money.ZERO, d1_10: Money.ZERO, d11_30: Money.ZERO, d31_60: Money.ZERO, over_60: Money.ZERO };
}

/** The wire form: amounts as strings with two decimals. */
export function ageingView(a: Ageing): Record<AgeingBucket, string> {
  return {
    not_due: a.not_due.toString(),
    d1_10: a.d1_10.toString(),
    d11_30: a.d11_30.toString(),
    d31_60: a.d31_60.toString(),
    over_60: a.over_60.toString(),
  };
}
