/**
 * The institutions' declarations: the only module that sends SQL to `batches` and `batch_items`
 * (the matching facts of current batches are read by fact-loader.ts).
 */
import type { Db, Sql } from '../db/db';
import type { SettlementBatch } from '../schemas/types';
import { CURRENT_BATCH } from './fact-loader';
import { STAMP, insertJsonRows, stampedJson, type Stamped } from './json-rows';
import { analyzeStale } from './table-statistics';

const BATCH_COLUMNS = {
  ...STAMP,
  batch_id: 'text',
  fixmedins_code: 'text',
  insurer_code: 'text',
  period: 'text',
  setl_cnt: 'int',
  medfee_sumamt: 'numeric',
  hifob_pay_sumamt: 'numeric',
  replaces_batch_id: 'text',
};
const ITEM_COLUMNS = {
  fixmedins_code: 'text',
  batch_id: 'text',
  item_index: 'int',
  setl_id: 'text',
  mdtrt_id: 'text',
  psn_no: 'text',
  setl_time: 'timestamptz',
  medfee_sumamt: 'numeric',
  hifob_pay: 'numeric',
};
const INSERT_BATCHES = `WITH b AS (${insertJsonRows('batches', BATCH_COLUMNS, 1)})
  ${insertJsonRows('batch_items', ITEM_COLUMNS, 2)}`;

/** Store accepted batches with their items (item_index: the item's position in `items`), one statement. */
export async function insertBatches(q: Sql, batches: readonly Stamped<SettlementBatch>[]): Promise<void> {
  if (!batches.length) return;
  const items = batches.flatMap(({ row: b }) =>
    b.items.map((it, i) =>
      Object.assign({}, it, { fixmedins_code: b.fixmedins_code, batch_id: b.batch_id, item_index: i }),
    ),
  );
  await q.query(INSERT_BATCHES, [stampedJson(batches, () => ({ items: undefined })), JSON.stringify(items)]);
}

/** Whether the institution has declared a batch with this id (batch ids are per institution, issue 13). */
export async function batchExists(q: Sql, fixmedinsCode: string, batchId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM batches WHERE fixmedins_code = $1 AND batch_id = $2', [
    fixmedinsCode,
    batchId,
  ]);
  return rows.length > 0;
}

/** An institution-period: (fixmedins_code, insurer_code, period). */
export interface InstitutionPeriod {
  fixmedins_code: string;
  insurer_code: string;
  period: string;
}

/**
 * What DECLARATION_MISSING needs of one institution-period to know whether it has a finding. How many
 * settlements are owed is only in the finding's text: countOwedDirect, for the keys that have one.
 */
export interface DeclarationFacts extends InstitutionPeriod {
  /** Whether it owes a direct settlement: valid, direct, hifob_pay > 0, and not reversed (a reversal is final). */
  owesDirect: boolean;
  /** The smallest insuplc_admdvs of the period's settlements, null when it has none. */
  admdvs: string | null;
  /** When the earliest current batch of the period arrived, null when none is current. */
  batchReceivedAt: Date | null;
}

const KEYS = `unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(f, i, p, n)`;
const keyParams = (keys: readonly InstitutionPeriod[]) => [
  keys.map((k) => k.fixmedins_code),
  keys.map((k) => k.insurer_code),
  keys.map((k) => k.period),
];
/** Settlement `s` of key `k` is owed directly: valid, direct, hifob_pay > 0, and not reversed. */
const OWED_DIRECT = `s.fixmedins_code = k.f AND s.insurer_code = k.i AND s.period = k.p AND s.status = 'valid' AND s.setl_mode = 'direct'
            AND s.hifob_pay > 0 AND NOT EXISTS (SELECT 1 FROM settlement_records r WHERE r.setl_id = s.setl_id AND r.status = 'reversed')`;

/**
 * DeclarationFacts of each key, in the order of `keys`: one query of probes — the first owed
 * settlement, the first entry of the institution-period's index (migration 190), the current batches —
 * where counting read every settlement of the institution-period, for every feed part and batch
 * naming it (O(settlements × parts)).
 */
export async function loadDeclarationFacts(q: Sql, keys: readonly InstitutionPeriod[]): Promise<DeclarationFacts[]> {
  if (!keys.length) return [];
  const { rows } = await q.query<{
    f: string;
    i: string;
    p: string;
    owes: boolean;
    admdvs: string | null;
    batch_received_at: Date | null;
  }>(
    `SELECT k.f, k.i, k.p,
        EXISTS (SELECT 1 FROM settlement_records s WHERE ${OWED_DIRECT}) AS owes,
        (SELECT min(s.insuplc_admdvs) FROM settlement_records s WHERE s.fixmedins_code = k.f AND s.insurer_code = k.i AND s.period = k.p) AS admdvs,
        (SELECT min(b.received_at) FROM batches b WHERE b.fixmedins_code = k.f AND b.insurer_code = k.i AND b.period = k.p AND ${CURRENT_BATCH}) AS batch_received_at
       FROM ${KEYS} ORDER BY k.n`,
    keyParams(keys),
  );
  return rows.map((r) => ({
    fixmedins_code: r.f,
    insurer_code: r.i,
    period: r.p,
    owesDirect: r.owes,
    admdvs: r.admdvs,
    batchReceivedAt: r.batch_received_at,
  }));
}

/** How many direct settlements each key owes (as OWED_DIRECT), in the order of `keys`. */
export async function countOwedDirect(q: Sql, keys: readonly InstitutionPeriod[]): Promise<number[]> {
  if (!keys.length) return [];
  const { rows } = await q.query<{ owed: string }>(
    `SELECT (SELECT count(*) FROM settlement_records s WHERE ${OWED_DIRECT}) AS owed FROM ${KEYS} ORDER BY k.n`,
    keyParams(keys),
  );
  return rows.map((r) => Number(r.owed));
}

/**
 * ANALYZE batches and batch_items when changed by more than max(1,000, their rows) since their
 * statistics (table-statistics.ts): matching reads a chunk's items by setl_id, which planned without
 * statistics read every item of every current batch per chunk. PostgreSQL only; one at a time per table.
 */
export async function analyzeBatchesIfStale(db: Db): Promise<boolean> {
  return (await analyzeStale(db, ['batches', 'batch_items'])).length > 0;
}
