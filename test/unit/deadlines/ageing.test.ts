/**
 * Arrears by age (spec §10): working days past the due date, the due date being day 0, across the
 * Spring Festival of 2025 in the shipped calendar — 28 Jan – 4 Feb off, Sunday 26 Jan and Saturday
 * 8 Feb worked (调休) — worked out by hand below.
 */
import { loadWorkCalendar } from '../../../src/deadlines/calendar';
import { ageingBucket, ageingView, workingDaysPast } from '../../../src/deadlines/ageing';
import { manualDueDate } from '../../../src/deadlines/due-dates';
import { DEFAULT_LOOP_PARAMS } from '../../../src/deadlines/params';
import { Money } from '../../../src/money';
import { ageArrears, type ArrearsRow } from '../../../src/reconciliation/arrears-ageing';
import { cstInstant } from '../../../src/time';

const cal = loadWorkCalendar();
const P = DEFAULT_LOOP_PARAMS;
const at = (date: string, h = 0, mi = 0) => cstInstant(date, h, mi);

describe('working days past a due date', () => {
  // December's direct settlements are due Friday 31 Jan 2025, itself a Spring Festival holiday.
  // Sat 1, Sun 2, Mon 3, Tue 4 Feb are off; Wed 5 Feb is day 1, Sat 8 Feb (worked) day 4,
  // Mon 10 Feb day 5, Mon 17 Feb day 10, Tue 18 Feb day 11.
  test.each([
    ['2025-01-31', 23, 0],
    ['2025-02-01', 10, 0],
    ['2025-02-04', 23, 0],
    ['2025-02-05', 0, 1],
    ['2025-02-07', 12, 3],
    ['2025-02-08', 12, 4],
    ['2025-02-09', 12, 4],
    ['2025-02-10', 9, 5],
    ['2025-02-17', 9, 10],
    ['2025-02-18', 9, 11],
  ] as const)(
    'when due on 31 January 2025 and judged on %s at %i h, then it is %i working days past due',
    (date, h, days) => {
      expect(workingDaysPast('2025-01-31', at(date, h), cal)).toBe(days);
    },
  );

  test('when judged on or before the due date, then no day has passed', () => {
    expect(workingDaysPast('2025-03-03', at('2025-03-03', 10), cal)).toBe(0);
    expect(workingDaysPast('2025-03-03', at('2025-02-03', 10), cal)).toBe(0);
  });

  test('when the count passes the cap, then counting stops just past it', () => {
    expect(workingDaysPast('2024-01-31', at('2025-12-31', 10), cal, 60)).toBe(61);
  });
});

describe('ageing buckets', () => {
  test.each([
    [0, 'not_due'],
    [1, 'd1_10'],
    [10, 'd1_10'],
    [11, 'd11_30'],
    [30, 'd11_30'],
    [31, 'd31_60'],
    [60, 'd31_60'],
    [61, 'over_60'],
  ] as const)('when %i working days past due under 10/30/60, then the bucket is %s', (days, bucket) => {
    expect(ageingBucket(days, P.ageing_buckets)).toBe(bucket);
  });

  test('when a region sets other bounds, then the buckets follow them (the keys keep their names)', () => {
    expect(ageingBucket(5, [5, 15, 20])).toBe('d1_10');
    expect(ageingBucket(6, [5, 15, 20])).toBe('d11_30');
    expect(ageingBucket(21, [5, 15, 20])).toBe('over_60');
  });
});

