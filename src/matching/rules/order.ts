import type { Money } from '../../money';
import type { BatchItemFact, PaymentLineFact, RecoveryFact, SettlementFact } from './facts';
import type { Finding } from '../finding';
import { cmpStr } from '../finding';

/**
 * Canonical orders of the facts. A finding must be a function of the fact SET, never of the order the
 * facts arrived in (or were loaded in), so every rule sorts its inputs with these total orders first.
 * Lines go in pay_time order, ties by payment_id, line_no (spec §4: a settlement is closed at the
 * pay_time of the payment that closes it); the remaining keys only break ties between facts that
 * ingest would never store twice, so that even then the result does not depend on input order.
 */
type Cmp<T> = (a: T, b: T) => number;

const time = (a: Date, b: Date): number => a.getTime() - b.getTime();
const money = (a: Money, b: Money): number => a.cmp(b);
const optStr = (a: string | undefined, b: string | undefined): number =>
  cmpStr(a ?? '', b ?? '') || Number(a !== undefined) - Number(b !== undefined);

function chain<T>(...cmps: Cmp<T>[]): Cmp<T> {
  return (a, b) => {
    for (const c of cmps) {
      const r = c(a, b);
      if (r !== 0) return r;
    }
    return 0;
  };
}

export const compareLines: Cmp<PaymentLineFact> = chain(
  (a, b) => time(a.pay_time, b.pay_time),
  (a, b) => cmpStr(a.payment_id, b.payment_id),
  (a, b) => a.line_no - b.line_no,
  (a, b) => cmpStr(a.insurer_code, b.insurer_code),
  (a, b) => cmpStr(a.setl_id, b.setl_id),
  (a, b) => cmpStr(a.payee_type, b.payee_type),
  (a, b) => cmpStr(a.payee_id, b.payee_id),
  (a, b) => money(a.paid_amount, b.paid_amount),
  (a, b) => money(a.rejected_amount, b.rejected_amount),
  (a, b) => optStr(a.reject_reason_code, b.reject_reason_code),
  (a, b) => cmpStr(a.message_id, b.message_id),
  (a, b) => time(a.received_at, b.received_at),
);

export const compareRecoveries: Cmp<RecoveryFact> = chain(
  (a, b) => time(a.recovered_at, b.recovered_at),
  (a, b) => cmpStr(a.insurer_code, b.insurer_code),
  (a, b) => cmpStr(a.recovery_id, b.recovery_id),
  (a, b) => money(a.amount, b.amount),
  (a, b) => cmpStr(a.message_id, b.message_id),
  (a, b) => time(a.received_at, b.received_at),
);

export const compareItems: Cmp<BatchItemFact> = chain(
  (a, b) => cmpStr(a.fixmedins_code, b.fixmedins_code),
  (a, b) => cmpStr(a.insurer_code, b.insurer_code),
  (a, b) => cmpStr(a.period, b.period),
  (a, b) => cmpStr(a.batch_id, b.batch_id),
  (a, b) => cmpStr(a.setl_id, b.setl_id),
  (a, b) => money(a.hifob_pay, b.hifob_pay),
  (a, b) => money(a.medfee_sumamt, b.medfee_sumamt),
  (a, b) => cmpStr(a.message_id, b.message_id),
  (a, b) => time(a.received_at, b.received_at),
);

export const compareSettlements: Cmp<SettlementFact> = chain(
  (a, b) => cmpStr(a.setl_id, b.setl_id),
  (a, b) => cmpStr(a.message_id, b.message_id),
  (a, b) => cmpStr(a.status, b.status),
  (a, b) => cmpStr(a.setl_mode, b.setl_mode),
  (a, b) => money(a.hifob_pay, b.hifob_pay),
  (a, b) => money(a.medfee_sumamt, b.medfee_sumamt),
  (a, b) => cmpStr(a.insurer_code, b.insurer_code),
  (a, b) => cmpStr(a.fixmedins_code, b.fixmedins_code),
);

/** Findings in (code, subject_key) order: the order a caller diffing the open set sees. */
export const compareFindings: Cmp<Finding> = chain(
  (a, b) => cmpStr(a.code, b.code),
  (a, b) => cmpStr(a.subject_key, b.subject_key),
);

export function sorted<T>(xs: readonly T[], cmp: Cmp<T>): T[] {
  return [...xs].sort(cmp);
}
