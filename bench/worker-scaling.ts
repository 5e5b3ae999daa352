/**
 * Worker processes side by side (issue 15, docs/SCALING.md): the chaos test's month (one region,
 * Dehong; feeds of 500 records, institutions' batches, single-line payments, recoveries) accepted
 * by an in-process API while no worker runs, then K worker processes (workers/all.ts, as the
 * deployment starts them, GATEWAY_WORKER_CONCURRENCY 8 each) started on one Redis and one
 * PostgreSQL and timed until every message is processed (process start-up included). Then the
 * month is swept at a fixed as_of and checked: every loop equal to the pure evaluator's ground
 * truth to the fen, the open cases per code the same for every K, the audit chains verified.
 * While the workers run, the database's backends are sampled every 100 ms: how many run a query,
 * and how many of those wait for the audit chain's lock or for another advisory lock (a
 * settlement group's), which says whether the chain lock is what more workers queue on.
 *
 * Not in `npm run bench` (the month benchmark of issue 15 is bench/month.ts's); run by hand:
 *   npx tsx bench/worker-scaling.ts [messages=6000] [workers=1,2,4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { verifyAudit } from '../src/audit/audit-trail';
import { sweepRegionPeriod } from '../src/matching/sweep';
import { AS_OF, actualLoops, chaosMonth, expectedLoops, loopDifferences, type Doc } from '../test/e2e/chaos-support';
import { startTestGateway, type TestGateway } from '../test/support/test-gateway';

const MESSAGES = Number(process.argv[2] ?? 6000);
const COUNTS = (process.argv[3] ?? '1,2,4').split(',').map(Number);
const ROOT = path.resolve(__dirname, '..');

async function sendAll(t: TestGateway, docs: Doc[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < docs.length) {
        const d = docs[next++]!;
        const r = await t.post(d.path, d.body, d.as, { webhookId: `msg_${crypto.randomUUID()}` });
        if (r.status !== 202 && r.status !== 200) throw new Error(`${d.path} answered ${r.status}`);
      }
    }),
  );
}

function startWorker(t: TestGateway): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/all.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: t.dbUrl,
      GATEWAY_QUEUE_PREFIX: t.cfg.queuePrefix,
      LOG_LEVEL: 'silent',
      GATEWAY_WORKER_CONCURRENCY: '8',
      GATEWAY_OUTBOX_POLL_MS: '200',
      GATEWAY_DB_POOL_SIZE: '6',
      GATEWAY_CLIENTS_FILE: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

interface Waits {
  samples: number;
  active: number;
  chainLock: number;
  otherAdvisory: number;
}

/** Sample the test database's backends until `stop` resolves. */
async function sampleWaits(t: TestGateway, done: { stop: boolean }): Promise<Waits> {
  const w: Waits = { samples: 0, active: 0, chainLock: 0, otherAdvisory: 0 };
  while (!done.stop) {
    const { rows } = await t.gw.db.query<{ active: string; chain: string; other: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid())::text AS active,
              (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = 7340114 AND objsubid = 2)::text AS chain,
              (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND NOT (classid = 7340114 AND objsubid = 2))::text AS other`,
    );
    w.samples++;
    w.active += Number(rows[0]!.active);
    w.chainLock += Number(rows[0]!.chain);
    w.otherAdvisory += Number(rows[0]!.other);
    await new Promise((r) => setTimeout(r, 100));
  }
  return w;
}

async function run(k: number): Promise<{
  workers: number;
  seconds: number;
  messagesPerSecond: number;
  busyBackends: number;
  waitingChain: number;
  waitingOther: number;
  cases: string;
  loopsOk: boolean;
  auditOk: boolean;
  chains: number;
}> {
  const t = await startTestGateway(`scaling${k}`, { workers: false });
  try {
    const month = chaosMonth(20250310, MESSAGES);
    await sendAll(t, month.docs);
    await sendAll(t, month.recoveries);
    const t0 = Date.now();
    const procs = Array.from({ length: k }, () => startWorker(t));
    const done = { stop: false };
    const sampling = sampleWaits(t, done);
    await t.drain(1_800_000);
    const seconds = (Date.now() - t0) / 1000;
    done.stop = true;
    const w = await sampling;
    const avg = (n: number) => Math.round((n / Math.max(1, w.samples)) * 100) / 100;
    await Promise.all(procs.map(stop));
    await sweepRegionPeriod(t.gw, '5331', '2025-03', AS_OF);
    const diffs = loopDifferences(expectedLoops(month, t.gw), await actualLoops(t.gw.db));
    const { rows } = await t.gw.db.query<{ code: string; n: string }>(
      `SELECT code, count(*)::text AS n FROM discrepancies WHERE status <> 'resolved' GROUP BY code ORDER BY code`,
    );
    const audit = await verifyAudit(t.gw.db);
    return {
      workers: k,
      seconds: Math.round(seconds * 10) / 10,
      messagesPerSecond: Math.round(month.messages / seconds),
      busyBackends: avg(w.active),
      waitingChain: avg(w.chainLock),
      waitingOther: avg(w.otherAdvisory),
      cases: rows.map((r) => `${r.code}=${r.n}`).join(' '),
      loopsOk: diffs.length === 0,
      auditOk: audit.brokenAt === undefined,
      chains: audit.shards.length,
    };
  } finally {
    await t.close();
  }
}

async function main() {
  process.stdout.write(
    `worker scaling: ${MESSAGES} messages, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (const k of COUNTS) {
    const r = await run(k);
    results.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  const same = results.every((r) => r.cases === results[0]!.cases && r.loopsOk && r.auditOk);
  process.stdout.write(`same final state for every worker count: ${same}\n`);
  process.exit(same ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
