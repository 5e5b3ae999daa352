/**
 * The fund year's facts (spec §8): premium collections, transfers between the fund's accounts and
 * the insurers' cost reports — the only module that sends SQL to `premium_collections`,
 * `fund_transfers` and `insurer_cost_reports`. Inserts (one statement a group, in the ingest
 * transaction) and typed reads for the premium chain (src/fund/) and the fund-year statement.
 *
 * Reads take the two clocks of spec §5 where they matter: `asOf` (business time: rows dated after
 * it — collected_at, transferred_at, reported_at — do not count) and `knownAt` (knowledge cut-off:
 * rows received after it are left out). Amounts come back as two-decimal strings.
 */
import type { Sql } from '../db/db';
import type { FundAccount, InsurerCostReport, PremiumCollection, FundTransfer } from '../schemas/types';
import { STAMP, insertJsonRows, stampedJson, type Stamped } from './json-rows';

/** Who sent a region-scoped fund message: its client, role and scope as they were then. */
export interface SenderStamp {
  sender_client_id: string | null;
  sender_role: string | null;
  sender_scope: string[] | null;
}

export type PremiumCollectionRow = PremiumCollection & SenderStamp;
export type FundTransferRow = FundTransfer & SenderStamp;

const SENDER = { sender_client_id: 'text', sender_role: 'text', sender_scope: 'text[]' };
const COLLECTION_COLUMNS = {
  ...STAMP,
  collection_id: 'text',
  admdvs: 'text',
  fund_year: 'text',
  period: 'text',
  payer_type: 'text',
  insured_count: 'int',
  amount: 'numeric',
  late_fee: 'numeric',
  collected_at: 'timestamptz',
  ...SENDER,
};
const TRANSFER_COLUMNS = {
  ...STAMP,
  transfer_id: 'text',
  admdvs: 'text',
  fund_year: 'text',
  period: 'text',
  from_account: 'text',
  to_account: 'text',
  amount: 'numeric',
  transferred_at: 'timestamptz',
  bank_txn_no: 'text',
  ...SENDER,
};
const COST_REPORT_COLUMNS = {
  ...STAMP,
  insurer_code: 'text',
  admdvs: 'text',
  fund_year: 'text',
  revision: 'int',
  operating_cost: 'numeric',
  admin_cost: 'numeric',
  items: 'jsonb',
  reported_at: 'timestamptz',
};
const INSERT_COLLECTIONS = insertJsonRows('premium_collections', COLLECTION_COLUMNS, 1);
const INSERT_TRANSFERS = insertJsonRows('fund_transfers', TRANSFER_COLUMNS, 1);
const INSERT_COST_REPORTS = insertJsonRows('insurer_cost_reports', COST_REPORT_COLUMNS, 1);

export async function insertPremiumCollections(q: Sql, rows: readonly Stamped<PremiumCollectionRow>[]): Promise<void> {
  if (!rows.length) return;
  // late_fee defaults to 0 (spec §8), stored as such so sums need no COALESCE.
  await q.query(INSERT_COLLECTIONS, [stampedJson(rows, (r) => ({ late_fee: r.late_fee ?? '0.00' }))]);
}

export async function insertFundTransfers(q: Sql, rows: readonly Stamped<FundTransferRow>[]): Promise<void> {
  if (!rows.length) return;
  await q.query(INSERT_TRANSFERS, [stampedJson(rows)]);
}

export async function insertCostReports(q: Sql, rows: readonly Stamped<InsurerCostReport>[]): Promise<void> {
  if (!rows.length) return;
  await q.query(INSERT_COST_REPORTS, [stampedJson(rows)]);
}

// ---------------------------------------------------------------------------------------------
// Reads

export interface CollectionFact {
  collection_id: string;
  message_id: string;
  received_at: Date;
  admdvs: string;
  fund_year: string;
  period: string;
  payer_type: PremiumCollection['payer_type'];
  insured_count: number;
  amount: string;
  late_fee: string;
  collected_at: Date;
}

export interface TransferFact {
  transfer_id: string;
  message_id: string;
  received_at: Date;
  admdvs: string;
  fund_year: string;
  period: string;
  from_account: FundAccount;
  to_account: FundAccount;
  amount: string;
  transferred_at: Date;
  bank_txn_no: string | null;
}

export interface CostReportFact {
  insurer_code: string;
  admdvs: string;
  fund_year: string;
  revision: number;
  message_id: string;
  received_at: Date;
  operating_cost: string;
  admin_cost: string | null;
  items: { category: string; amount: string }[] | null;
  reported_at: Date;
}

