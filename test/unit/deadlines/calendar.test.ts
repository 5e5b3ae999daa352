import { WorkCalendar, loadWorkCalendar } from '../../../src/deadlines/calendar';

const cal = loadWorkCalendar();

describe('the working-day calendar', () => {
  test('when a date is a Spring Festival 2025 holiday on a weekday, then it is not a working day', () => {
    for (const d of ['2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-03', '2025-02-04']) {
      expect(cal.isWorkingDay(d)).toBe(false);
    }
  });

  test('when a weekend day is an adjusted working day (调休), then it is a working day', () => {
    expect(cal.isWorkingDay('2025-01-26')).toBe(true); // Sunday
    expect(cal.isWorkingDay('2025-02-08')).toBe(true); // Saturday
    expect(cal.isWorkingDay('2024-02-04')).toBe(true); // Sunday
  });

  test('when a date is listed nowhere, then Monday to Friday work and the weekend does not', () => {
    expect(cal.isWorkingDay('2025-03-03')).toBe(true); // Monday
    expect(cal.isWorkingDay('2025-03-07')).toBe(true); // Friday
    expect(cal.isWorkingDay('2025-03-08')).toBe(false); // Saturday
    expect(cal.isWorkingDay('2025-03-09')).toBe(false); // Sunday
  });

  test('when a year is not in the data, then it is judged by weekday and covers() says so', () => {
    expect(cal.covers(2025)).toBe(true);
    expect(cal.covers(2030)).toBe(false);
    expect(cal.isWorkingDay('2030-01-01')).toBe(true); // a Tuesday, though New Year in reality
    expect(cal.uncoveredYearsBetween('2026-12-20', '2027-01-10')).toEqual([2027]);
  });

  test('when the shipped data is loaded, then 2024 and 2025 are verified and 2026 is not', () => {
    expect(cal.coveredYears()).toEqual([2024, 2025, 2026]);
    expect(cal.isVerified(2024)).toBe(true);
    expect(cal.isVerified(2025)).toBe(true);
    expect(cal.covers(2026)).toBe(true);
    expect(cal.isVerified(2026)).toBe(false);
  });

  test('when counting working days across Spring Festival 2025, then holidays are skipped and 调休 days count', () => {
    // Fri 01-24 → Sun 01-26 (调休) → Mon 01-27 → holidays 01-28..02-04 → Wed 02-05 …
    expect(cal.addWorkingDays('2025-01-24', 1)).toBe('2025-01-26');
    expect(cal.addWorkingDays('2025-01-24', 2)).toBe('2025-01-27');
    expect(cal.addWorkingDays('2025-01-24', 3)).toBe('2025-02-05');
    expect(cal.addWorkingDays('2025-02-05', 3)).toBe('2025-02-08'); // Sat 02-08 is a working day
  });

  test('when counting zero or negative working days, then it stays put or counts backwards', () => {
    expect(cal.addWorkingDays('2025-02-01', 0)).toBe('2025-02-01');
    expect(cal.addWorkingDays('2025-02-05', -1)).toBe('2025-01-27');
    expect(cal.addWorkingDays('2025-02-05', -2)).toBe('2025-01-26');
  });

  test('when a date is impossible, then the calendar refuses it', () => {
    expect(() => cal.isWorkingDay('2025-02-30')).toThrow(RangeError);
    expect(() => cal.addWorkingDays('2025-13-01', 1)).toThrow(RangeError);
  });

  test('when the data is inconsistent, then building the calendar fails with a clear reason', () => {
    const year = (holidays: string[], workdays: string[]) => ({
      years: { '2025': { verified: true, holidays, workdays } },
    });
    expect(() => WorkCalendar.fromData({})).toThrow(/years/);
    expect(() => WorkCalendar.fromData(year(['2025-02-30'], []))).toThrow(/not a date/);
    expect(() => WorkCalendar.fromData(year(['2024-12-31'], []))).toThrow(/filed under year 2025/);
    expect(() => WorkCalendar.fromData(year([], ['2025-01-27']))).toThrow(/not a weekend day/);
    expect(() => WorkCalendar.fromData(year(['2025-01-26'], ['2025-01-26']))).toThrow(/both/);
    expect(() => WorkCalendar.fromData({ years: { '2025': { holidays: [], workdays: [] } } })).toThrow(/verified/);
  });
});
