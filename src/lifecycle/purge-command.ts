/** `gateway purge [--dry-run] [--as-of <iso>]`: the purge on the configured database, its report on stdout. */
import type { Config } from '../config/config';
import { openDb } from '../db/db';
import { migrate } from '../db/migrate';
import { formatPurgeReport, purgeDb } from './purge';

export interface PurgeIo {
  out(text: string): void;
  err(text: string): void;
}

export async function purgeCommand(cfg: Config, o: { dryRun?: boolean; asOf?: string }, io: PurgeIo): Promise<number> {
  const asOf = o.asOf ? new Date(o.asOf) : new Date();
  if (Number.isNaN(asOf.getTime())) {
    io.err('--as-of must be an ISO 8601 time\n');
    return 2;
  }
  const db = await openDb(cfg);
  try {
    await migrate(db);
    const r = await purgeDb(db, {
      dryRun: o.dryRun ?? false,
      asOf,
      rawBodyRetentionDays: cfg.rawBodyRetentionDays,
      outboxRetentionDays: cfg.outboxRetentionDays,
    });
    io.out(formatPurgeReport(r));
    return 0;
  } finally {
    await db.close();
  }
}