/** Which fund facts to read: a region (exact admdvs list, or a prefix) and periods or a fund year. */
export interface FundFactFilter {
  /** Exact (admdvs, period) pairs (the premium chain on ingest). */
  pairs?: readonly { admdvs: string; period: string }[];
  /** An admdvs prefix (2–6 digits), with `fromPeriod`/`toPeriod` (inclusive) or `fundYear`. */
  admdvsPrefix?: string;
  fromPeriod?: string;
  toPeriod?: string;
  fundYear?: string;
  /** Business time: rows dated after it do not count. */
  asOf?: Date;
  /** Knowledge cut-off: rows received after it are left out. */
  knownAt?: Date;
}

/** The WHERE clause of a filter over a fund table; `dated` its business-time column. */
function where(f: FundFactFilter, dated: string, params: unknown[]): string {
  const conds: string[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.pairs)
    conds.push(
      `(admdvs, period) IN (SELECT a, b FROM unnest(${p(f.pairs.map((x) => x.admdvs))}::text[], ${p(f.pairs.map((x) => x.period))}::text[]) AS u(a, b))`,
    );
  if (f.admdvsPrefix !== undefined) conds.push(`admdvs LIKE ${p(`${f.admdvsPrefix}%`)}`);
  if (f.fromPeriod !== undefined) conds.push(`period >= ${p(f.fromPeriod)}`);
  if (f.toPeriod !== undefined) conds.push(`period <= ${p(f.toPeriod)}`);
  if (f.fundYear !== undefined) conds.push(`fund_year = ${p(f.fundYear)}`);
  if (f.asOf) conds.push(`${dated} <= ${p(f.asOf)}`);
  if (f.knownAt) conds.push(`received_at <= ${p(f.knownAt)}`);
  return conds.length ? conds.join(' AND ') : 'TRUE';
}

export async function loadCollections(q: Sql, f: FundFactFilter): Promise<CollectionFact[]> {
  if (f.pairs && !f.pairs.length) return [];
  const params: unknown[] = [];
  const { rows } = await q.query<CollectionFact>(
    `SELECT collection_id, message_id::text, received_at, admdvs, fund_year, period, payer_type, insured_count,
            amount::text AS amount, late_fee::text AS late_fee, collected_at
       FROM premium_collections WHERE ${where(f, 'collected_at', params)} ORDER BY admdvs, period, collection_id`,
    params,
  );
  return rows;
}

export async function loadTransfers(q: Sql, f: FundFactFilter): Promise<TransferFact[]> {
  if (f.pairs && !f.pairs.length) return [];
  const params: unknown[] = [];
  const { rows } = await q.query<TransferFact>(
    `SELECT transfer_id, message_id::text, received_at, admdvs, fund_year, period, from_account, to_account,
            amount::text AS amount, transferred_at, bank_txn_no
       FROM fund_transfers WHERE ${where(f, 'transferred_at', params)} ORDER BY admdvs, period, transferred_at, transfer_id`,
    params,
  );
  return rows;
}

/**
 * The latest revision of each (insurer_code, admdvs, fund_year) cost report within the clocks:
 * a later revision received after knownAt, or reported after asOf, is not yet the latest.
 */
export async function loadLatestCostReports(
  q: Sql,
  f: Pick<FundFactFilter, 'admdvsPrefix' | 'fundYear' | 'asOf' | 'knownAt'> & { insurerCodes?: readonly string[] },
): Promise<CostReportFact[]> {
  const params: unknown[] = [];
  let cond = where(f, 'reported_at', params);
  if (f.insurerCodes) {
    params.push(f.insurerCodes);
    cond += ` AND insurer_code = ANY($${params.length}::text[])`;
  }
  const { rows } = await q.query<CostReportFact>(
    `SELECT DISTINCT ON (insurer_code, admdvs, fund_year) insurer_code, admdvs, fund_year, revision, message_id::text, received_at,
            operating_cost::text AS operating_cost, admin_cost::text AS admin_cost,
            items, reported_at
       FROM insurer_cost_reports WHERE ${cond}
      ORDER BY insurer_code, admdvs, fund_year, revision DESC`,
    params,
  );
  return rows;
}

/** The (admdvs, period) pairs of the collections and transfers the messages brought (the premium chain to re-judge). */
export async function fundPairsOfMessages(
  q: Sql,
  messageIds: readonly string[],
): Promise<{ admdvs: string; period: string }[]> {
  if (!messageIds.length) return [];
  const { rows } = await q.query<{ admdvs: string; period: string }>(
    `SELECT DISTINCT admdvs, period FROM (
       SELECT admdvs, period FROM premium_collections WHERE message_id = ANY($1::uuid[])
       UNION ALL SELECT admdvs, period FROM fund_transfers WHERE message_id = ANY($1::uuid[])) x
      ORDER BY admdvs, period`,
    [messageIds],
  );
  return rows;
}
