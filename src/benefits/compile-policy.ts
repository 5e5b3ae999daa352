import type Decimal from 'decimal.js';
import { DEFAULT_LOOP_PARAMS, type LoopParams } from '../deadlines/params';
import { Money } from '../money';
import { compileFundPolicy } from '../fund/rules/fund-policy';
import { cstInstant } from '../time';
import { Dec, ZERO } from './exact';
import type {
  CompiledAdjustment,
  CompiledBand,
  CompiledBenefits,
  CompiledSegment,
  RegionPolicy,
  RegionPolicyDocument,
} from './policy-types';

/** A policy file that cannot be used. The message names the file and the JSON path, so start-up stops with a clear cause. */
export class RegionPolicyError extends Error {
  override readonly name = 'RegionPolicyError';
  constructor(
    readonly file: string,
    readonly jsonPath: string,
    readonly problem: string,
  ) {
    super(`region policy ${file}: ${jsonPath || '/'} ${problem}`);
  }
}

const ONE = new Dec(1);

/** Benefit years with a precomputed start (other years are computed on demand). */
export const FIRST_TABLED_YEAR = 1990;
export const TABLED_YEARS = 160;

/**
 * Checks what the schema cannot say (band order, references between fields) and precomputes the
 * band tables. `doc` must already be valid against regions/region-policy.schema.json.
 */
export function compileRegionPolicy(file: string, doc: RegionPolicyDocument): RegionPolicy {
  const fail = (path: string, problem: string): never => {
    throw new RegionPolicyError(file, path, problem);
  };
  const expectedId = file.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  if (doc.id !== expectedId) fail('/id', `must equal the file name "${expectedId}"`);

  const cutoff = doc.loop_params.manual_final_cutoff.value;
  if (!isMonthDay(cutoff))
    fail('/loop_params/manual_final_cutoff/value', `"${cutoff}" is not a day of a (non-leap) year`);

  const bounds = doc.loop_params.ageing_buckets.value;
  if (!bounds.every((b, i) => i === 0 || b > bounds[i - 1]!))
    fail('/loop_params/ageing_buckets/value', `${JSON.stringify(bounds)} must be strictly increasing`);

  const loop_params = Object.fromEntries(
    (Object.keys(DEFAULT_LOOP_PARAMS) as (keyof LoopParams)[]).map((k) => [k, doc.loop_params[k].value]),
  ) as unknown as LoopParams;

  return {
    id: doc.id,
    file,
    name: { zh: doc.name.zh, en: doc.name.en },
    admdvs_prefixes: Object.freeze([...doc.admdvs_prefixes.value]),
    benefit_year_start: doc.benefit_year.starts,
    benefit_year_starts: Object.freeze(
      Array.from({ length: TABLED_YEARS + 1 }, (_, i) =>
        cstInstant(`${FIRST_TABLED_YEAR + i}-${doc.benefit_year.starts}`).getTime(),
      ),
    ),
    fund_pay_type: doc.large_expense_fund_pay_type.value,
    benefits: doc.benefits === null ? null : compileBenefits(doc, fail),
    loop_params: Object.freeze(loop_params),
    fund: compileFundPolicy(doc.fund),
    benefit_tolerance: Money.of(loop_params.benefit_tolerance),
    document: doc,
  };
}

function compileBenefits(doc: RegionPolicyDocument, fail: (path: string, problem: string) => never): CompiledBenefits {
  const b = doc.benefits!;
  const segment_index = new Map<string, number>();
  const segments: CompiledSegment[] = b.segments.map((s, i) => {
    const at = `/benefits/segments/${i}`;
    if (segment_index.has(s.id)) fail(`${at}/id`, `duplicate segment id "${s.id}"`);
    segment_index.set(s.id, i);
    const froms = s.bands.map((band) => Money.of(band.from));
    if (!froms[0]!.isZero()) fail(`${at}/bands/0/from`, 'the first band must start at 0');
    const bands: CompiledBand[] = s.bands.map((band, j) => {
      const next = froms[j + 1];
      if (next !== undefined && !next.gt(froms[j]!))
        fail(`${at}/bands/${j + 1}/from`, 'bands must start at strictly increasing bases');
      return { index: j, from: froms[j]!, to: next ?? null, ratio: new Dec(band.ratio), source: band.source };
    });
    return { index: i, id: s.id, name: s.name, source: s.source, bands };
  });
  const def = segment_index.get(b.default_segment.value);
  if (def === undefined) fail('/benefits/default_segment/value', `names no segment ("${b.default_segment.value}")`);

  const adjIds = new Set<string>();
  const adjustments: CompiledAdjustment[] = b.adjustments.map((a, i) => {
    if (adjIds.has(a.id)) fail(`/benefits/adjustments/${i}/id`, `duplicate adjustment id "${a.id}"`);
    adjIds.add(a.id);
    return {
      index: i,
      id: a.id,
      name: a.name,
      when: { ...a.when },
      ratio_delta: new Dec(a.ratio_delta),
      source: a.source,
    };
  });

  const ratios: Decimal[][][] = [];
  for (let mask = 0; mask < 1 << adjustments.length; mask++) {
    let delta = ZERO;
    for (const a of adjustments) if (mask & (1 << a.index)) delta = delta.plus(a.ratio_delta);
    ratios.push(segments.map((s) => s.bands.map((band) => clampRatio(band.ratio.plus(delta)))));
  }

  const cap = b.yearly_cap;
  let yearly_cap: CompiledBenefits['yearly_cap'] = null;
  let annual_payout_limit: Money | null = null;
  if (cap.applies_to !== 'none') {
    const amount = Money.of(cap.amount!);
    if (!amount.isPositive()) fail('/benefits/yearly_cap/amount', 'must be greater than 0');
    yearly_cap = { applies_to: cap.applies_to, amount, source: cap.source };
    // For a base cap the most the rules can pay is the band value of the capped base, at the
    // highest ratio any adjustment combination gives each band (exact for one segment).
    annual_payout_limit =
      cap.applies_to === 'payout'
        ? amount
        : Money.sum(
            segments.map((s) =>
              bandValue(
                s.bands,
                ratios.map((m) => m[s.index]!),
                amount,
              ),
            ),
          );
  }
  return {
    segments,
    segment_index,
    default_segment: def!,
    adjustments,
    ratios,
    yearly_cap,
    yearly_cap_source: cap.source,
    annual_payout_limit,
  };
}

/** f(x): the piecewise-linear band function at cumulative base x, with each band at its highest ratio among `ratioSets`. */
export function bandValue(bands: readonly CompiledBand[], ratioSets: readonly (readonly Decimal[])[], x: Money): Money {
  let acc = Money.ZERO;
  for (const band of bands) {
    if (!x.gt(band.from)) break;
    const top = band.to === null || x.lt(band.to) ? x : band.to;
    const ratio = ratioSets.reduce((m, rs) => Dec.max(m, rs[band.index]!), ZERO);
    acc = acc.plus(top.minus(band.from).times(ratio));
  }
  return acc;
}

function clampRatio(r: Decimal): Decimal {
  return r.isNegative() ? ZERO : r.gt(ONE) ? ONE : r;
}

function isMonthDay(md: string): boolean {
  const t = new Date(`2023-${md}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(5, 10) === md;
}
