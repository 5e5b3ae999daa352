import { addMonths, cstInstant, lastDayOf, parseWireTime, periodOf, toCstIso } from '../../../src/time';

describe('China Standard Time', () => {
  test('when the platform time has no offset, then it is read as CST', () => {
    expect(parseWireTime('2024-05-03 10:15:00')!.toISOString()).toBe('2024-05-03T02:15:00.000Z');
    expect(toCstIso(parseWireTime('2024-05-03T02:15:00Z')!)).toBe('2024-05-03T10:15:00+08:00');
  });

  test('when a date does not exist, then it is refused rather than rolled over', () => {
    expect(parseWireTime('2024-02-30 10:00:00')).toBeUndefined();
    expect(parseWireTime('2023-02-29T10:00:00+08:00')).toBeUndefined();
    expect(parseWireTime('2024-02-29T10:00:00+08:00')).toBeDefined();
    expect(parseWireTime('2024-05-03')).toBeUndefined();
    expect(parseWireTime('2024-05-03 24:00:00')).toBeUndefined();
  });

  test('when a UTC instant falls on the previous UTC day, then its CST period is the next month', () => {
    expect(periodOf(new Date('2024-05-31T16:30:00Z'))).toBe('2024-06');
    expect(periodOf(cstInstant('2024-06-01'))).toBe('2024-06');
  });

  test('when months are added across years, then periods and month ends are right', () => {
    expect(addMonths('2024-12', 1)).toBe('2025-01');
    expect(addMonths('2025-01', -1)).toBe('2024-12');
    expect(lastDayOf('2024-02')).toBe('2024-02-29');
    expect(lastDayOf('2025-02')).toBe('2025-02-28');
  });
});
