/**
 * Discrepancy codes and their default severities, exactly as the table in spec §4 (a public
 * contract: names and severities are fixed). The matching core raises the loop codes; the benefit,
 * cap and plan codes are listed so every module shares one table.
 */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const DEFAULT_SEVERITY = Object.freeze({
  PAYMENT_OVERDUE: 'high',
  PAID_LATE: 'low',
  UNDERPAID: 'high',
  OVERPAID: 'critical',
  DUPLICATE_PAYMENT: 'critical',
  UNKNOWN_SETTLEMENT: 'high',
  REVERSED_SETTLEMENT_PAID: 'critical',
  PAYEE_MISMATCH: 'high',
  INSURER_MISMATCH: 'high',
  DECLARED_NOT_RECORDED: 'high',
  DECLARED_AMOUNT_MISMATCH: 'medium',
  RECORDED_NOT_DECLARED: 'medium',
  DECLARATION_MISSING: 'medium',
  BENEFIT_RULE_DEVIATION: 'high',
  ANNUAL_CAP_EXCEEDED: 'high',
  OVER_REIMBURSEMENT: 'critical',
  DUPLICATE_REIMBURSEMENT: 'critical',
  PLAN_VARIANCE: 'medium',
  DISBURSEMENT_MISMATCH: 'medium',
  // The fund year (spec §8): the fund-year statement's findings (src/fund/statement).
  COST_REPORT_MISSING: 'medium',
  COST_LIMIT_EXCEEDED: 'medium',
  PROFIT_LIMIT_EXCEEDED: 'high',
  FUND_DEFICIT: 'high',
  // The premium chain (spec §8, src/fund/rules/premium-chain.ts).
  PREMIUM_TRANSFER_SHORT: 'high',
  TRANSFER_UNFUNDED: 'critical',
  PREMIUM_RATE_MISMATCH: 'medium',
} as const satisfies Record<string, Severity>);

export type FindingCode = keyof typeof DEFAULT_SEVERITY;

export const FINDING_CODES = Object.freeze(Object.keys(DEFAULT_SEVERITY) as FindingCode[]);

/** The codes `evaluateSettlement` can return (every one belongs to the evaluated setl_id's group). */
export const SETTLEMENT_GROUP_CODES = Object.freeze([
  'PAYMENT_OVERDUE',
  'PAID_LATE',
  'UNDERPAID',
  'OVERPAID',
  'DUPLICATE_PAYMENT',
  'UNKNOWN_SETTLEMENT',
  'REVERSED_SETTLEMENT_PAID',
  'PAYEE_MISMATCH',
  'INSURER_MISMATCH',
  'DECLARED_NOT_RECORDED',
  'DECLARED_AMOUNT_MISMATCH',
  'RECORDED_NOT_DECLARED',
  'OVER_REIMBURSEMENT',
  'DUPLICATE_REIMBURSEMENT',
] as const satisfies readonly FindingCode[]);

export function severityOf(code: FindingCode, overrides?: Partial<Record<FindingCode, Severity>>): Severity {
  return overrides?.[code] ?? DEFAULT_SEVERITY[code];
}
