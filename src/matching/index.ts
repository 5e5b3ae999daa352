/** The pure loop rules ([2 of 7] closed-loop matching): facts in, loop state and findings out (spec §4). */
export * from './rules';
export {
  UNKNOWN_ADMDVS,
  fallbackAdmdvs,
  type Finding,
  type FindingEvidence,
  type ItemEvidence,
  type LineEvidence,
  type RecoveryEvidence,
  type SettlementEvidence,
} from './finding';
