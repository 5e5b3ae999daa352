import type { DueDate, DueRule } from '../deadlines/due-dates';
import type { Money } from '../money';
import { toCstIso, type LocalDate, type Period } from '../time';
import type { BatchItemFact, EvaluationContext, PaymentLineFact, RecoveryFact, SettlementFact } from './rules/facts';
import { severityOf, type FindingCode, type Severity } from './rules/finding-codes';

/**
 * What an evaluator returns: the body of a discrepancy (spec §4) before the case store gives it an
 * id, status and timestamps. The one finding type of the gateway: the loop rules, the benefit audit
 * and the plan findings all hand these to `syncGroups` (src/discrepancies/case-store.ts). Amounts
 * are wire strings with two decimals (spec §4: "Amounts in it are strings"), and `difference` is
 * signed: actual − expected, so it is negative for a shortfall. Evidence times are CST ISO strings.
 * No personal data: a person payee's psn_no is never copied into evidence (the line's message_id
 * leads to it for those allowed to see it). `E` is the evidence's shape: the loop rules' by default;
 * the case store takes any (`Finding<object>`).
 */
export interface Finding<E extends object = FindingEvidence> {
  code: FindingCode;
  severity: Severity;
  subject_key: string;
  admdvs: string;
  insurer_code: string;
  fixmedins_code?: string;
  period: Period;
  setl_id?: string;
  expected_amount?: string;
  actual_amount?: string;
  difference?: string;
  /** One English sentence with ids and amounts only. */
  detail: string;
  evidence: E;
}

export interface FindingEvidence {
  /** Every message the finding rests on, sorted and unique. */
  message_ids: string[];
  settlements?: SettlementEvidence[];
  lines?: LineEvidence[];
  recoveries?: RecoveryEvidence[];
  items?: ItemEvidence[];
  batch?: { batch_id: string; message_id: string; received_at: string };
  due?: { date: LocalDate; lapses_at: string; rule: DueRule; uncovered_years?: number[] };
  closed_at?: string;
  grace_expires_at?: string;
  /** Named amounts behind a total (e.g. the payers of OVER_REIMBURSEMENT). */
  amounts?: Record<string, string>;
  /** DECLARED_AMOUNT_MISMATCH: each field that differs, declared vs. recorded. */
  mismatched_fields?: Array<{
    field: 'hifob_pay' | 'medfee_sumamt' | 'fund_pay_sumamt' | 'acct_pay';
    declared: string;
    recorded: string;
  }>;
  owed_direct_count?: number;
}

export interface SettlementEvidence {
  setl_id: string;
  message_id: string;
  mdtrt_id: string;
  setl_mode: 'direct' | 'manual';
  status: 'valid' | 'reversed';
  insurer_code: string;
  fixmedins_code: string;
  medfee_sumamt: string;
  hifob_pay: string;
}

export interface LineEvidence {
  message_id: string;
  insurer_code: string;
  payment_id: string;
  line_no: number;
  payee_type: 'institution' | 'person';
  /** Only for an institution payee (a person payee's id is personal data). */
  payee_id?: string;
  pay_time: string;
  paid_amount: string;
  rejected_amount: string;
  reject_reason_code?: string;
}

export interface RecoveryEvidence {
  message_id: string;
  insurer_code: string;
  recovery_id: string;
  amount: string;
  recovered_at: string;
}

export interface ItemEvidence {
  message_id: string;
  batch_id: string;
  fixmedins_code: string;
  insurer_code: string;
  period: Period;
  setl_id: string;
  medfee_sumamt: string;
  hifob_pay: string;
}

/** Region of a finding whose settlement is unknown and no fallback applies (visible to ops only). */
export const UNKNOWN_ADMDVS = '000000';

type FindingBody = Omit<Finding, 'severity' | 'evidence' | 'expected_amount' | 'actual_amount' | 'difference'> & {
  expected?: Money;
  actual?: Money;
  evidence: Omit<FindingEvidence, 'message_ids'> & { message_ids?: string[] };
};

