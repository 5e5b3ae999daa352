/**
 * Reads behind GET /v1/settlements/{setl_id} (settlements/routes.ts): the agency record as stored
 * (both rows of a setl_id), the payment lines naming it with their payment's header, and its
 * recoveries. Lines and recoveries in wire form: amounts as strings, times in CST.
 */
import type { Sql } from '../db/db';
import { Money } from '../money';
import { toCstIso } from '../time';

export const RECORD_AMOUNTS = [
  'medfee_sumamt',
  'inscp_scp_amt',
  'hifp_pay',
  'hifob_pay',
  'hifmi_pay',
  'cvlserv_pay',
  'maf_pay',
  'oth_pay',
  'fund_pay_sumamt',
  'acct_pay',
  'psn_cash_pay',
] as const;
export const RECORD_FIELDS = [
  'setl_id',
  'mdtrt_id',
  'psn_no',
  'psn_name',
  'certno',
  'insutype',
  'insuplc_admdvs',
  'mdtrtarea_admvs',
  'fixmedins_code',
  'med_type',
  'setl_time',
  ...RECORD_AMOUNTS,
  'setldetail',
  'insurer_code',
  'setl_mode',
  'referral',
  'status',
  'period',
  'message_id',
  'received_at',
] as const;

export type RecordRow = Record<(typeof RECORD_FIELDS)[number], unknown> & {
  setl_id: string;
  status: 'valid' | 'reversed';
  insurer_code: string;
  fixmedins_code: string;
  insuplc_admdvs: string;
  psn_name: string | null;
  certno: string | null;
  message_id: string;
  received_at: Date;
};

/** Both rows of a setl_id (valid and reversal), the reversal first: it is the latest state. */
export async function loadRecordRows(q: Sql, setlId: string): Promise<RecordRow[]> {
  const { rows } = await q.query<RecordRow>(
    `SELECT ${RECORD_FIELDS.join(', ')} FROM settlement_records WHERE setl_id = $1 ORDER BY (status = 'reversed') DESC`,
    [setlId],
  );
  return rows;
}

interface PaymentLineRow {
  insurer_code: string;
  payment_id: string;
  line_no: number;
  message_id: string;
  received_at: Date;
  payee_type: string;
  payee_id: string;
  pay_time: Date;
  bank_txn_no: string;
  pay_amount: string;
  paid_amount: string;
  rejected_amount: string;
  reject_reason_code: string | null;
  reject_reason: string | null;
}

/** Lines naming the settlement, with their payment's header, in pay_time order; `insurers` limits them to those insurers. */
export async function loadPaymentLines(
  q: Sql,
  setlId: string,
  insurers?: string[],
): Promise<Record<string, unknown>[]> {
  const { rows } = await q.query<PaymentLineRow>(
    `SELECT p.insurer_code, p.payment_id, l.line_no, p.message_id, p.received_at, p.payee_type, p.payee_id, p.pay_time, p.bank_txn_no, p.pay_amount,
            l.paid_amount, l.rejected_amount, l.reject_reason_code, l.reject_reason
       FROM payment_lines l JOIN payments p USING (insurer_code, payment_id)
      WHERE l.setl_id = $1 AND ($2::text[] IS NULL OR p.insurer_code = ANY($2::text[]))
      ORDER BY p.pay_time, p.payment_id, l.line_no`,
    [setlId, insurers ?? null],
  );
  return rows.map((r) => ({
    insurer_code: r.insurer_code,
    payment_id: r.payment_id,
    line_no: Number(r.line_no) + 1,
    message_id: r.message_id,
    payee_type: r.payee_type,
    payee_id: r.payee_id,
    pay_time: toCstIso(r.pay_time),
    bank_txn_no: r.bank_txn_no,
    pay_amount: Money.of(r.pay_amount).toString(),
    paid_amount: Money.of(r.paid_amount).toString(),
    rejected_amount: Money.of(r.rejected_amount).toString(),
    ...(r.reject_reason_code ? { reject_reason_code: r.reject_reason_code } : {}),
    ...(r.reject_reason ? { reject_reason: r.reject_reason } : {}),
    received_at: toCstIso(r.received_at),
  }));
}

/** Recoveries naming the settlement, in recovered_at order; `insurers` limits them to those insurers. */
export async function loadRecoveryViews(
  q: Sql,
  setlId: string,
  insurers?: string[],
): Promise<Record<string, unknown>[]> {
  const { rows } = await q.query<{
    insurer_code: string;
    recovery_id: string;
    message_id: string;
    amount: string;
    reason_code: string;
    reason: string | null;
    recovered_at: Date;
  }>(
    `SELECT insurer_code, recovery_id, message_id, amount, reason_code, reason, recovered_at FROM recoveries
      WHERE setl_id = $1 AND ($2::text[] IS NULL OR insurer_code = ANY($2::text[])) ORDER BY recovered_at, insurer_code, recovery_id`,
    [setlId, insurers ?? null],
  );
  return rows.map((r) => ({
    insurer_code: r.insurer_code,
    recovery_id: r.recovery_id,
    message_id: r.message_id,
    amount: Money.of(r.amount).toString(),
    reason_code: r.reason_code,
    ...(r.reason ? { reason: r.reason } : {}),
    recovered_at: toCstIso(r.recovered_at),
  }));
}

/** Who and what a person's settlement rows name: for scoping a person-year case's evidence per reader. */
export interface PersonSettlementRef {
  psn_no: string;
  setl_id: string;
  message_id: string;
  insurer_code: string;
  fixmedins_code: string;
}

/** Every stored row (valid and reversal) of these people's settlements. */
export async function loadPersonSettlementRefs(q: Sql, psnNos: readonly string[]): Promise<PersonSettlementRef[]> {
  if (!psnNos.length) return [];
  const { rows } = await q.query<PersonSettlementRef>(
    'SELECT psn_no, setl_id, message_id, insurer_code, fixmedins_code FROM settlement_records WHERE psn_no = ANY($1::text[])',
    [psnNos],
  );
  return rows;
}
