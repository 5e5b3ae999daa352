/**
 * The pure loop rules (spec §4): facts in, loop state and findings out — no database, no clock (asOf
 * is a parameter). Everything outside this folder imports them from here, never from a deep file.
 * Where SQL restates one of them for speed (the reconciliation report), the restatement lives in a
 * ledger read model beside a property test that runs both (test/e2e/rules-sql-agree.test.ts).
 */
export type {
  BatchItemFact,
  EvaluationContext,
  PaymentLineFact,
  RecoveryFact,
  SettlementFact,
  SettlementInput,
} from './facts';
export {
  DEFAULT_SEVERITY,
  FINDING_CODES,
  SETTLEMENT_GROUP_CODES,
  SEVERITIES,
  severityOf,
  type FindingCode,
  type Severity,
} from './finding-codes';
export { parseSubjectKey, subjectKey, type Subject } from './subject-key';
export {
  computeLoop,
  countedRejection,
  isRightPayee,
  netPaidOf,
  type LineVerdict,
  type LoopComputation,
  type LoopState,
  type LoopStatus,
} from './loop-state';
export { evaluateSettlement, type SettlementEvaluation } from './evaluate-settlement';
export { evaluateDeclaration, type DeclarationEvaluation, type DeclarationInput } from './evaluate-declaration';
export { compareFindings, compareItems, compareLines, compareRecoveries, compareSettlements, sorted } from './order';
export { reimbursedBefore } from './record-findings';
export {
  declaredAmountFindings,
  declaredNotRecordedFindings,
  recordedNotDeclaredFindings,
} from './declaration-findings';
