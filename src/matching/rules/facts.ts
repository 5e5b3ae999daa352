import type { WorkCalendar } from '../../deadlines/calendar';
import type { LoopParams } from '../../deadlines/params';
import type { Money } from '../../money';
import type { Period } from '../../time';
import type { FindingCode, Severity } from './finding-codes';

/**
 * The plain facts the loop rules read (spec §3), already validated and stored by ingest. Amounts are
 * Money, times are instants (Date). Every fact carries the `message_id` that brought it and when the
 * gateway received it (`received_at`, which starts grace periods — spec §4).
 *
 * No personal data beyond `psn_no` (needed to check a manual claim's payee): names and certno never
 * reach the matching core.
 */

/** An agency settlement record (2207/2304 setlinfo + the exchange's ext fields), latest state. */
export interface SettlementFact {
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  /** The insurer that owes `hifob_pay` (ext). */
  insurer_code: string;
  fixmedins_code: string;
  /** Pooling region: decides the finding's `admdvs` (spec §4). */
  insuplc_admdvs: string;
  setl_mode: 'direct' | 'manual';
  status: 'valid' | 'reversed';
  setl_time: Date;
  /** Month of `setl_time` in CST (spec §4), `yyyy-MM`. */
  period: Period;
  medfee_sumamt: Money;
  hifp_pay: Money;
  /** The large-expense fund's share: what the insurer owes. */
  hifob_pay: Money;
  hifmi_pay?: Money;
  cvlserv_pay?: Money;
  maf_pay?: Money;
  oth_pay?: Money;
  /** Loaded where a 3202 detail file is compared (spec §9); the loop rules do not need them. */
  fund_pay_sumamt?: Money;
  acct_pay?: Money;
  message_id: string;
  received_at: Date;
}

/** One line of an InsurerPayment, flattened with its payment's header fields. */
export interface PaymentLineFact {
  message_id: string;
  insurer_code: string;
  payment_id: string;
  /** 1-based position of the line within its payment. */
  line_no: number;
  payee_type: 'institution' | 'person';
  /** fixmedins_code (institution) or psn_no (person). */
  payee_id: string;
  pay_time: Date;
  setl_id: string;
  paid_amount: Money;
  rejected_amount: Money;
  reject_reason_code?: string;
  received_at: Date;
}

/** A recovery (追回) of an amount already paid for a settlement. */
export interface RecoveryFact {
  message_id: string;
  insurer_code: string;
  recovery_id: string;
  setl_id: string;
  amount: Money;
  recovered_at: Date;
  received_at: Date;
}

/** One item of a *current* settlement batch (not replaced by a later batch — the caller filters). */
export interface BatchItemFact {
  message_id: string;
  batch_id: string;
  fixmedins_code: string;
  insurer_code: string;
  period: Period;
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  setl_time: Date;
  medfee_sumamt: Money;
  hifob_pay: Money;
  /** Declared only by a 3202 detail file (spec §9), which has no hifob_pay column: compared when present on both sides. */
  fund_pay_sumamt?: Money;
  acct_pay?: Money;
  /** When the batch carrying this item was received. */
  received_at: Date;
}

/** Everything known about one settlement id (the "group" every returned finding belongs to). */
export interface SettlementInput {
  setl_id: string;
  settlement?: SettlementFact;
  /** All payment lines naming this setl_id, from any insurer. */
  lines: PaymentLineFact[];
  /** All recoveries naming this setl_id. */
  recoveries: RecoveryFact[];
  /** Items of current batches naming this setl_id (from any institution). */
  declaredItems: BatchItemFact[];
  /** A current batch of the settlement's (fixmedins_code, insurer_code, period) exists. */
  declarationReceived?: { batch_id: string; message_id: string; received_at: Date };
  /** Other settlements with the same mdtrt_id (any mode, any status). */
  sameMdtrt: SettlementFact[];
}

export interface EvaluationContext {
  /** The instant deadlines and grace periods are judged at; the rules never read the clock. */
  asOf: Date;
  params: LoopParams;
  calendar: WorkCalendar;
  /**
   * Region of a finding whose settlement is unknown (UNKNOWN_SETTLEMENT, DECLARED_NOT_RECORDED): asked
   * first; when it gives nothing, the county code inside an `H` + 6-digit fixmedins_code is used, and
   * failing that UNKNOWN_ADMDVS.
   */
  fallbackAdmdvs?: (ref: { insurer_code: string; fixmedins_code?: string }) => string | undefined;
  /** Per-code severity overrides (spec §4 gives defaults). */
  severities?: Partial<Record<FindingCode, Severity>>;
}
