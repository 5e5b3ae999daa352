import { loadWorkCalendar } from '../../../src/deadlines/calendar';
import {
  declarationDueDate,
  directDueDate,
  dueOn,
  graceExpiry,
  isClosedLate,
  isOverdueAt,
  manualDueDate,
  settlementDueDate,
} from '../../../src/deadlines/due-dates';
import { DEFAULT_LOOP_PARAMS } from '../../../src/deadlines/params';
import { cstInstant, toCstIso } from '../../../src/time';

const cal = loadWorkCalendar();
const P = DEFAULT_LOOP_PARAMS;
const at = (date: string, h = 0, mi = 0, s = 0, ms = 0) => cstInstant(date, h, mi, s, ms);

describe('direct settlement due dates', () => {
  test('when settled in January, then it is due on the last day of February', () => {
    expect(directDueDate('2025-01', P)).toMatchObject({ date: '2025-02-28', rule: 'direct' });
  });

  test('when settled on 31 January of a leap year, then it is due on 29 February', () => {
    expect(settlementDueDate({ setl_mode: 'direct', setl_time: at('2024-01-31', 23, 59) }, P, cal).date).toBe(
      '2024-02-29',
    );
  });

  test('when the next month has 30 or 31 days, then the due date follows its length', () => {
    expect(directDueDate('2025-03', P).date).toBe('2025-04-30');
    expect(directDueDate('2025-04', P).date).toBe('2025-05-31');
    expect(directDueDate('2025-12', P).date).toBe('2026-01-31');
  });

  test('when a settlement is just after midnight CST on 1 February, then February is its month', () => {
    // 2025-01-31T16:30Z is 2025-02-01 00:30 in China Standard Time.
    expect(settlementDueDate({ setl_mode: 'direct', setl_time: new Date('2025-01-31T16:30:00Z') }, P, cal).date).toBe(
      '2025-03-31',
    );
  });

  test('when a region allows two months, then it is due at the end of the second month after', () => {
    expect(directDueDate('2025-01', { direct_due_months_after: 2 }).date).toBe('2025-03-31');
  });
});

describe('manual claim due dates', () => {
  test('when a claim crosses Spring Festival 2025, then the holidays are skipped and the 调休 days count', () => {
    // From Mon 01-20: 21,22,23,24, Sun 26 (调休), 27, [28 Jan–4 Feb off], 5,6,7, Sat 8 (调休), 10–14, 17–21.
    const due = manualDueDate(at('2025-01-20', 15), P, cal);
    expect(due).toMatchObject({ date: '2025-02-21', rule: 'manual' });
    expect(due.uncovered_years).toBeUndefined();
  });

  test('when a claim is settled late on a day, then counting still starts the day after its CST date', () => {
    expect(manualDueDate(at('2025-01-20', 23, 59, 59), P, cal).date).toBe('2025-02-21');
    expect(manualDueDate(new Date('2025-01-20T16:00:00Z'), P, cal).date).toBe('2025-02-24'); // 01-21 00:00 CST
  });

  test('when a claim settled in late December stays within the count, then it is not capped', () => {
    // 2025-12-30: 31, [1–3 Jan 2026 off], Sun 4 (调休), 5–9, 12–16, 19–23, 26–28.
    expect(manualDueDate(at('2025-12-30', 10), P, cal)).toMatchObject({ date: '2026-01-28', rule: 'manual' });
  });

  test('when the count would pass 31 March of the next year, then the claim is due on 31 March', () => {
    const from = at('2025-12-20', 10);
    expect(manualDueDate(from, { ...P, manual_due_working_days: 60 }, cal)).toMatchObject({
      date: '2026-03-20',
      rule: 'manual',
    });
    expect(manualDueDate(from, { ...P, manual_due_working_days: 70 }, cal)).toMatchObject({
      date: '2026-03-31',
      rule: 'manual_cutoff',
    });
  });

  test('when settled on 31 December after 16:00 UTC, then the next CST year sets the cut-off', () => {
    // 2025-12-31T17:00Z is 2026-01-01 01:00 CST: settlement year 2026, cut-off 2027-03-31.
    const due = manualDueDate(new Date('2025-12-31T17:00:00Z'), { ...P, manual_due_working_days: 70 }, cal);
    expect(due.rule).toBe('manual');
    expect(due.date > '2026-03-31').toBe(true);
  });

  test('when the count runs into a year the calendar does not cover, then the due date says so', () => {
    expect(manualDueDate(at('2026-12-20'), P, cal).uncovered_years).toEqual([2027]);
  });

  test('when the cut-off is 29 February and the year is common, then the last day of February is used', () => {
    const due = manualDueDate(
      at('2024-12-20'),
      { ...P, manual_due_working_days: 70, manual_final_cutoff: '02-29' },
      cal,
    );
    expect(due).toMatchObject({ date: '2025-02-28', rule: 'manual_cutoff' });
  });
});

describe('declaration due dates', () => {
  test('when period P is declared, then it is due on day 10 of P+1', () => {
    expect(declarationDueDate('2025-01', P)).toMatchObject({ date: '2025-02-10', rule: 'declaration' });
    expect(declarationDueDate('2025-12', P).date).toBe('2026-01-10');
  });

  test('when the due day is past the end of the month, then the last day of that month is used', () => {
    expect(declarationDueDate('2024-01', { declaration_due_day: 31 }).date).toBe('2024-02-29');
    expect(() => declarationDueDate('2024-01', { declaration_due_day: 0 })).toThrow(RangeError);
  });
});

describe('lapse instants', () => {
  const due = dueOn('2025-02-28', 'direct');

  test('when a due date is given, then it lapses at the start of the next CST day', () => {
    expect(toCstIso(due.lapses_at)).toBe('2025-03-01T00:00:00+08:00');
  });

  test('when judged one millisecond before the lapse, then it is not overdue; at the lapse, it is', () => {
    expect(isOverdueAt(due, at('2025-02-28', 23, 59, 59, 999))).toBe(false);
    expect(isOverdueAt(due, at('2025-03-01'))).toBe(true);
  });

  test('when paid at the exact lapse instant, then it is closed late; a millisecond before, on time', () => {
    expect(isClosedLate(due, at('2025-03-01'))).toBe(true);
    expect(isClosedLate(due, at('2025-02-28', 23, 59, 59, 999))).toBe(false);
  });

  test('when a message is received, then its grace expires grace_days × 24 hours later', () => {
    expect(toCstIso(graceExpiry(at('2025-01-27', 9, 30), P))).toBe('2025-01-29T09:30:00+08:00');
  });
});
