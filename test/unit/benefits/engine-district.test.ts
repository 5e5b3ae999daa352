import { evaluatePersonYear } from '../../../src/benefits/engine';
import { policy, settlement } from './fixtures';

/**
 * Sample district (002 #5 §6(3)): base = cost above the basic maximum of 40,000; bands on the
 * cumulative base: [0, 40,000) 85%, [40,000, 80,000) 90%, from 80,000 95%; the base counts only up
 * to 100,000 a year (④, spec §7). So the most a year can pay is 34,000 + 36,000 + 19,000 = 89,000.
 */
const district = policy('sample-district-9999');
const at = (p: Parameters<typeof settlement>[0]) => settlement(p, '999901');

describe('sample district benefit rules (002 #5 §6)', () => {
  test('when the district base crosses two bands in one settlement, then each slice is paid at its band ratio', () => {
    // S1: base 30,000 (cum 0 → 30,000): 30,000 × 85% = 25,500
    // S2: base 55,000 (cum 30,000 → 85,000):
    //     10,000 × 85% (30,000–40,000) = 8,500
    //   + 40,000 × 90% (40,000–80,000) = 36,000
    //   +  5,000 × 95% (80,000–85,000) = 4,750   → 49,250
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'S1', date: '2024-01-10', base: '30000' }),
      at({ id: 'S2', date: '2024-03-10', base: '55000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['25500.00', '49250.00']);
    const slices = y.settlements[1]!.derivation!.segments[0]!.slices;
    expect(slices.map((s) => [s.band, s.base_slice.toString(), s.ratio.toString(), s.amount.toString()])).toEqual([
      [0, '10000.00', '0.85', '8500.00'],
      [1, '40000.00', '0.9', '36000.00'],
      [2, '5000.00', '0.95', '4750.00'],
    ]);
  });

  test('when the 100,000 base limit is reached mid-settlement, then only the base up to the limit is paid', () => {
    // after S1, S2 the cumulative base is 85,000; S3 base 30,000 counts only 15,000:
    //   15,000 × 95% = 14,250; the year totals 25,500 + 49,250 + 14,250 = 89,000
    // S4 (base 10,000) then counts nothing: 0.00
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'S1', date: '2024-01-10', base: '30000' }),
      at({ id: 'S2', date: '2024-03-10', base: '55000' }),
      at({ id: 'S3', date: '2024-05-10', base: '30000' }),
      at({ id: 'S4', date: '2024-07-10', base: '10000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['25500.00', '49250.00', '14250.00', '0.00']);
    const s3 = y.settlements[2]!.derivation!;
    expect(s3.segments[0]!.base.toString()).toBe('30000.00');
    expect(s3.segments[0]!.counted_base.toString()).toBe('15000.00');
    expect(s3.base_cap).toMatchObject({ applies_to: 'base' });
    expect([s3.base_cap!.room_before.toString(), s3.base_cap!.room_after.toString()]).toEqual(['15000.00', '0.00']);
    expect(y.settlements[3]!.checked).toBe(true);
    expect(y.settlements[3]!.derivation!.segments[0]!.slices).toEqual([]);
  });

  test('when a cumulative base ends exactly on a band edge, then the next settlement starts in the next band', () => {
    // S1: 40,000 × 85% = 34,000 (cum exactly 40,000); S2: 1,000 × 90% = 900
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'S1', date: '2024-01-10', base: '40000' }),
      at({ id: 'S2', date: '2024-02-10', base: '1000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['34000.00', '900.00']);
    expect(y.settlements[1]!.derivation!.segments[0]!.slices[0]!.band).toBe(1);
  });

  test('when a settlement was reversed, then it is excluded and a later settlement falls into a lower band', () => {
    // R1 (base 50,000) is reversed: left out of every cumulative (spec §7: valid settlements only).
    // S2 base 30,000 then runs from cum 0: 30,000 × 85% = 25,500
    // (had R1 counted, S2 would be 30,000 × 90% = 27,000 from cum 50,000).
    const withReversal = evaluatePersonYear(district, 2024, [
      at({ id: 'R1', date: '2024-01-10', base: '50000', status: 'reversed' }),
      at({ id: 'S2', date: '2024-03-10', base: '30000' }),
    ]);
    expect(withReversal.excluded).toEqual(['R1']);
    expect(withReversal.settlements.map((r) => [r.setl_id, r.expected.toString()])).toEqual([['S2', '25500.00']]);
    const withoutReversal = evaluatePersonYear(district, 2024, [
      at({ id: 'R1', date: '2024-01-10', base: '50000' }),
      at({ id: 'S2', date: '2024-03-10', base: '30000' }),
    ]);
    expect(withoutReversal.settlements[1]!.expected.toString()).toBe('27000.00');
  });

  test('when the 90% and 95% slices have fen parts, then the sum is exact before the half-up rounding', () => {
    // cum 39,999.99 → 80,000.01 (base 40,000.02):
    //   0.01 × 85% = 0.0085; 40,000 × 90% = 36,000; 0.01 × 95% = 0.0095 → 36,000.018 → 36,000.02
    const y = evaluatePersonYear(district, 2024, [
      at({ id: 'S1', date: '2024-01-10', base: '39999.99' }),
      at({ id: 'S2', date: '2024-02-10', base: '40000.02' }),
    ]);
    const s2 = y.settlements[1]!;
    expect(s2.derivation!.exact.toExactString()).toBe('36000.018');
    expect(s2.expected.toString()).toBe('36000.02');
  });
});