describe('arrears of a month across the Spring Festival of 2025, as of Monday 3 March 2025 10:00', () => {
  // Manual claims are due 20 working days after the day of setl_time (the day after is the first):
  // - 2 Jan: 3, 6–10, 13–17, 20–24 Jan are days 1–16, Sun 26 and Mon 27 Jan 17–18, Wed 5 and Thu
  //   6 Feb 19–20: due 6 Feb; then 7, 8 (Sat, worked), 10–14, 17–21, 24–28 Feb and 3 Mar: 18 days past.
  // - 20 Jan: 21–24 Jan 1–4, 26–27 Jan 5–6, 5–8 Feb 7–10, 10–14 Feb 11–15, 17–21 Feb 16–20: due
  //   Fri 21 Feb; 24–28 Feb and 3 Mar: 6 days past.
  // - 27 Jan: 5–8 Feb 1–4, 10–14 5–9, 17–21 10–14, 24–28 15–19, 3 Mar 20: due on the day judged: not due.
  // Direct settlements are due at the end of the next month:
  // - December 2024: due 31 Jan 2025: 5–8 Feb 4, 10–28 Feb 15, 3 Mar 1: 20 days past.
  // - November 2024: due 31 Dec 2024: 2–3 Jan 2, 6–24 Jan 15, 26–27 Jan 2, then 20 as above: 39.
  // - September 2024: due 31 Oct 2024: November 21 and December 22 working days alone are 43,
  //   January 2025 19 more: over 60.
  const asOf = at('2025-03-03', 10);
  const row = (
    fixmedins_code: string,
    insurer_code: string,
    setl_mode: 'direct' | 'manual',
    setl_day: string,
    outstanding: string,
  ): ArrearsRow => ({ fixmedins_code, insurer_code, admdvs: '533102', setl_mode, setl_day, outstanding });
  const rows: ArrearsRow[] = [
    row('H1', 'PICC', 'manual', '2025-01-02', '1234.56'),
    row('H1', 'PICC', 'manual', '2025-01-20', '100.01'),
    row('H1', 'CPIC', 'manual', '2025-01-20', '0.99'),
    row('H2', 'PICC', 'manual', '2025-01-27', '2000.00'),
    row('H2', 'PICC', 'direct', '2024-12-15', '333.33'),
    row('H2', 'CPIC', 'direct', '2024-12-31', '0.01'),
    row('H1', 'CPIC', 'direct', '2024-11-30', '4567.89'),
    row('H2', 'PICC', 'direct', '2024-09-01', '98765.43'),
  ];

  test('the manual claims fall due where the hand count says', () => {
    expect(manualDueDate(at('2025-01-02', 10), P, cal).date).toBe('2025-02-06');
    expect(manualDueDate(at('2025-01-20', 10), P, cal).date).toBe('2025-02-21');
    expect(manualDueDate(at('2025-01-27', 10), P, cal).date).toBe('2025-03-03');
    expect(workingDaysPast('2025-02-06', asOf, cal)).toBe(18);
    expect(workingDaysPast('2025-02-21', asOf, cal)).toBe(6);
    expect(workingDaysPast('2025-01-31', asOf, cal)).toBe(20);
    expect(workingDaysPast('2024-12-31', asOf, cal)).toBe(39);
  });

  test('then every institution and insurer has its outstanding in the right buckets, to the fen', () => {
    const aged = ageArrears(rows, asOf, P.ageing_buckets, { loopParamsFor: () => P, calendar: cal });
    const view = (m: Map<string, Parameters<typeof ageingView>[0]>) =>
      Object.fromEntries([...m].map(([k, a]) => [k, ageingView(a)]));
    expect(view(aged.institutions)).toEqual({
      H1: { not_due: '0.00', d1_10: '101.00', d11_30: '1234.56', d31_60: '4567.89', over_60: '0.00' },
      H2: { not_due: '2000.00', d1_10: '0.00', d11_30: '333.34', d31_60: '0.00', over_60: '98765.43' },
    });
    expect(view(aged.insurers)).toEqual({
      PICC: { not_due: '2000.00', d1_10: '100.01', d11_30: '1567.89', d31_60: '0.00', over_60: '98765.43' },
      CPIC: { not_due: '0.00', d1_10: '0.99', d11_30: '0.01', d31_60: '4567.89', over_60: '0.00' },
    });
    // The buckets add up to the outstanding, institution by institution and in all.
    const total = Money.sum(rows.map((r) => Money.of(r.outstanding)));
    const sum = (m: Map<string, Record<string, Money>>) => Money.sum([...m.values()].flatMap((a) => Object.values(a)));
    expect(sum(aged.institutions).toString()).toBe(total.toString());
    expect(sum(aged.insurers).toString()).toBe('107002.22');
  });
});
