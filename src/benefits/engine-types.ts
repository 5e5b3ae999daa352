import type Decimal from 'decimal.js';
import type { Money } from '../money';
import type { AmountInput } from './exact';

/** One setldetail entry (spec §3 Settlement.setldetail). */
export interface BenefitSetlDetailInput {
  fund_pay_type: string;
  /** Policy-scope (covered) cost of the entry: the engine's base (see engine.ts). */
  inscp_scp_amt: AmountInput;
  /** The fund's payment in the entry; not part of the base. */
  fund_payamt: AmountInput;
  /** Policy segment (spec §3 *ext*); absent → the region's default segment. */
  seg?: string | null;
}

/** What the engine needs of one agency settlement record (plain data; the caller loads it). */
export interface BenefitSettlementInput {
  setl_id: string;
  setl_time: Date;
  status: 'valid' | 'reversed';
  mdtrtarea_admvs: string;
  referral: boolean;
  setldetail?: readonly BenefitSetlDetailInput[] | null;
  /** What the agency recorded as owed by the large-expense fund. */
  hifob_pay: AmountInput;
}

/** The part of one band a settlement's increment falls in. */
export interface BandSlice {
  /** 0-based index into the segment's bands. */
  band: number;
  from: Money;
  to: Money | null;
  /** Part of the increment inside [from, to). */
  base_slice: Money;
  /** The band's ratio in the file. */
  band_ratio: Decimal;
  /** The ratio applied (band_ratio plus the adjustments, clamped to 0–100%). */
  ratio: Decimal;
  /** base_slice × ratio, exact. */
  amount: Money;
  source: string;
}

export interface SegmentDerivation {
  segment: string;
  /** Σ inscp_scp_amt of this settlement's large-expense entries in the segment. */
  base: Money;
  /** The part of `base` the yearly base cap lets count (= base without a base cap). */
  counted_base: Money;
  /** Counted cumulative base of the person's benefit year in this segment, before and after this settlement. */
  cum_base_before: Money;
  cum_base_after: Money;
  slices: BandSlice[];
  /** f(cum_base_after) − f(cum_base_before), exact (Σ slice amounts). */
  amount: Money;
}

export interface CapDerivation {
  applies_to: 'payout' | 'base';
  limit: Money;
  /** Room left under the cap before and after this settlement (payout: by expected amounts at the fen). */
  room_before: Money;
  room_after: Money;
  source: string;
}

export interface AppliedAdjustment {
  id: string;
  ratio_delta: Decimal;
  source: string;
}

/** How a settlement's expected amount was derived: enough to check it by hand (explain.ts renders it). */
export interface BenefitDerivation {
  region: string;
  benefit_year: number;
  fund_pay_type: string;
  segments: SegmentDerivation[];
  adjustments: readonly AppliedAdjustment[];
  base_cap: CapDerivation | null;
  payout_cap: CapDerivation | null;
  /** Σ segment amounts, before the payout cap, exact. */
  uncapped: Money;
  /** After the payout cap, exact and unrounded. */
  exact: Money;
  /** `exact` half-up at the fen (= SettlementBenefit.expected). */
  expected: Money;
  /** `seg` values of large-expense entries that name no segment of the region (their base is ignored). */
  unknown_segments: readonly string[];
}

export type UncheckedReason = 'no_benefit_rules' | 'no_large_expense_entry' | 'unknown_segment';

export interface SettlementBenefit {
  setl_id: string;
  setl_time: Date;
  /** false: the rules could not be applied (spec §7: counted as unchecked in the run summary). */
  checked: boolean;
  unchecked_reason: UncheckedReason | null;
  /** What the region's rules give, half-up at the fen (zero when there is no large-expense entry). */
  expected: Money;
  /** hifob_pay as recorded. */
  actual: Money;
  /** null when the rules were not applied (no rules, or no large-expense entry). */
  derivation: BenefitDerivation | null;
}

/** One person's benefit year. */
export interface PersonYearBenefits {
  region: string;
  benefit_year: number;
  /** Valid settlements in the order they were evaluated (setl_time, then setl_id). */
  settlements: SettlementBenefit[];
  /** setl_ids of reversed settlements: left out of every cumulative (spec §7: valid settlements only). */
  excluded: string[];
  checked_count: number;
  unchecked_count: number;
}