/** Assembles a finding: severity from the table (or ctx override), amounts as strings, message_ids collected. */
export function makeFinding(ctx: Pick<EvaluationContext, 'severities'>, body: FindingBody): Finding {
  const { expected, actual, evidence, ...rest } = body;
  const f: Finding = { ...rest, severity: severityOf(body.code, ctx.severities), evidence: withMessageIds(evidence) };
  if (expected) f.expected_amount = expected.toString();
  if (actual) f.actual_amount = actual.toString();
  if (expected && actual) f.difference = actual.minus(expected).toString();
  return f;
}

function withMessageIds(e: FindingBody['evidence']): FindingEvidence {
  const ids = new Set<string>(e.message_ids ?? []);
  for (const x of [...(e.settlements ?? []), ...(e.lines ?? []), ...(e.recoveries ?? []), ...(e.items ?? [])])
    ids.add(x.message_id);
  if (e.batch) ids.add(e.batch.message_id);
  return { ...e, message_ids: [...ids].sort(cmpStr) };
}

/**
 * Region of a finding without a known settlement: the caller's fallback first, then the county code
 * of an `H` + 6-digit fixmedins_code (spec §1: 12 usual: `H` + county code + 5 digits), else UNKNOWN_ADMDVS.
 */
export function fallbackAdmdvs(
  ctx: Pick<EvaluationContext, 'fallbackAdmdvs'>,
  ref: { insurer_code: string; fixmedins_code?: string },
): string {
  const given = ctx.fallbackAdmdvs?.(ref);
  if (given !== undefined && /^\d{6}$/.test(given)) return given;
  const m = ref.fixmedins_code === undefined ? null : /^H(\d{6})/.exec(ref.fixmedins_code);
  return m?.[1] ?? UNKNOWN_ADMDVS;
}

export function settlementEvidence(s: SettlementFact): SettlementEvidence {
  return {
    setl_id: s.setl_id,
    message_id: s.message_id,
    mdtrt_id: s.mdtrt_id,
    setl_mode: s.setl_mode,
    status: s.status,
    insurer_code: s.insurer_code,
    fixmedins_code: s.fixmedins_code,
    medfee_sumamt: s.medfee_sumamt.toString(),
    hifob_pay: s.hifob_pay.toString(),
  };
}

export function lineEvidence(l: PaymentLineFact): LineEvidence {
  const e: LineEvidence = {
    message_id: l.message_id,
    insurer_code: l.insurer_code,
    payment_id: l.payment_id,
    line_no: l.line_no,
    payee_type: l.payee_type,
    pay_time: toCstIso(l.pay_time),
    paid_amount: l.paid_amount.toString(),
    rejected_amount: l.rejected_amount.toString(),
  };
  if (l.payee_type === 'institution') e.payee_id = l.payee_id;
  if (l.reject_reason_code !== undefined) e.reject_reason_code = l.reject_reason_code;
  return e;
}

export function recoveryEvidence(r: RecoveryFact): RecoveryEvidence {
  return {
    message_id: r.message_id,
    insurer_code: r.insurer_code,
    recovery_id: r.recovery_id,
    amount: r.amount.toString(),
    recovered_at: toCstIso(r.recovered_at),
  };
}

export function itemEvidence(i: BatchItemFact): ItemEvidence {
  return {
    message_id: i.message_id,
    batch_id: i.batch_id,
    fixmedins_code: i.fixmedins_code,
    insurer_code: i.insurer_code,
    period: i.period,
    setl_id: i.setl_id,
    medfee_sumamt: i.medfee_sumamt.toString(),
    hifob_pay: i.hifob_pay.toString(),
  };
}

export function dueEvidence(d: DueDate): NonNullable<FindingEvidence['due']> {
  const e: NonNullable<FindingEvidence['due']> = { date: d.date, lapses_at: toCstIso(d.lapses_at), rule: d.rule };
  if (d.uncovered_years) e.uncovered_years = [...d.uncovered_years];
  return e;
}

/** Code-unit string order: locale-independent, so results never depend on the host. */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
