/** The pure loop rules ([2 of 7] closed-loop matching): facts in, loop state and findings out (spec §4). */
export type { BatchItemFact, EvaluationContext, PaymentLineFact, RecoveryFact, SettlementFact, SettlementInput } from './facts';
export { DEFAULT_SEVERITY, FINDING_CODES, SETTLEMENT_GROUP_CODES, SEVERITIES, severityOf, type FindingCode, type Severity } from './finding-codes';
export { UNKNOWN_ADMDVS, fallbackAdmdvs, type Finding, type FindingEvidence, type ItemEvidence, type LineEvidence, type RecoveryEvidence, type SettlementEvidence } from './finding';
export { parseSubjectKey, subjectKey, type Subject } from './subject-key';
export { computeLoop, isRightPayee, type LoopComputation, type LoopState, type LoopStatus } from './loop-state';
export { evaluateSettlement, type SettlementEvaluation } from './evaluate-settlement';
export { evaluateDeclaration, type DeclarationEvaluation, type DeclarationInput } from './evaluate-declaration';
export { compareFindings } from './order';
