import { Money } from '../money';
import { exactText, fenText } from './exact';
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
  if (!r.checked || r.derivation === null || r.actual === r.expected || r.actual.eq(r.expected)) return undefined;
  const diff = r.actual.minus(r.expected);
  if (diff.abs().lte(policy.benefit_tolerance)) return undefined;
  return {
    code: 'BENEFIT_RULE_DEVIATION',
    region: policy.id,
    setl_id: r.setl_id,
    expected_amount: fenText(r.expected),
    actual_amount: fenText(r.actual),
    difference: fenText(diff),
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
  const limit = b.annual_payout_limit;
  const actual = Money.sum(year.settlements.map((s) => s.actual));
  if (!actual.gt(limit)) return undefined;
  return {
    code: 'ANNUAL_CAP_EXCEEDED',
    region: policy.id,
    benefit_year: year.benefit_year,
    expected_amount: fenText(limit),
    actual_amount: fenText(actual),
    difference: fenText(actual.minus(limit)),
    evidence: {
      cap_applies_to: b.yearly_cap.applies_to,
      cap_amount: fenText(b.yearly_cap.amount),
      cap_source: b.yearly_cap.source,
      settlements: year.settlements.map((s) => ({ setl_id: s.setl_id, hifob_pay: fenText(s.actual) })),
    },
  };
}

/** Σ expected and Σ recorded hifob_pay of a person's valid settlements in the year (for run summaries). */
export function personYearTotals(year: PersonYearBenefits): { expected: Money; actual: Money } {
  return {
    expected: Money.sum(year.settlements.map((s) => s.expected)),
    actual: Money.sum(year.settlements.map((s) => s.actual)),
  };
}

/** A derivation as plain JSON (strings for every number) for discrepancy evidence. */
export interface DerivationEvidence {
  region: string;
  benefit_year: number;
  fund_pay_type: string;
  segments: {
    segment: string;
    base: string;
    counted_base: string;
    cum_base_before: string;
    cum_base_after: string;
    amount: string;
    slices: {
      band: number;
      from: string;
      to: string | null;
      base_slice: string;
      band_ratio: string;
      ratio: string;
      amount: string;
      source: string;
    }[];
  }[];
  adjustments: { id: string; ratio_delta: string; source: string }[];
  base_cap: CapEvidence | null;
  payout_cap: CapEvidence | null;
  uncapped: string;
  exact: string;
  expected: string;
  unknown_segments: string[];
}

export interface CapEvidence {
  applies_to: 'payout' | 'base';
  limit: string;
  room_before: string;
  room_after: string;
  source: string;
}

/** Bases, rooms and the expected amount are at the fen ("12.30"); products keep every decimal ("8500.4375"). */
export function derivationEvidence(d: BenefitDerivation): DerivationEvidence {
  return {
    region: d.region,
    benefit_year: d.benefit_year,
    fund_pay_type: d.fund_pay_type,
    segments: d.segments.map((s) => ({
      segment: s.segment,
      base: fenText(s.base),
      counted_base: fenText(s.counted_base),
      cum_base_before: fenText(s.cum_base_before),
      cum_base_after: fenText(s.cum_base_after),
      amount: exactText(s.amount),
      slices: s.slices.map((x) => ({
        band: x.band,
        from: fenText(x.from),
        to: x.to === null ? null : fenText(x.to),
        base_slice: fenText(x.base_slice),
        band_ratio: x.band_ratio.toString(),
        ratio: x.ratio.toString(),
        amount: exactText(x.amount),
        source: x.source,
      })),
    })),
    adjustments: d.adjustments.map((a) => ({ id: a.id, ratio_delta: a.ratio_delta.toString(), source: a.source })),
    base_cap: capEvidence(d.base_cap),
    payout_cap: capEvidence(d.payout_cap),
    uncapped: exactText(d.uncapped),
    exact: exactText(d.exact),
    expected: fenText(d.expected),
    unknown_segments: [...d.unknown_segments],
  };
}

function capEvidence(c: CapDerivation | null): CapEvidence | null {
  return c === null
    ? null
    : {
        applies_to: c.applies_to,
        limit: fenText(c.limit),
        room_before: fenText(c.room_before),
        room_after: fenText(c.room_after),
        source: c.source,
      };
}
