import { evaluatePersonYear } from '../../../src/benefits/engine';
import { benefitDeviation } from '../../../src/benefits/findings';
import { policy, settlement } from './fixtures';

/**
 * Dehong (001): one segment above the basic fund's maximum at 90% (art. 10), 5 points lower for care
 * outside the prefecture (5331) without the required referral (art. 12), no yearly cap (art. 10).
 */
const dehong = policy('dehong-5331');

describe('Dehong benefit rules (001 arts. 10–12)', () => {
  test('when care is inside the prefecture, then 90% of the base is expected', () => {
    // 20,000.00 × 90% = 18,000.00
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D1', date: '2024-03-05', base: '20000.00', area: '533102' }),
    ]);
    const r = y.settlements[0]!;
    expect(r.checked).toBe(true);
    expect(r.expected.toString()).toBe('18000.00');
    expect(r.derivation!.adjustments).toEqual([]);
    expect(r.derivation!.segments[0]!.slices.map((s) => s.ratio.toString())).toEqual(['0.9']);
  });

  test('when care is outside the prefecture without referral, then 85% is expected (−5 points)', () => {
    // Kunming 530102 is outside 5331; no referral: 20,000.00 × (90% − 5%) = 20,000.00 × 85% = 17,000.00
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D2', date: '2024-03-05', base: '20000.00', area: '530102', referral: false }),
    ]);
    const r = y.settlements[0]!;
    expect(r.expected.toString()).toBe('17000.00');
    expect(r.derivation!.adjustments.map((a) => a.id)).toEqual(['outside_region_without_referral']);
    expect(r.derivation!.adjustments[0]!.source).toContain('001 art. 12');
  });

  test('when care is outside the prefecture with a referral, then 90% is expected', () => {
    // 20,000.00 × 90% = 18,000.00: the referral keeps the full ratio (001 art. 12)
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D3', date: '2024-03-05', base: '20000.00', area: '530102', referral: true }),
    ]);
    expect(y.settlements[0]!.expected.toString()).toBe('18000.00');
  });

  test('when the 85% product has more than two decimals, then it is rounded half-up to the fen', () => {
    // 12,345.67 × 85% = 10,493.8195 → 10,493.82 (half-up at the fen)
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D4', date: '2024-03-05', base: '12345.67', area: '530102' }),
    ]);
    const r = y.settlements[0]!;
    expect(r.derivation!.exact.toExactString()).toBe('10493.8195');
    expect(r.expected.toString()).toBe('10493.82');
  });

  test('when only one settlement of the year is out of area, then only its increment is lowered', () => {
    // D5 in area: 10,000 × 90% = 9,000; D6 out of area, no referral: 10,000 × 85% = 8,500;
    // D7 in area again: 10,000 × 90% = 9,000 (the adjustment is per settlement, spec §7)
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D5', date: '2024-01-10', base: '10000' }),
      settlement({ id: 'D6', date: '2024-02-10', base: '10000', area: '110105' }),
      settlement({ id: 'D7', date: '2024-03-10', base: '10000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['9000.00', '8500.00', '9000.00']);
    expect(y.settlements[2]!.derivation!.segments[0]!.cum_base_before.toString()).toBe('20000.00');
  });

  test('when hifob_pay differs by one fen, then no deviation is raised; by two fen, then BENEFIT_RULE_DEVIATION', () => {
    // expected 18,000.00; 18,000.01 is within the 0.01 tolerance (spec §7); 17,999.98 is not
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D8', date: '2024-01-10', base: '20000', area: '533102', hifob: '18000.01' }),
    ]);
    expect(benefitDeviation(dehong, y.settlements[0]!)).toBeUndefined();
    const z = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D9', date: '2024-01-10', base: '20000', area: '533102', hifob: '17999.98' }),
    ]);
    const f = benefitDeviation(dehong, z.settlements[0]!)!;
    expect(f).toMatchObject({
      code: 'BENEFIT_RULE_DEVIATION',
      setl_id: 'D9',
      expected_amount: '18000.00',
      actual_amount: '17999.98',
      difference: '-0.02',
    });
    expect(f.evidence.segments[0]!.slices[0]).toMatchObject({ base_slice: '20000.00', ratio: '0.9', amount: '18000' });
  });

  test('when the year has no cap, then large yearly bases are paid in full at 90% (001 art. 10)', () => {
    // 500,000 + 500,000 → 450,000 + 450,000; no ANNUAL cap applies
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D10', date: '2024-01-10', base: '500000' }),
      settlement({ id: 'D11', date: '2024-06-10', base: '500000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['450000.00', '450000.00']);
    expect(y.settlements[1]!.derivation!.payout_cap).toBeNull();
  });
});
