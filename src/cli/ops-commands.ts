/**
 * Operator commands that work on the configured database directly: the audit-trail check, a
 * reconciliation run, and a settlement's benefit explanation. Each builds what it needs from the
 * same config every entry point uses, and closes it again.
 */
import type { Config } from '../config/config';
import { openDb } from '../db/db';
import { migrate } from '../db/migrate';
import { buildGateway } from '../composition-root';
import { createLogger } from '../logging/logger';
import { describeShard, verifyAudit } from '../audit/audit-trail';
import { explainSettlement } from '../benefits/benefit-view';
import { createRun } from '../reconciliation/run-store';
import { executeRun } from '../reconciliation/run-reconciliation';
import { runView, visibleRun } from '../reconciliation/run-view';
import { parseWireTime } from '../time';
import type { Io } from './output';

/** Exit code 1 when the hash chain is broken. */
export async function verifyAuditCommand(cfg: Config, io: Io): Promise<number> {
  const db = await openDb(cfg);
  try {
    await migrate(db);
    const r = await verifyAudit(db);
    if (r.brokenAt) {
      io.out(
        `audit trail BROKEN at event ${r.brokenAt}: ${r.reason} (chain of shard ${r.brokenShard}; ${r.checked} events before it verified)\n`,
      );
      return 1;
    }
    io.out(`audit trail intact: ${r.checked} events verified in ${r.shards.length} chains\n`);
    // Each chain's head: kept elsewhere (a ticket, a mail), it shows later whether a chain was cut back.
    for (const h of r.shards)
      io.out(
        `  shard ${h.shard} (${describeShard(h.shard)}): ${h.events} events, last ${h.lastSeq ?? '-'}, head ${h.lastHash}\n`,
      );
    return 0;
  } finally {
    await db.close();
  }
}

async function withGateway<T>(
  cfg: Config,
  fn: (gw: Awaited<ReturnType<typeof buildGateway>>) => Promise<T>,
): Promise<T> {
  // Log lines go to stderr at warn and above: stdout is the command's result.
  const gw = await buildGateway(cfg, {
    log: createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, process.stderr),
  });
  try {
    return await fn(gw);
  } finally {
    await gw.close();
  }
}

export async function explainCommand(cfg: Config, setlId: string, lang: 'zh-CN' | 'en', io: Io): Promise<number> {
  return withGateway(cfg, async (gw) => {
    const r = await explainSettlement({ db: gw.db, regions: gw.regions }, setlId, lang);
    if (!r) {
      io.err(lang === 'zh-CN' ? `没有结算 ${setlId}\n` : `no settlement ${setlId}\n`);
      return 1;
    }
    io.out(`${r.explanation}\n`);
    return 0;
  });
}

/** Runs the reconciliation in this process (not via the queue) and prints the run as the API shows it. */
export async function reconcileCommand(
  cfg: Config,
  o: { admdvs: string; period: string; asOf?: string },
  io: Io,
): Promise<number> {
  if (!/^\d{2,6}$/.test(o.admdvs)) {
    io.err('--admdvs must be a 2–6 digit admdvs prefix\n');
    return 2;
  }
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(o.period)) {
    io.err('--period must be yyyy-MM\n');
    return 2;
  }
  const asOf = o.asOf ? parseWireTime(o.asOf) : undefined;
  if (o.asOf && !asOf) {
    io.err('--as-of must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss\n');
    return 2;
  }
  return withGateway(cfg, async (gw) => {
    const { run } = await createRun(gw.db, {
      admdvs: o.admdvs,
      period: o.period,
      asOf: asOf ?? new Date(gw.now()),
      trigger: 'api',
      requestedBy: 'cli',
      at: new Date(gw.now()),
    });
    await executeRun(gw, run.run_id);
    const rep = await visibleRun(gw.db, run.run_id, {
      client_id: 'cli',
      role: 'ops',
      scope: [],
      signing_secrets: [],
      token_sha256: [],
    });
    io.out(`${JSON.stringify(runView(rep), null, 2)}\n`);
    return rep.run.status === 'failed' ? 1 : 0;
  });
}
