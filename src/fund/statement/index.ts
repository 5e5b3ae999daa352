/** The fund-year statement's pure core (spec §8): figures and findings from plain rows. */
export { computeFundStatement } from './compute-statement';
export { limitAmount, percentOf } from './fund-math';
export { settlementPayouts, inYear } from './payouts';
export { fundGroupKey, lastPeriodOf, statementFindings } from './statement-findings';
export type * from './statement-types';
