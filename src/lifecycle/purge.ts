/**
 * `gateway purge` (issue 7 of 7 §5): removes what has outlived its retention, never the ledger.
 *
 * - Raw message bodies older than GATEWAY_RAW_BODY_RETENTION_DAYS: whole monthly partitions of
 *   `message_bodies` whose upper bound is before the cutoff are DETACHed and DROPped (no long DELETE
 *   blocking live traffic); the few expired rows of the default partition go in small batches.
 * - webhook ids older than 24 h (replay protection needs no more) and outbox rows relayed more than
 *   GATEWAY_OUTBOX_RETENTION_DAYS ago: deleted in small batches, each its own short statement.
 *
 * `dryRun` reports exactly what would go and changes nothing. Settlements, payments, discrepancies,
 * loop states and the audit trail are never touched.
 */
import type { Db } from '../db/db';
import { ensureBodyPartitions, listBodyPartitions } from './partitions';

export const PURGE_BATCH = 5_000;
/** A bound on batches per table per run, so one purge never runs unbounded (the next run continues). */
export const MAX_BATCHES = 10_000;
const WEBHOOK_ID_WINDOW_MS = 24 * 3_600_000;
const DAY_MS = 86_400_000;

export interface PurgeOptions {
  dryRun?: boolean;
  /** The instant retention is judged at (default now). */
  asOf?: Date;
  rawBodyRetentionDays: number;
  outboxRetentionDays: number;
}

export interface PurgeReport {
  dryRun: boolean;
  asOf: string;
  rawBodyCutoff: string;
  /** Monthly partitions of message_bodies dropped (or that would be), with their row counts. */
  droppedPartitions: { name: string; from: string; to: string; rows: number }[];
  /** Expired raw bodies removed from the default partition. */
  defaultPartitionRows: number;
  webhookIds: number;
  outboxRows: number;
  /** Partitions created ahead by this run (0 in a dry run). */
  partitionsCreated: number;
}

export async function purge(gw: { db: Db; cfg: { rawBodyRetentionDays: number; outboxRetentionDays: number } }, o: { dryRun?: boolean; asOf?: Date } = {}): Promise<PurgeReport> {
  return purgeDb(gw.db, { ...o, rawBodyRetentionDays: gw.cfg.rawBodyRetentionDays, outboxRetentionDays: gw.cfg.outboxRetentionDays });
}

export async function purgeDb(db: Db, o: PurgeOptions): Promise<PurgeReport> {
  const asOf = o.asOf ?? new Date();
  const dryRun = o.dryRun ?? false;
  const bodyCutoff = new Date(asOf.getTime() - o.rawBodyRetentionDays * DAY_MS);
  const webhookCutoff = new Date(asOf.getTime() - WEBHOOK_ID_WINDOW_MS);
  const outboxCutoff = new Date(asOf.getTime() - o.outboxRetentionDays * DAY_MS);
  const report: PurgeReport = {
    dryRun, asOf: asOf.toISOString(), rawBodyCutoff: bodyCutoff.toISOString(),
    droppedPartitions: [], defaultPartitionRows: 0, webhookIds: 0, outboxRows: 0, partitionsCreated: 0,
  };

  if (!dryRun) report.partitionsCreated = await db.tx((q) => ensureBodyPartitions(q, asOf));

  for (const p of await listBodyPartitions(db)) {
    if (p.to.getTime() > bodyCutoff.getTime()) continue;
    const n = await count(db, `SELECT count(*) AS n FROM ${ident(p.name)}`);
    report.droppedPartitions.push({ name: p.name, from: p.from.toISOString(), to: p.to.toISOString(), rows: n });
    if (!dryRun) {
      await db.tx(async (q) => {
        await q.query(`ALTER TABLE message_bodies DETACH PARTITION ${ident(p.name)}`);
        await q.query(`DROP TABLE ${ident(p.name)}`);
      });
    }
  }

  if (dryRun) {
    report.defaultPartitionRows = await count(db, 'SELECT count(*) AS n FROM message_bodies_default WHERE received_at < $1', [bodyCutoff]);
    report.webhookIds = await count(db, 'SELECT count(*) AS n FROM webhook_ids WHERE seen_at < $1', [webhookCutoff]);
    report.outboxRows = await count(db, 'SELECT count(*) AS n FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < $1', [outboxCutoff]);
    return report;
  }
  report.defaultPartitionRows = await inBatches(db,
    `DELETE FROM message_bodies_default WHERE (message_id, received_at) IN (SELECT message_id, received_at FROM message_bodies_default WHERE received_at < $1 LIMIT ${PURGE_BATCH})`, [bodyCutoff]);
  report.webhookIds = await inBatches(db,
    `DELETE FROM webhook_ids WHERE (client_id, webhook_id) IN (SELECT client_id, webhook_id FROM webhook_ids WHERE seen_at < $1 LIMIT ${PURGE_BATCH})`, [webhookCutoff]);
  report.outboxRows = await inBatches(db,
    `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < $1 LIMIT ${PURGE_BATCH})`, [outboxCutoff]);
  return report;
}

async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

/** Repeat a bounded DELETE until it removes fewer than a batch (each batch its own short statement). */
async function inBatches(db: Db, sql: string, params: unknown[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const r = await db.query(sql, params);
    total += r.rowCount;
    if (r.rowCount < PURGE_BATCH) break;
  }
  return total;
}

/** Partition names come from the catalog and match message_bodies_yYYYYmMM; quote them anyway. */
function ident(name: string): string {
  if (!/^message_bodies_y\d{4}m\d{2}$/.test(name)) throw new Error(`unexpected partition name ${name}`);
  return `"${name}"`;
}

/** One line per item, for the CLI. */
export function formatPurgeReport(r: PurgeReport): string {
  const verb = r.dryRun ? 'would drop' : 'dropped';
  const lines = [
    `${r.dryRun ? 'DRY RUN — nothing changed. ' : ''}purge as of ${r.asOf} (raw bodies received before ${r.rawBodyCutoff})`,
    ...r.droppedPartitions.map((p) => `  ${verb} partition ${p.name} [${p.from}, ${p.to}): ${p.rows} raw bodies`),
    `  raw bodies in the default partition: ${r.defaultPartitionRows}`,
    `  webhook ids older than 24 h: ${r.webhookIds}`,
    `  relayed outbox rows: ${r.outboxRows}`,
  ];
  if (!r.dryRun) lines.push(`  partitions created ahead: ${r.partitionsCreated}`);
  return `${lines.join('\n')}\n`;
}
