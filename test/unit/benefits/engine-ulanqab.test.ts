import { evaluatePersonYear } from '../../../src/benefits/engine';
import { annualCapFinding } from '../../../src/benefits/findings';
import { policy, settlement } from './fixtures';

/**
 * Ulanqab (003 art. 32): segment band_selfpay (personal share within the 260,000 basic band) at 50%
 * (1), segment above_cap (cost above the basic maximum) at 80% (2), payout cap 120,000 a year across
 * both (3). Entries without seg belong to above_cap (the region file's default_segment).
 */
const ulanqab = policy('ulanqab-1509');
const at = (p: Parameters<typeof settlement>[0]) => settlement(p, '150902');
const entries = (selfpay: string, above: string) => [
  { fund_pay_type: '330100', inscp_scp_amt: selfpay, fund_payamt: '0', seg: 'band_selfpay' },
  { fund_pay_type: '330100', inscp_scp_amt: above, fund_payamt: '0', seg: 'above_cap' },
];

describe('Ulanqab benefit rules (003 art. 32)', () => {
  test('when one settlement has bases in both segments, then each segment is paid at its own ratio', () => {
    // band_selfpay 20,000 × 50% = 10,000; above_cap 50,000 × 80% = 40,000 → 50,000
    const y = evaluatePersonYear(ulanqab, 2024, [
      at({ id: 'U1', date: '2024-02-01', entries: entries('20000', '50000') }),
    ]);
    const d = y.settlements[0]!.derivation!;
    expect(d.segments.map((s) => [s.segment, s.amount.toString()])).toEqual([
      ['band_selfpay', '10000.00'],
      ['above_cap', '40000.00'],
    ]);
    expect(y.settlements[0]!.expected.toString()).toBe('50000.00');
  });

  test('when the 120,000 cap is reached mid-year, then the settlement that reaches it gets only the room left', () => {
    // U1: above_cap 100,000 × 80% = 80,000 (room 120,000 → 40,000)
    // U2: band_selfpay 10,000 × 50% = 5,000 + above_cap 60,000 × 80% = 48,000 → 53,000, capped to the room 40,000
    // U3: above_cap 10,000 × 80% = 8,000, room 0 → 0.00
    const y = evaluatePersonYear(ulanqab, 2024, [
      at({ id: 'U1', date: '2024-02-01', base: '100000' }),
      at({ id: 'U2', date: '2024-06-01', entries: entries('10000', '60000') }),
      at({ id: 'U3', date: '2024-09-01', base: '10000' }),
    ]);
    expect(y.settlements.map((r) => r.expected.toString())).toEqual(['80000.00', '40000.00', '0.00']);
    const u2 = y.settlements[1]!.derivation!;
    expect(u2.uncapped.toString()).toBe('53000.00');
    expect([u2.payout_cap!.room_before.toString(), u2.payout_cap!.room_after.toString()]).toEqual(['40000.00', '0.00']);
    expect(u2.payout_cap!.source).toContain('003 art. 32(3)');
  });

  test('when entries carry no seg, then they count in the default segment above_cap at 80%', () => {
    // 12,345.67 × 80% = 9,876.536 → 9,876.54
    const y = evaluatePersonYear(ulanqab, 2024, [at({ id: 'U1', date: '2024-02-01', base: '12345.67' })]);
    expect(y.settlements[0]!.derivation!.segments[0]!.segment).toBe('above_cap');
    expect(y.settlements[0]!.expected.toString()).toBe('9876.54');
  });

  test('when an entry names a segment the region does not have, then the settlement is unchecked and that base is ignored', () => {
    const y = evaluatePersonYear(ulanqab, 2024, [
      at({
        id: 'U1',
        date: '2024-02-01',
        entries: [
          { fund_pay_type: '330100', inscp_scp_amt: '1000', fund_payamt: '0', seg: 'nonsense' },
          { fund_pay_type: '330100', inscp_scp_amt: '1000', fund_payamt: '0' },
        ],
      }),
    ]);
    const r = y.settlements[0]!;
    expect([r.checked, r.unchecked_reason, r.expected.toString()]).toEqual([false, 'unknown_segment', '800.00']);
    expect(r.derivation!.unknown_segments).toEqual(['nonsense']);
    expect(y.unchecked_count).toBe(1);
  });

  test('when the hifob_pay recorded in a year sums above 120,000, then ANNUAL_CAP_EXCEEDED names the cap and the sum', () => {
    // recorded 80,000.00 + 40,000.01 = 120,000.01 > 120,000 → difference 0.01
    const y = evaluatePersonYear(ulanqab, 2024, [
      at({ id: 'U1', date: '2024-02-01', base: '100000', hifob: '80000.00' }),
      at({ id: 'U2', date: '2024-06-01', base: '60000', hifob: '40000.01' }),
    ]);
    const f = annualCapFinding(ulanqab, y)!;
    expect(f).toMatchObject({
      code: 'ANNUAL_CAP_EXCEEDED',
      benefit_year: 2024,
      expected_amount: '120000.00',
      actual_amount: '120000.01',
      difference: '0.01',
    });
    expect(f.evidence.settlements).toEqual([
      { setl_id: 'U1', hifob_pay: '80000.00' },
      { setl_id: 'U2', hifob_pay: '40000.01' },
    ]);
  });

  test('when the recorded sum equals the cap exactly, then no ANNUAL_CAP_EXCEEDED is raised', () => {
    const y = evaluatePersonYear(ulanqab, 2024, [
      at({ id: 'U1', date: '2024-02-01', base: '100000', hifob: '80000.00' }),
      at({ id: 'U2', date: '2024-06-01', base: '60000', hifob: '40000.00' }),
    ]);
    expect(annualCapFinding(ulanqab, y)).toBeUndefined();
  });
});
