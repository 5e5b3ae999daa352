/** The fund-year statement's pure core (spec §8): figures and findings from plain rows. */
export {
  addPayouts,
  computeFundStatement,
  emptyPayoutTotals,
  fundStatementOf,
  type PayoutTotals,
  type StatementFrame,
} from './compute-statement';
export { limitAmount, percentOf } from './fund-math';
export { settlementPayouts, inYear, type PayoutInput } from './payouts';
export { fundGroupKey, lastPeriodOf, statementFindings } from './statement-findings';
export type * from './statement-types';
