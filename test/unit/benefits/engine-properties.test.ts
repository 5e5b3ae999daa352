import Decimal from 'decimal.js';
import fc from 'fast-check';
import { evaluatePersonYear } from '../../../src/benefits/engine';
import type { BenefitSettlementInput } from '../../../src/benefits/engine';
import type { RegionPolicy } from '../../../src/benefits/policy-types';
import { Money } from '../../../src/money';
import { cstInstant } from '../../../src/time';
import { policy } from './fixtures';

/**
 * Properties of spec §7 over generated years. The reference band function below is written
 * independently of the engine: f(x) = Σ over bands of (min(x, to) − from)⁺ × ratio.
 */
const D = Decimal.clone({ precision: 40 });
const HALF_FEN = new D('0.005');

/** A whole number of fen as a wire amount (bigint, so no float is involved). */
const yuan = (fen: bigint): string => `${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`;

function reference(p: RegionPolicy, segment: number, x: Decimal): Decimal {
  let acc = new D(0);
  for (const band of p.benefits!.segments[segment]!.bands) {
    const from = band.from.toDecimal();
    const to = band.to?.toDecimal();
    const top = to === undefined || x.lt(to) ? x : to;
    if (top.gt(from)) acc = acc.plus(top.minus(from).times(band.ratio));
  }
  return acc;
}

const basesArb = fc.array(fc.bigInt({ min: 0n, max: 6_000_000n }), { minLength: 1, maxLength: 12 });

function year(bases: bigint[], seg?: string, area = '999901'): BenefitSettlementInput[] {
  return bases.map((fen, i) => ({
    setl_id: `S${String(i).padStart(3, '0')}`,
    setl_time: cstInstant(`2024-${String(1 + (i % 12)).padStart(2, '0')}-15`, i),
    status: 'valid',
    mdtrtarea_admvs: area,
    referral: false,
    setldetail: [{ fund_pay_type: '330100', inscp_scp_amt: yuan(fen), fund_payamt: '0', seg: seg ?? null }],
    hifob_pay: '0.00',
  }));
}

const total = (xs: { expected: Money }[]): Decimal => Money.sum(xs.map((x) => x.expected)).toDecimal();

describe('benefit engine properties (spec §7)', () => {
  test('when a district year is summed, then it equals f(total base, capped at 100,000) within half a fen per settlement', () => {
    const p = policy('sample-district-9999');
    fc.assert(
      fc.property(basesArb, (bases) => {
        const r = evaluatePersonYear(p, 2024, year(bases));
        const base = Decimal.min(new D(yuan(bases.reduce((a, b) => a + b, 0n))), new D(100000));
        const diff = total(r.settlements)
          .minus(reference(p, 0, base))
          .abs();
        return diff.lte(HALF_FEN.times(bases.length));
      }),
      { numRuns: 300 },
    );
  });

  test('when a Dehong year is summed, then it equals 90% of the total base within half a fen per settlement', () => {
    const p = policy('dehong-5331');
    fc.assert(
      fc.property(basesArb, (bases) => {
        const r = evaluatePersonYear(p, 2024, year(bases, undefined, '533102'));
        const diff = total(r.settlements)
          .minus(reference(p, 0, new D(yuan(bases.reduce((a, b) => a + b, 0n)))))
          .abs();
        return diff.lte(HALF_FEN.times(bases.length));
      }),
      { numRuns: 200 },
    );
  });

  test('when any Ulanqab year is evaluated, then no amount is negative and the year never passes the 120,000 cap', () => {
    const p = policy('ulanqab-1509');
    const cap = new D(120000);
    const arb = fc.array(
      fc.record({ fen: fc.bigInt({ min: 0n, max: 12_000_000n }), seg: fc.constantFrom('band_selfpay', 'above_cap') }),
      { minLength: 1, maxLength: 15 },
    );
    fc.assert(
      fc.property(arb, (xs) => {
        const input = xs.map((x, i) => ({
          ...year([x.fen], x.seg, '150902')[0]!,
          setl_id: `S${String(i).padStart(3, '0')}`,
          setl_time: cstInstant('2024-05-01', 0, i),
        }));
        const r = evaluatePersonYear(p, 2024, input);
        const sum = total(r.settlements);
        const uncappedRef = xs.reduce(
          (acc, x) => acc.plus(new D(yuan(x.fen)).times(x.seg === 'above_cap' ? '0.8' : '0.5')),
          new D(0),
        );
        return (
          r.settlements.every((s) => !s.expected.isNegative()) &&
          sum.lte(cap) &&
          sum.minus(Decimal.min(uncappedRef, cap)).abs().lte(HALF_FEN.times(xs.length))
        );
      }),
      { numRuns: 300 },
    );
  });

  test("when one settlement's base is split into two settlements, then the year's total changes by at most one fen", () => {
    const regions = ['sample-district-9999', 'ulanqab-1509', 'dehong-5331'] as const;
    const arb = fc.record({
      region: fc.constantFrom(...regions),
      bases: fc.array(fc.bigInt({ min: 0n, max: 8_000_000n }), { minLength: 1, maxLength: 10 }),
      at: fc.nat(),
      part: fc.double({ min: 0, max: 1, noNaN: true }),
      outOfArea: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, ({ region, bases, at, part, outOfArea }) => {
        const p = policy(region);
        const area = outOfArea ? '110105' : `${p.admdvs_prefixes[0]}01`;
        const k = at % bases.length;
        // The split point is chosen in whole fen (bigint); the double only picks where.
        const first = (bases[k]! * BigInt(Math.floor(part * 1000))) / 1000n;
        const whole = year(bases, undefined, area);
        const split = year(bases, undefined, area);
        const [a, b] = [{ ...split[k]! }, { ...split[k]! }];
        a.setl_id = `${split[k]!.setl_id}a`;
        a.setldetail = [{ fund_pay_type: '330100', inscp_scp_amt: yuan(first), fund_payamt: '0' }];
        b.setl_id = `${split[k]!.setl_id}b`;
        b.setldetail = [{ fund_pay_type: '330100', inscp_scp_amt: yuan(bases[k]! - first), fund_payamt: '0' }];
        split.splice(k, 1, a, b);
        const diff = total(evaluatePersonYear(p, 2024, whole).settlements)
          .minus(total(evaluatePersonYear(p, 2024, split).settlements))
          .abs();
        return diff.lte(new D('0.01'));
      }),
      { numRuns: 300 },
    );
  });
});
