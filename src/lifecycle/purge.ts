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
 * loop states and the audit trail are never touched. Each table's owner deletes its own rows:
 * src/ingest/message-store.ts (purgeMessageLog), src/queue/outbox.ts (purgeRelayed) and
 * src/platform/file-store.ts (purgeExpiredFiles: 9101 / 3202 files past their dld_endtime).
 */
import type { Db } from '../db/db';
import { ensureBodyPartitions, purgeMessageLog } from '../ingest/message-store';
import { purgeRelayed } from '../queue/outbox';
import { purgeExpiredFiles } from '../platform/file-store';

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
  /** Platform files (9101 uploads, 3202 results) past their download deadline. */
  platformFiles: number;
  /** Partitions created ahead by this run (0 in a dry run). */
  partitionsCreated: number;
}

export async function purge(
  gw: { db: Db; cfg: { rawBodyRetentionDays: number; outboxRetentionDays: number } },
  o: { dryRun?: boolean; asOf?: Date } = {},
): Promise<PurgeReport> {
  return purgeDb(gw.db, {
    ...o,
    rawBodyRetentionDays: gw.cfg.rawBodyRetentionDays,
    outboxRetentionDays: gw.cfg.outboxRetentionDays,
  });
}

/** Each owner purges its own tables: the message log (raw bodies, webhook ids), then the outbox. */
export async function purgeDb(db: Db, o: PurgeOptions): Promise<PurgeReport> {
  const asOf = o.asOf ?? new Date();
  const dryRun = o.dryRun ?? false;
  const bodyCutoff = new Date(asOf.getTime() - o.rawBodyRetentionDays * DAY_MS);
  const webhookCutoff = new Date(asOf.getTime() - WEBHOOK_ID_WINDOW_MS);
  const outboxCutoff = new Date(asOf.getTime() - o.outboxRetentionDays * DAY_MS);
  const batches = { dryRun, batch: PURGE_BATCH, maxBatches: MAX_BATCHES };

  const partitionsCreated = dryRun ? 0 : await db.tx((q) => ensureBodyPartitions(q, asOf));
  const log = await purgeMessageLog(db, { ...batches, bodyCutoff, webhookCutoff });
  const outboxRows = await purgeRelayed(db, outboxCutoff, batches);
  const platformFiles = await purgeExpiredFiles(db, asOf, batches);
  return {
    dryRun,
    asOf: asOf.toISOString(),
    rawBodyCutoff: bodyCutoff.toISOString(),
    droppedPartitions: log.droppedPartitions,
    defaultPartitionRows: log.defaultPartitionRows,
    webhookIds: log.webhookIds,
    outboxRows,
    platformFiles,
    partitionsCreated,
  };
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
    `  platform files past their download deadline: ${r.platformFiles}`,
  ];
  if (!r.dryRun) lines.push(`  partitions created ahead: ${r.partitionsCreated}`);
  return `${lines.join('\n')}\n`;
}
