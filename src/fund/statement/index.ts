/** The fund-year statement's pure core (spec §8): figures and findings from plain rows. */
export {
  addAggregatedPayouts,
  addPayouts,
  addSettlementPayouts,
  computeFundStatement,
  emptyPayoutTotals,
  fundStatementOf,
  type AggregatedPayouts,
  type PayoutTotals,
  type StatementFrame,
} from './compute-statement';
export { limitAmount, percentOf } from './fund-math';
export { settlementAllowances, settlementPayouts, inYear, type PayoutInput, type SettlementAllowance } from './payouts';
export { fundGroupKey, lastPeriodOf, statementFindings } from './statement-findings';
export type * from './statement-types';
