import type Decimal from 'decimal.js';
import { Money } from '../money';
import { fen2 } from './exact';
import type { BenefitDerivation, CapDerivation, PersonYearBenefits, SettlementBenefit } from './engine-types';
import type { RegionPolicy } from './policy-types';

/** Finding data for BENEFIT_RULE_DEVIATION (spec §4, §7). Amounts are strings; difference = actual − expected. */
export interface BenefitDeviationFinding {
  code: 'BENEFIT_RULE_DEVIATION';
  region: string;
  setl_id: string;
  expected_amount: string;
  actual_amount: string;
  difference: string;
  tolerance: string;
  evidence: DerivationEvidence;
}

/** Finding data for ANNUAL_CAP_EXCEEDED (person-year). expected = the cap, actual = Σ hifob_pay, difference = actual − expected. */
export interface AnnualCapFinding {
  code: 'ANNUAL_CAP_EXCEEDED';
  region: string;
  benefit_year: number;
  expected_amount: string;
  actual_amount: string;
  difference: string;
  evidence: {
    cap_applies_to: 'payout' | 'base';
    cap_amount: string;
    cap_source: string;
    settlements: { setl_id: string; hifob_pay: string }[];
  };
}

/**
 * A settlement whose recorded hifob_pay differs from the rules by more than the region's tolerance
 * (spec §7: default 0.01, so a one-fen rounding difference passes). Unchecked settlements never deviate.
 */
export function benefitDeviation(policy: RegionPolicy, r: SettlementBenefit): BenefitDeviationFinding | undefined {
  if (!r.checked || r.derivation === null) return undefined;
  const diff = r.actual.minus(r.expected);
  if (!diff.abs().toDecimal().gt(policy.benefit_tolerance)) return undefined;
  return {
    code: 'BENEFIT_RULE_DEVIATION',
    region: policy.id,
    setl_id: r.setl_id,
    expected_amount: r.expected.toString(),
    actual_amount: r.actual.toString(),
    difference: diff.toString(),
    tolerance: policy.loop_params.benefit_tolerance,
    evidence: derivationEvidence(r.derivation),
  };
}

/**
 * Σ hifob_pay recorded for the person's valid settlements of the benefit year above the most the
 * rules can pay in a year (003 art. 32(3) 年度累计最高支付限额; for a base cap such as 002 #5 §6(3)④,
 * the band value of the capped base). Regions without a cap (001 art. 10) never raise it.
 */
export function annualCapFinding(policy: RegionPolicy, year: PersonYearBenefits): AnnualCapFinding | undefined {
  const b = policy.benefits;
  if (b === null || b.yearly_cap === null || b.annual_payout_limit === null) return undefined;
  const limit = Money.of(b.annual_payout_limit);
  if (!year.actual_total.gt(limit)) return undefined;
  return {
    code: 'ANNUAL_CAP_EXCEEDED',
    region: policy.id,
    benefit_year: year.benefit_year,
    expected_amount: limit.toString(),
    actual_amount: year.actual_total.toString(),
    difference: year.actual_total.minus(limit).toString(),
    evidence: {
      cap_applies_to: b.yearly_cap.applies_to,
      cap_amount: fen2(b.yearly_cap.amount),
      cap_source: b.yearly_cap.source,
      settlements: year.settlements.map((s) => ({ setl_id: s.setl_id, hifob_pay: s.actual.toString() })),
    },
  };
}

/** A derivation as plain JSON (strings for every number) for discrepancy evidence. */
export interface DerivationEvidence {
  region: string;
  benefit_year: number;
  fund_pay_type: string;
  segments: {
    segment: string; base: string; counted_base: string; cum_base_before: string; cum_base_after: string; amount: string;
    slices: { band: number; from: string; to: string | null; base_slice: string; band_ratio: string; ratio: string; amount: string; source: string }[];
  }[];
  adjustments: { id: string; ratio_delta: string; source: string }[];
  base_cap: CapEvidence | null;
  payout_cap: CapEvidence | null;
  uncapped: string;
  exact: string;
  expected: string;
  unknown_segments: string[];
}

export interface CapEvidence { applies_to: 'payout' | 'base'; limit: string; room_before: string; room_after: string; source: string }

/** Bases, rooms and the expected amount are at the fen ("12.30"); products keep every decimal ("8500.4375"). */
export function derivationEvidence(d: BenefitDerivation): DerivationEvidence {
  return {
    region: d.region,
    benefit_year: d.benefit_year,
    fund_pay_type: d.fund_pay_type,
    segments: d.segments.map((s) => ({
      segment: s.segment,
      base: fen2(s.base),
      counted_base: fen2(s.counted_base),
      cum_base_before: fen2(s.cum_base_before),
      cum_base_after: fen2(s.cum_base_after),
      amount: exactText(s.amount),
      slices: s.slices.map((x) => ({
        band: x.band, from: fen2(x.from), to: x.to === null ? null : fen2(x.to), base_slice: fen2(x.base_slice),
        band_ratio: x.band_ratio.toString(), ratio: x.ratio.toString(), amount: exactText(x.amount), source: x.source,
      })),
    })),
    adjustments: d.adjustments.map((a) => ({ id: a.id, ratio_delta: a.ratio_delta.toString(), source: a.source })),
    base_cap: capEvidence(d.base_cap),
    payout_cap: capEvidence(d.payout_cap),
    uncapped: exactText(d.uncapped),
    exact: exactText(d.exact),
    expected: fen2(d.expected),
    unknown_segments: [...d.unknown_segments],
  };
}

function capEvidence(c: CapDerivation | null): CapEvidence | null {
  return c === null ? null : { applies_to: c.applies_to, limit: fen2(c.limit), room_before: fen2(c.room_before), room_after: fen2(c.room_after), source: c.source };
}

/** Full precision, never exponent notation. */
export function exactText(d: Decimal): string {
  return d.toFixed();
}
