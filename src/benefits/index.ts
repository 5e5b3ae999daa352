/** Benefit rules as data (spec §7): region policies, the pure engine, findings and explanations. */
export { createRegionPolicies, loadRegionPolicies, RegionPolicies, RegionPolicyError } from './region-policy';
export type { RegionPolicySource } from './region-policy';
export type { RegionPolicy, RegionPolicyDocument, CompiledBenefits } from './policy-types';
export { benefitYearOf, benefitYearStart, evaluatePerson, evaluatePersonYear } from './engine';
export type {
  AppliedAdjustment,
  BandSlice,
  BenefitDerivation,
  BenefitSetlDetailInput,
  BenefitSettlementInput,
  CapDerivation,
  PersonYearBenefits,
  SegmentDerivation,
  SettlementBenefit,
  UncheckedReason,
} from './engine-types';
export { annualCapFinding, benefitDeviation, derivationEvidence, personYearTotals } from './findings';
export type { AnnualCapFinding, BenefitDeviationFinding, CapEvidence, DerivationEvidence } from './findings';
export { explain } from './explain';
export type { ExplainLocale } from './explain';
