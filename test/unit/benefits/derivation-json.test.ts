import fc from 'fast-check';
import { evaluatePersonYear } from '../../../src/benefits/engine';
import type { BenefitDerivation, BenefitSettlementInput } from '../../../src/benefits/engine';
import { derivationEvidence, derivationJson } from '../../../src/benefits/findings';
import { Money } from '../../../src/money';
import { cstInstant } from '../../../src/time';
import { policy } from './fixtures';

/**
 * The audit stores and digests derivationJson(d) (benefits/audit.ts storeResults); what it stands for
 * is the evidence's JSON, which the digests of rows already stored were taken over. Generated years
 * in every shipped region with benefit rules: several segments, unknown ones, referrals and care
 * outside the region (adjustments), payout and base caps, reversals.
 */
const yuan = (fen: bigint): string => `${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`;

const entryArb = fc.record({
  fen: fc.bigInt({ min: 0n, max: 40_000_000n }),
  seg: fc.constantFrom(null, 'above_cap', 'band_selfpay', 'ZZ"\\\u2028', 'no-such-segment'),
});
const settlementArb = fc.record({
  entries: fc.array(entryArb, { minLength: 0, maxLength: 3 }),
  outside: fc.boolean(),
  referral: fc.boolean(),
  reversed: fc.boolean(),
  hifob: fc.bigInt({ min: 0n, max: 30_000_000n }),
});

type Spec = typeof settlementArb extends fc.Arbitrary<infer T> ? T : never;

function year(specs: Spec[]): BenefitSettlementInput[] {
  return specs.map((s, i) => ({
    setl_id: `S${String(i).padStart(3, '0')}`,
    setl_time: cstInstant(`2024-${String(1 + (i % 12)).padStart(2, '0')}-15`, i % 24),
    status: s.reversed && i % 3 === 0 ? 'reversed' : 'valid',
    mdtrtarea_admvs: s.outside ? '110101' : '999901',
    referral: s.referral,
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '50000.00', fund_payamt: '40000.00' },
      ...s.entries.map((e) => ({ fund_pay_type: '330100', inscp_scp_amt: yuan(e.fen), fund_payamt: '0', seg: e.seg })),
    ],
    hifob_pay: yuan(s.hifob),
  }));
}

describe('derivationJson', () => {
  test.each(['dehong-5331', 'ulanqab-1509', 'sample-district-9999'])(
    'when a generated %s year is evaluated, then each derivation is the evidence JSON, to the character',
    (id) => {
      const p = policy(id);
      // The region's own treatment area, so that "outside" is the other case.
      const area = p.admdvs_prefixes[0]!.padEnd(6, '0');
      let derivations = 0;
      fc.assert(
        fc.property(fc.array(settlementArb, { minLength: 1, maxLength: 14 }), (specs) => {
          const recs = year(specs).map((r) => (r.mdtrtarea_admvs === '999901' ? { ...r, mdtrtarea_admvs: area } : r));
          const y = evaluatePersonYear(p, 2024, recs);
          for (const s of y.settlements) {
            if (s.derivation === null) continue;
            derivations++;
            expect(derivationJson(s.derivation)).toBe(JSON.stringify(derivationEvidence(s.derivation)));
          }
        }),
        { numRuns: 400 },
      );
      expect(derivations).toBeGreaterThan(400);
    },
  );

  test('when texts need escaping or amounts are odd, then they are written as JSON.stringify writes them', () => {
    const m = (s: string) => Money.of(s);
    const d = {
      region: 'r"\\\n\u2028\u0001区',
      benefit_year: 2024,
      fund_pay_type: '330100',
      segments: [
        {
          segment: 'a"b',
          base: m('0'),
          counted_base: m('-0.5'),
          cum_base_before: m('12345678901234.99'),
          cum_base_after: m('1.005'),
          amount: m('0.00000001'),
          slices: [
            {
              band: 0,
              from: m('0'),
              to: null,
              base_slice: m('3.1'),
              band_ratio: m('0.00000001').toDecimal(),
              ratio: m('1e-9').toDecimal(),
              amount: m('123456789012345678901234.5'),
              source: '001 art. 10: "quoted" \\ back\tslash 赔付比例90%',
            },
            {
              band: 1,
              from: m('3.10'),
              to: m('100000'),
              base_slice: m('0.01'),
              band_ratio: m('1').toDecimal(),
              ratio: m('0.9').toDecimal(),
              amount: m('-0'),
              source: '',
            },
          ],
        },
      ],
      adjustments: [{ id: 'x\u0000y', ratio_delta: m('-0.05').toDecimal(), source: 'src "adj"' }],
      base_cap: { applies_to: 'base', limit: m('100000'), room_before: m('7'), room_after: m('0'), source: 'cap\n' },
      payout_cap: null,
      uncapped: m('2.50'),
      exact: m('2.4999999'),
      expected: m('2.5'),
      unknown_segments: ['q"', 'ü'],
    } as BenefitDerivation;
    expect(derivationJson(d)).toBe(JSON.stringify(derivationEvidence(d)));
    expect(JSON.parse(derivationJson({ ...d, base_cap: null, payout_cap: d.base_cap, segments: [] }))).toEqual(
      derivationEvidence({ ...d, base_cap: null, payout_cap: d.base_cap, segments: [] }),
    );
  });
});
