import { benefitYearOf, evaluatePerson, evaluatePersonYear } from '../../../src/benefits/engine';
import { annualCapFinding } from '../../../src/benefits/findings';
import { cstInstant } from '../../../src/time';
import { expectedById, policy, settlement } from './fixtures';

const district = policy('sample-district-9999');
const at = (p: Parameters<typeof settlement>[0]) => settlement(p, '999901');

describe('settlement order, exclusions and unchecked settlements (spec §7)', () => {
  test('when an earlier settlement arrives late, then the results are those of setl_time order', () => {
    // In setl_time order: A (Jan) 30,000 → 25,500; B (Mar) 55,000 → 49,250 (worked in engine-district).
    // B arrives first; feeding [B, A] must give the same amounts as [A, B].
    const a = at({ id: 'A', date: '2024-01-10', base: '30000' });
    const b = at({ id: 'B', date: '2024-03-10', base: '55000' });
    const inOrder = evaluatePersonYear(district, 2024, [a, b]);
    const late = evaluatePersonYear(district, 2024, [b, a]);
    expect(expectedById(late.settlements)).toEqual(expectedById(inOrder.settlements));
    expect(expectedById(late.settlements)).toEqual({ A: '25500.00', B: '49250.00' });
    expect(late.settlements.map((r) => r.setl_id)).toEqual(['A', 'B']);
  });

  test('when two settlements share a setl_time, then setl_id decides the order', () => {
    // X2 and X1 at the same instant: X1 first (cum 0 → 40,000: 34,000), then X2 (40,000 → 50,000: 9,000)
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'X2', date: '2024-04-01', base: '10000' }),
      at({ id: 'X1', date: '2024-04-01', base: '40000' }),
    ]);
    expect(y.settlements.map((r) => [r.setl_id, r.expected.toString()])).toEqual([
      ['X1', '34000.00'],
      ['X2', '9000.00'],
    ]);
  });

  test('when a settlement has no large-expense entry, then it is unchecked, expects zero and leaves the cumulative base alone', () => {
    // N1 has only a 310100 (basic fund) entry; S2 then starts from cum 0: 10,000 × 85% = 8,500
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'N1', date: '2024-01-10', hifob: '100.00' }),
      at({ id: 'S2', date: '2024-02-10', base: '10000' }),
    ]);
    const [n1, s2] = y.settlements;
    expect([n1!.checked, n1!.unchecked_reason, n1!.expected.toString(), n1!.derivation]).toEqual([
      false,
      'no_large_expense_entry',
      '0.00',
      null,
    ]);
    expect(s2!.expected.toString()).toBe('8500.00');
    expect([y.checked_count, y.unchecked_count]).toEqual([1, 1]);
  });

  test('when another region uses a different large-expense fund_pay_type, then 330100 entries are not its base', () => {
    const doc = { ...district, fund_pay_type: '330200' };
    const y = evaluatePersonYear(doc, 2024, [at({ id: 'S1', date: '2024-01-10', base: '10000' })]);
    expect(y.settlements[0]!.unchecked_reason).toBe('no_large_expense_entry');
  });

  test('when the region states no ratios (Jiaozuo), then every settlement is unchecked', () => {
    const jiaozuo = policy('jiaozuo-4108');
    const y = evaluatePersonYear(jiaozuo, 2024, [
      settlement({ id: 'J1', date: '2024-01-10', base: '10000', hifob: '9000.00' }, '410802'),
    ]);
    expect([y.settlements[0]!.checked, y.settlements[0]!.unchecked_reason]).toEqual([false, 'no_benefit_rules']);
    expect(annualCapFinding(jiaozuo, y)).toBeUndefined();
  });

  test('when settlements span two calendar years, then each benefit year starts again from zero', () => {
    // 2023-12-31 23:00 CST and 2024-01-01 00:00 CST fall in different years (001-style calendar year);
    // each is the first 40,000 of its year: 40,000 × 85% = 34,000
    const s23 = at({ id: 'Y1', date: '2023-12-31', hour: 23, base: '40000' });
    const s24 = at({ id: 'Y2', date: '2024-01-01', hour: 0, base: '40000' });
    const years = evaluatePerson(district, [s24, s23]);
    expect(years.map((y) => [y.benefit_year, y.settlements.map((r) => r.expected.toString())])).toEqual([
      [2023, ['34000.00']],
      [2024, ['34000.00']],
    ]);
  });

  test('when a region starts its benefit year on 1 July, then June and July fall in different years', () => {
    const julyRegion = { ...district, benefit_year_start: '07-01', benefit_year_starts: [] };
    expect(benefitYearOf(julyRegion, cstInstant('2024-06-30', 23, 59))).toBe(2023);
    expect(benefitYearOf(julyRegion, cstInstant('2024-07-01'))).toBe(2024);
    expect(benefitYearOf(district, cstInstant('2024-01-01'))).toBe(2024);
    expect(benefitYearOf(district, cstInstant('2023-12-31', 23, 59, 59))).toBe(2023);
  });

  test('when a settlement is outside the benefit year or a setl_id repeats, then the caller is told (RangeError)', () => {
    expect(() => evaluatePersonYear(district, 2024, [at({ id: 'A', date: '2023-05-01', base: '1' })])).toThrow(
      RangeError,
    );
    expect(() =>
      evaluatePersonYear(district, 2024, [
        at({ id: 'A', date: '2024-05-01', base: '1' }),
        at({ id: 'A', date: '2024-05-01', base: '1' }),
      ]),
    ).toThrow(/twice/);
  });

  test('when the district year records more than the rules can pay, then ANNUAL_CAP_EXCEEDED uses the 89,000 the capped base allows', () => {
    // base cap 100,000 → most payable 40,000 × 85% + 40,000 × 90% + 20,000 × 95% = 34,000 + 36,000 + 19,000 = 89,000
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'S1', date: '2024-01-10', base: '100000', hifob: '89000.00' }),
      at({ id: 'S2', date: '2024-02-10', base: '5000', hifob: '100.00' }),
    ]);
    expect(annualCapFinding(district, y)).toMatchObject({
      expected_amount: '89000.00',
      actual_amount: '89100.00',
      difference: '100.00',
    });
  });
});
