import type Decimal from 'decimal.js';
import type { LoopParams } from '../deadlines/params';
import type { Money } from '../money';
import type { FundPolicy, FundPolicyDocument } from '../fund/rules/fund-policy';

/** A bilingual name (zh for the agency, en for the docs). */
export interface Names {
  zh: string;
  en: string;
}

/** A parameter next to the seed article it comes from (every parameter in regions/*.json has one). */
export interface Sourced<T> {
  value: T;
  source: string;
}

/** A region policy file as written (regions/region-policy.schema.json). */
export interface RegionPolicyDocument {
  id: string;
  name: Names & { source: string };
  admdvs_prefixes: Sourced<string[]>;
  benefit_year: { starts: string; source: string };
  large_expense_fund_pay_type: Sourced<string>;
  benefits: BenefitsDocument | null;
  loop_params: { [K in keyof LoopParams]: Sourced<LoopParams[K]> };
  /** The fund year (spec §8; read by src/fund/). Optional: without it, the spec's defaults. */
  fund?: FundPolicyDocument;
  /** How a 2207 envelope gets the exchange's own fields (spec §9; read by src/platform/). */
  platform?: PlatformMappingDocument;
}

/** The region file's `platform` section (regions/region-policy.schema.json). */
export interface PlatformMappingDocument {
  insurer_by_insutype: Partial<Record<'310' | '330', string>>;
  manual_clr_types: string[];
  manual_clr_ways: string[];
  referral_field: { field: string; true_values: string[] };
  source: string;
}

export interface BenefitsDocument {
  segments: { id: string; name: Names; description?: string; bands: BandDocument[]; source: string }[];
  default_segment: Sourced<string>;
  adjustments: AdjustmentDocument[];
  yearly_cap: { applies_to: 'none' | 'payout' | 'base'; amount?: string; source: string };
}

export interface BandDocument {
  from: string;
  ratio: string;
  source: string;
}

export interface AdjustmentDocument {
  id: string;
  name: Names;
  when: { treated_outside_region?: boolean; referral?: boolean };
  ratio_delta: string;
  source: string;
}

/** One band of a compiled schedule: [from, to) of the cumulative base, paid at `ratio`. */
export interface CompiledBand {
  index: number;
  from: Money;
  /** null: unbounded (the last band). */
  to: Money | null;
  ratio: Decimal;
  source: string;
}

export interface CompiledSegment {
  index: number;
  id: string;
  name: Names;
  source: string;
  bands: readonly CompiledBand[];
}

export interface CompiledAdjustment {
  index: number;
  id: string;
  name: Names;
  when: { treated_outside_region?: boolean; referral?: boolean };
  ratio_delta: Decimal;
  source: string;
}

export interface CompiledCap {
  applies_to: 'payout' | 'base';
  amount: Money;
  source: string;
}

/** Band tables precomputed once per policy, so the engine never re-parses the file's strings. */
export interface CompiledBenefits {
  segments: readonly CompiledSegment[];
  segment_index: ReadonlyMap<string, number>;
  default_segment: number;
  adjustments: readonly CompiledAdjustment[];
  /**
   * ratios[mask][segment][band]: every band's ratio once the adjustments in `mask` (bit i =
   * adjustments[i]) are applied, clamped to 0–100% (003 art. 31(2): raised ratios stop at 100%).
   */
  ratios: readonly (readonly (readonly Decimal[])[])[];
  yearly_cap: CompiledCap | null;
  yearly_cap_source: string;
  /**
   * The most the rules can pay in a benefit year (ANNUAL_CAP_EXCEEDED threshold): the payout cap,
   * or for a base cap the band value of the capped base (an upper bound with several segments).
   */
  annual_payout_limit: Money | null;
}

/** A loaded, validated, compiled region policy. */
export interface RegionPolicy {
  id: string;
  /** File name it was loaded from (for evidence and error messages). */
  file: string;
  name: Names;
  admdvs_prefixes: readonly string[];
  /** Month-day ("01-01") the benefit year starts on, in China Standard Time. */
  benefit_year_start: string;
  /** Start instants (ms) of benefit years FIRST_TABLED_YEAR… (precomputed: the engine asks per settlement). */
  benefit_year_starts: readonly number[];
  fund_pay_type: string;
  /** null: the region states no ratios; no settlement is checked (e.g. Jiaozuo). */
  benefits: CompiledBenefits | null;
  loop_params: LoopParams;
  /** The fund year's parameters (spec §8), each with its seed article; defaults where the file has no `fund`. */
  fund: FundPolicy;
  benefit_tolerance: Money;
  /** The file as written, for `explain` and for sources in evidence. */
  document: RegionPolicyDocument;
}
