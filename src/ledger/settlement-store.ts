/**
 * The agency's settlement records: the only module that writes `settlement_records` (the agency
 * feed and the agency pull store their checked records here; matching and the read models read them
 * through fact-loader.ts and the *-read-model.ts files).
 */
import type { Db, Sql } from '../db/db';
import { analyzeStale } from './table-statistics';

/**
 * The settlement_records columns each stored row carries, in payload order, with their SQL types
 * (the feed's prepared batches, ingest/feed-records.ts, are serialised in this order).
 */
export const SETTLEMENT_ROW_COLUMNS: readonly (readonly [string, string])[] = [
  ['setl_id', 'text'],
  ['status', 'text'],
  ['content_sha256', 'text'],
  ['record_index', 'int'],
  ['mdtrt_id', 'text'],
  ['psn_no', 'text'],
  ['psn_name', 'text'],
  ['certno', 'text'],
  ['insutype', 'text'],
  ['insuplc_admdvs', 'text'],
  ['mdtrtarea_admvs', 'text'],
  ['fixmedins_code', 'text'],
  ['med_type', 'text'],
  ['setl_time', 'timestamptz'],
  ['medfee_sumamt', 'numeric'],
  ['inscp_scp_amt', 'numeric'],
  ['hifp_pay', 'numeric'],
  ['hifob_pay', 'numeric'],
  ['hifmi_pay', 'numeric'],
  ['cvlserv_pay', 'numeric'],
  ['maf_pay', 'numeric'],
  ['oth_pay', 'numeric'],
  ['fund_pay_sumamt', 'numeric'],
  ['acct_pay', 'numeric'],
  ['psn_cash_pay', 'numeric'],
  ['setldetail', 'jsonb'],
  ['insurer_code', 'text'],
  ['setl_mode', 'text'],
  ['referral', 'boolean'],
];

/**
 * Rows of one chunk as one parameter: `text` — SETTLEMENT_ROW_COLUMNS' values joined by \x1f, rows by
 * \x1e, \x1d for NULL — or a JSON array of objects (for values that hold a separator).
 */
export interface SettlementRowsPayload {
  format: 'text' | 'json';
  payload: string;
}

const COLS = SETTLEMENT_ROW_COLUMNS.map(([c]) => c).join(', ');
// One parameter per chunk rather than 30 array parameters (node-pg would escape every array element
// in JavaScript). The text form is split by string_to_array and cast column by column; the JSON form
// (json, not jsonb: read once, it needs no binary tree) is for batches whose values hold a separator.
const FROM_TEXT = `(SELECT ${SETTLEMENT_ROW_COLUMNS.map(([c, t], i) => `a[${i + 1}]::${t} AS ${c}`).join(', ')}
  FROM unnest(string_to_array($1::text, E'\\x1e')) AS line, LATERAL string_to_array(line, E'\\x1f', E'\\x1d') AS a) AS x`;
const FROM_JSON = `json_to_recordset($1::json) AS x(${SETTLEMENT_ROW_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;
const insertSql = (from: string) => `INSERT INTO settlement_records (${COLS}, message_id, received_at, period)
  SELECT ${COLS}, $2::uuid, $3::timestamptz, to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')
  FROM ${from}
  -- A setl_id stored under another region is never added to (issue 13: a reversal or a second
  -- record claiming the sender's own region must not touch, or move, another region's record).
  -- OFFSET 0 keeps the check a probe of the primary key per row: pulled up into a join, it was
  -- planned as a hash anti join over a sequential scan of the whole table for every chunk (the
  -- feed's own rows included), so a feed cost more the more was stored (100k records into an
  -- empty table: 41.9 -> 25.8 µs of PostgreSQL a record, and flat instead of growing).
  WHERE NOT EXISTS (SELECT 1 FROM settlement_records e WHERE e.setl_id = x.setl_id AND e.insuplc_admdvs <> x.insuplc_admdvs OFFSET 0)
  ON CONFLICT (setl_id, status) DO NOTHING RETURNING record_index`;
const INSERT_SQL = { text: insertSql(FROM_TEXT), json: insertSql(FROM_JSON) };

/**
 * Store one chunk of checked records of a message (period: the month of setl_time in CST). A row whose
 * (setl_id, status) is stored already, or whose setl_id is stored under another region, is not
 * stored. Returns the record_index of each row stored.
 */
export async function insertSettlementRows(
  q: Sql,
  rows: SettlementRowsPayload,
  messageId: string,
  receivedAt: Date,
): Promise<number[]> {
  const ins = await q.query<{ record_index: number }>(INSERT_SQL[rows.format], [rows.payload, messageId, receivedAt]);
  return ins.rows.map((r) => Number(r.record_index));
}

/** What is stored of a settlement row: enough to tell a duplicate, a conflict and the region it belongs to. */
export interface StoredSettlementKey {
  setl_id: string;
  status: string;
  content_sha256: string;
  message_id: string;
  insuplc_admdvs: string;
}

/** The stored rows (valid and reversal) of these setl_ids. */
export async function storedSettlementKeys(q: Sql, setlIds: readonly string[]): Promise<StoredSettlementKey[]> {
  const { rows } = await q.query<StoredSettlementKey>(
    'SELECT setl_id, status, content_sha256, message_id, insuplc_admdvs FROM settlement_records WHERE setl_id = ANY($1::text[])',
    [setlIds],
  );
  return rows;
}

/**
 * Brings the planner's statistics of the tables a feed grows (settlement_records, settlement_loops)
 * up to date when many rows changed since their last ANALYZE: a bulk feed into a young table comes
 * before autovacuum does, and until then every per-chunk read of matching and of the benefit audit
 * is planned for the empty table it was — a sequential scan per chunk, so a 100k month cost
 * quadratically more (bench/month.ts). One cheap statistics read; ANALYZE (a sample) only when
 * stale: more rows changed since the last one than it counted (and 10,000), as a plan's shape
 * changes with the table's order of magnitude (was 20% more: a 100k month analysed
 * settlement_records a dozen times, each a sample of 30,000 wide rows). PostgreSQL only (the
 * embedded database keeps no such statistics).
 */
export async function analyzeIfStale(db: Db): Promise<string[]> {
  return analyzeStale(db, ['settlement_records', 'settlement_loops'], 10_000);
}
