/**
 * Insurers' payments, their lines and recoveries: the only module that writes `payments`,
 * `payment_lines` and `recoveries` (matching reads them through fact-loader.ts).
 */
import type { Db, Sql } from '../db/db';
import type { InsurerPayment, Recovery } from '../schemas/types';
import { STAMP, insertJsonRows, stampedJson, type Stamped } from './json-rows';
import { analyzeStale } from './table-statistics';

const PAYMENT_COLUMNS = {
  ...STAMP,
  insurer_code: 'text',
  payment_id: 'text',
  payee_type: 'text',
  payee_id: 'text',
  pay_time: 'timestamptz',
  bank_txn_no: 'text',
  pay_amount: 'numeric',
};
const LINE_COLUMNS = {
  insurer_code: 'text',
  payment_id: 'text',
  line_no: 'int',
  setl_id: 'text',
  paid_amount: 'numeric',
  rejected_amount: 'numeric',
  reject_reason_code: 'text',
  reject_reason: 'text',
};
const RECOVERY_COLUMNS = {
  ...STAMP,
  insurer_code: 'text',
  recovery_id: 'text',
  setl_id: 'text',
  amount: 'numeric',
  reason_code: 'text',
  reason: 'text',
  recovered_at: 'timestamptz',
};
const INSERT_PAYMENTS = `WITH p AS (${insertJsonRows('payments', PAYMENT_COLUMNS, 1)})
  ${insertJsonRows('payment_lines', LINE_COLUMNS, 2)}`;
const INSERT_RECOVERIES = insertJsonRows('recoveries', RECOVERY_COLUMNS, 1);

/**
 * Store accepted payments with their lines, one statement. line_no is the line's 0-based index in
 * `lines` (facts and subject keys use 1-based positions); a missing rejected_amount is 0.00.
 */
export async function insertPayments(q: Sql, payments: readonly Stamped<InsurerPayment>[]): Promise<void> {
  if (!payments.length) return;
  // Object.assign, not a spread with extra properties: V8's slow path there cost ~5% of the API's CPU (profiled).
  const lines = payments.flatMap(({ row: p }) =>
    p.lines.map((l, i) =>
      Object.assign({}, l, {
        rejected_amount: l.rejected_amount ?? '0.00',
        insurer_code: p.insurer_code,
        payment_id: p.payment_id,
        line_no: i,
      }),
    ),
  );
  await q.query(INSERT_PAYMENTS, [stampedJson(payments, () => ({ lines: undefined })), JSON.stringify(lines)]);
}

export async function insertRecoveries(q: Sql, recoveries: readonly Stamped<Recovery>[]): Promise<void> {
  if (!recoveries.length) return;
  await q.query(INSERT_RECOVERIES, [stampedJson(recoveries)]);
}

/** What an insurer has paid for a settlement (Σ paid_amount of its lines) and recovered (Σ recoveries), as numeric text. */
export async function paidAndRecovered(
  q: Sql,
  setlId: string,
  insurerCode: string,
): Promise<{ paid: string; recovered: string }> {
  const { rows } = await q.query<{ paid: string; recovered: string }>(
    `SELECT (SELECT coalesce(sum(paid_amount), 0) FROM payment_lines WHERE setl_id = $1 AND insurer_code = $2) AS paid,
            (SELECT coalesce(sum(amount), 0) FROM recoveries WHERE setl_id = $1 AND insurer_code = $2) AS recovered`,
    [setlId, insurerCode],
  );
  return rows[0]!;
}

/**
 * ANALYZE payments, payment_lines and recoveries when changed by more than max(1,000, their rows) since their
 * statistics (table-statistics.ts): the foreign-key check of every payment line (payment_lines →
 * payments) is a plan kept by each connection, and one made while payments was empty reads the table
 * sequentially — one scan per line, quadratic as payments fill a young database (bench/matching-latency.ts
 * full form: 117 s of PostgreSQL CPU for 20,000 payments, payments read 10,020 times for 10,000
 * lines); and matching's read of a chunk's lines by setl_id, planned without statistics of
 * payment_lines, read every line of every payment. Recoveries likewise: the fact loader's read of a
 * chunk's recoveries is a named statement (fact-loader.ts), whose plan a connection keeps until the
 * table's next statistics — one made while recoveries was empty probes it by a sequential scan per
 * settlement. PostgreSQL only; one at a time per table.
 */
export async function analyzePaymentsIfStale(db: Db): Promise<boolean> {
  return (await analyzeStale(db, ['payments', 'payment_lines', 'recoveries'])).length > 0;
}
