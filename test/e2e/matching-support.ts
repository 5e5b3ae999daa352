/**
 * Helpers shared by the matching e2e tests: post messages through the HTTP API, apply them with the
 * real handlers (when the test runs without workers), and read back the state matching derives —
 * open discrepancies and loop rows — in a canonical order for comparisons.
 */
import type { Db } from '../../src/db/db';
import { processMessage } from '../../src/queue/ingest-worker';
import type { TestGateway } from '../support/test-gateway';
import type { MonthMessage } from '../support/month-generator';

/** Codes of the benefit auditor (another module, on another queue): not matching's to assert on. */
export const BENEFIT_CODES = ['BENEFIT_RULE_DEVIATION', 'ANNUAL_CAP_EXCEEDED'];

export interface OpenCase {
  code: string;
  subject_key: string;
  severity: string;
  status: string;
  admdvs: string;
  insurer_code: string;
  fixmedins_code: string | null;
  period: string;
  setl_id: string | null;
  expected_amount: string | null;
  actual_amount: string | null;
  difference: string | null;
}

export async function openCases(db: Db): Promise<OpenCase[]> {
  const { rows } = await db.query<OpenCase>(
    `SELECT code, subject_key, severity, status, admdvs, insurer_code, fixmedins_code, period, setl_id, expected_amount, actual_amount, difference
       FROM discrepancies WHERE status <> 'resolved' AND code <> ALL($1::text[]) ORDER BY code, subject_key`,
    [BENEFIT_CODES],
  );
  return rows;
}

export interface LoopRow {
  setl_id: string;
  status: string;
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  due_date: string;
  due_at: string;
  closed_at: string | null;
  admdvs: string;
  insurer_code: string;
  fixmedins_code: string;
  period: string;
}

export async function loopRows(db: Db): Promise<LoopRow[]> {
  const { rows } = await db.query<LoopRow>(
    `SELECT setl_id, status, owed, paid, rejected, recovered, outstanding, due_date::text AS due_date, due_at::text AS due_at, closed_at::text AS closed_at,
            admdvs, insurer_code, fixmedins_code, period
       FROM settlement_loops ORDER BY setl_id`,
  );
  return rows;
}

export async function loopOf(db: Db, setlId: string): Promise<LoopRow | undefined> {
  return (await loopRows(db)).find((r) => r.setl_id === setlId);
}

/** Empty the ledger and everything derived from it (one database, many runs). */
export async function truncateLedger(db: Db): Promise<void> {
  await db.exec(`TRUNCATE messages, webhook_ids, outbox, settlement_records, batch_items, batches, payment_lines, payments, recoveries,
    spending_plans, disbursements, discrepancies, case_attachments, audit_events, audit_heads, settlement_loops`);
}

/** Post one message; fails the test unless it is accepted. Returns its message id. */
export async function postAccepted(t: TestGateway, m: Pick<MonthMessage, 'path' | 'as' | 'body'>): Promise<string> {
  const res = await t.post(m.path, m.body, m.as);
  if (res.status !== 202 || (res.data.rejected?.length ?? 0) > 0) {
    throw new Error(`${m.path} answered ${res.status}: ${JSON.stringify(res.data).slice(0, 500)}`);
  }
  return res.data.message_id as string;
}

/** Post the messages in this order, applying each with the real handlers before the next arrives. */
export async function postAndApply(
  t: TestGateway,
  messages: readonly MonthMessage[],
  order: readonly number[],
): Promise<void> {
  for (const i of order) {
    const id = await postAccepted(t, messages[i]!);
    await processMessage(t.gw.db, t.gw.handlers, id, t.gw.log);
  }
}
