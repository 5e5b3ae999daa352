/**
 * CHAOS (issue 7 of 7 §1): a generated month of at least CHAOS_MESSAGES exchange messages (20,000 in
 * CI; `CHAOS_MESSAGES=200000 npm run test:chaos` for the long form) is sent through the API while
 * four worker processes (CHAOS_WORKERS; issue 15: N workers on one Redis and one PostgreSQL reach the
 * state one reaches) work it off side by side and are SIGKILLed and restarted at random moments, the test's own Redis is SIGKILLed
 * and restarted, and the test's own PostgreSQL server (initdb'd for this file: the shared one serves
 * other suites) is crashed — immediate shutdown, no checkpoint — and restarted with WAL recovery,
 * besides having every backend terminated (pg_terminate_backend). Clients retry a 5xx or a
 * broken connection with the same webhook-id, as real clients do. Afterwards, with everything
 * restarted, drained and swept at a fixed as_of, every settlement's loop state and every total
 * equals the ground truth computed by the pure evaluator from the generated facts: nothing lost,
 * nothing counted twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { OwnRedis } from '../support/own-redis';
import { OwnPostgres } from '../support/own-postgres';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Client } from 'pg';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { verifyAudit } from '../../src/audit/audit-trail';
import { prng } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import {
  AS_OF,
  STORY_END,
  actualLoops,
  chaosMonth,
  expectedCounts,
  expectedLoops,
  ledgerCounts,
  loopDifferences,
  totals,
  type ChaosMonth,
  type Doc,
} from './chaos-support';

const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? 20_000);
const LONG = MESSAGES >= 100_000;
const SEED = Number(process.env.CHAOS_SEED ?? 20250310);
const CONCURRENCY = 16;
const WORKERS = Number(process.env.CHAOS_WORKERS ?? 4);
const ROOT = path.resolve(__dirname, '..', '..');
const PORT = 17390 + (process.pid % 500);
const REDIS = `redis://127.0.0.1:${PORT}`;
const PG_PORT = 27390 + (process.pid % 500);
const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-chaos-redis-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestGateway;
/** Production's Redis persistence (docker-compose.yml): AOF, fsync every second — a SIGKILL may lose the last second. */
const redis = new OwnRedis(PORT, [
  '--dir',
  redisDir,
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--save',
  '',
  '--maxmemory-policy',
  'noeviction',
]);
const pg = new OwnPostgres(PG_PORT);
const workers: (ChildProcess | undefined)[] = Array.from({ length: WORKERS }, () => undefined);
const everyIndex = workers.map((_, i) => i);
const everyWorker: ChildProcess[] = [];
const log = {
  workerKills: 0,
  redisKills: 0,
  pgTerminations: 0,
  pgCrashes: 0,
  clientRetries: 0,
  startedAt: Date.now(),
  phases: {} as Record<string, number>,
};
let month: ChaosMonth;

function startWorker(i: number) {
  // node itself with tsx's loader, not the `tsx` wrapper: a SIGKILL to the wrapper would leave the
  // real worker running, orphaned (found by this test: it exhausted the database's connections).
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/all.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: t.dbUrl,
      REDIS_URL: REDIS,
      GATEWAY_QUEUE_PREFIX: t.cfg.queuePrefix,
      LOG_LEVEL: 'silent',
      GATEWAY_WORKER_CONCURRENCY: '8',
      GATEWAY_OUTBOX_POLL_MS: '200',
      GATEWAY_OUTBOX_REQUEUE_SECONDS: '5',
      GATEWAY_DB_POOL_SIZE: '6',
      GATEWAY_CLIENTS_FILE: '',
    },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  workers[i] = child;
  everyWorker.push(child);
}

async function killWorker(i: number, signal: NodeJS.Signals = 'SIGKILL') {
  const c = workers[i];
  workers[i] = undefined;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  const force = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}

async function terminateBackends() {
  const c = new Client({ connectionString: t.dbUrl });
  await c.connect();
  try {
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
  } finally {
    await c.end();
  }
}

/** Send one document until it is accepted; a 5xx, 429 or broken connection is retried with the same webhook-id. */
async function send(d: Doc): Promise<void> {
  const webhookId = `msg_${crypto.randomUUID()}`;
  for (let attempt = 1; attempt <= 60; attempt++) {
    try {
      const r = await t.post(d.path, d.body, d.as, { webhookId });
      if ((r.status === 202 || r.status === 200) && !(r.data?.rejected?.length > 0)) return;
      if (r.status < 500 && r.status !== 429)
        throw new Error(`${d.path} answered ${r.status}: ${JSON.stringify(r.data).slice(0, 400)}`);
    } catch (e) {
      if ((e as Error).message.includes(' answered ')) throw e;
    }
    log.clientRetries++;
    await sleep(Math.min(2_000, 50 * attempt));
  }
  throw new Error(`${d.path} not accepted after 60 attempts`);
}

async function sendAll(docs: Doc[], progress: { sent: number }) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < docs.length) {
        const d = docs[next++]!;
        await send(d);
        progress.sent++;
      }
    }),
  );
}

async function pending(): Promise<number> {
  // The database may be down for a moment (a crash in progress): ask again.
  for (let i = 0; ; i++) {
    try {
      return await countPending();
    } catch (e) {
      if (i >= 60) throw e;
      await sleep(1000);
    }
  }
}

async function countPending(): Promise<number> {
  const { rows } = await t.gw.db.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM messages WHERE status IN ('accepted','processing')) + (SELECT count(*) FROM outbox WHERE relayed_at IS NULL) AS n`,
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  await redis.start();
  await pg.init();
  t = await startTestGateway('chaos', {
    adminDbUrl: pg.url(),
    workers: false,
    env: {
      REDIS_URL: REDIS,
      GATEWAY_OUTBOX_POLL_MS: '100',
      GATEWAY_OUTBOX_REQUEUE_SECONDS: '5',
      GATEWAY_DB_POOL_SIZE: '8',
    },
  });
  month = chaosMonth(SEED, MESSAGES);
  for (const i of everyIndex) startWorker(i);
}, 120_000);

afterAll(async () => {
  await Promise.all(everyIndex.map((i) => killWorker(i, 'SIGTERM')));
  for (const c of everyWorker) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await t?.close().catch(() => undefined);
  await redis.kill();
  await pg.destroy();
  fs.rmSync(redisDir, { recursive: true, force: true });
  process.stderr.write(
    `chaos: ${JSON.stringify({ messages: month?.messages, workers: WORKERS, ...log, seconds: Math.round((Date.now() - log.startedAt) / 1000) })}\n`,
  );
});

describe(`a month of ${MESSAGES} messages under chaos`, () => {
  beforeAll(
    async () => {
      const rnd = prng(SEED ^ 0x5eed);
      const all = [...month.docs, ...month.recoveries];
      const progress = { sent: 0 };
      let chaosOn = true;
      // Redis is killed at these fractions of the messages sent; the database's backends are
      // terminated, or the server crashed and restarted, at these.
      const redisAt = LONG ? [0.15, 0.4, 0.65, 0.9] : [0.3, 0.75];
      const pgAt: [number, 'terminate' | 'crash'][] = LONG
        ? [
            [0.2, 'terminate'],
            [0.35, 'crash'],
            [0.55, 'terminate'],
            [0.7, 'crash'],
            [0.85, 'crash'],
          ]
        : [
            [0.4, 'terminate'],
            [0.6, 'crash'],
          ];
      let pgEvents = 0;
      const chaos = (async () => {
        for (let step = 0; chaosOn && step < 100_000; step++) {
          await sleep(300 + rnd() * 1500);
          if (!chaosOn) break;
          const done = progress.sent / all.length;
          if (log.redisKills < redisAt.length && done >= redisAt[log.redisKills]!) {
            await redis.kill();
            log.redisKills++;
            await sleep(500 + rnd() * 1500);
            await redis.start();
          } else if (pgEvents < pgAt.length && done >= pgAt[pgEvents]![0]) {
            if (pgAt[pgEvents]![1] === 'terminate') {
              await terminateBackends();
              log.pgTerminations++;
            } else {
              await pg.crash();
              log.pgCrashes++;
              await sleep(1000 + rnd() * 2000);
              await pg.start();
            }
            pgEvents++;
          } else {
            const i = Math.floor(rnd() * WORKERS);
            await killWorker(i);
            log.workerKills++;
            await sleep(100 + rnd() * 1000);
            startWorker(i);
          }
        }
      })();

      let t0 = Date.now();
      await sendAll(month.docs, progress);
      await sendAll(month.recoveries, progress);
      log.phases.sendSeconds = Math.round((Date.now() - t0) / 1000);
      // Keep killing workers while the backlog is worked off, until a third of it is left.
      const backlog = await pending();
      for (let i = 0; i < 600 && (await pending()) > backlog / 3; i++) await sleep(500);
      chaosOn = false;
      await chaos;

      // Everything back: Redis up, every worker running; drain, then sweep at a fixed as_of.
      t0 = Date.now();
      if (!redis.running) await redis.start();
      if (!pg.running) await pg.start();
      for (const i of everyIndex) if (!workers[i]) startWorker(i);
      await t.drain(LONG ? 3_600_000 : 900_000);
      log.phases.drainSeconds = Math.round((Date.now() - t0) / 1000);
      t0 = Date.now();
      await sweepRegionPeriod(t.gw, '5331', '2025-03', AS_OF);
      log.phases.sweepSeconds = Math.round((Date.now() - t0) / 1000);
    },
    LONG ? 4 * 3_600_000 : 1_500_000,
  );

  test('the chaos really happened: workers, Redis, the database server and its connections were killed mid-run', () => {
    expect(month.messages).toBeGreaterThanOrEqual(MESSAGES);
    expect(log.workerKills).toBeGreaterThan(0);
    expect(log.redisKills).toBeGreaterThan(0);
    expect(log.pgTerminations).toBeGreaterThan(0);
    expect(log.pgCrashes).toBeGreaterThan(0);
  });

  test('every accepted message was processed, none failed or is left behind', async () => {
    const { rows } = await t.gw.db.query<{ kind: string; status: string; errors: unknown }>(
      `SELECT kind, status, errors FROM messages WHERE status <> 'processed' LIMIT 5`,
    );
    expect(rows).toEqual([]);
    const outbox = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL');
    expect(outbox.rows[0]!.n).toBe('0');
  });

  test('every fact is in the ledger exactly once: nothing lost, nothing twice', async () => {
    expect(await ledgerCounts(t.gw.db)).toEqual(
      expectedCounts(month, month.docs.filter((d) => d.kind === 'batch').length),
    );
  });

  test('the premiums collected, and passed on by tax and the treasury, add up to the fen; no premium chain case is left open', async () => {
    const { rows } = await t.gw.db.query<{ collected: string; tax: string; treasury: string }>(
      `SELECT (SELECT coalesce(sum(amount), 0)::text FROM premium_collections) AS collected,
              (SELECT coalesce(sum(amount), 0)::text FROM fund_transfers WHERE from_account = 'tax') AS tax,
              (SELECT coalesce(sum(amount), 0)::text FROM fund_transfers WHERE from_account = 'treasury') AS treasury`,
    );
    expect(rows[0]).toEqual({
      collected: month.fund.premiums,
      tax: month.fund.premiums,
      treasury: month.fund.premiums,
    });
    const open = await t.gw.db.query(
      `SELECT code, subject_key FROM discrepancies WHERE status = 'open' AND code = ANY($1::text[])`,
      [['PREMIUM_TRANSFER_SHORT', 'TRANSFER_UNFUNDED', 'PREMIUM_RATE_MISMATCH']],
    );
    expect(open.rows).toEqual([]);
  });

  test("every settlement's loop state and amounts equal the ground truth to the fen", async () => {
    const expected = expectedLoops(month, t.gw);
    for (const { s, story } of month.settlements)
      expect([s.setl_id, expected.get(s.setl_id)!.status]).toEqual([s.setl_id, STORY_END[story]]);
    const diffs = loopDifferences(expected, await actualLoops(t.gw.db));
    expect(diffs.slice(0, 5)).toEqual([]);
  });

  test('every total per insurer and loop state equals the ground truth', async () => {
    const insurerOf = new Map(month.settlements.map(({ s }) => [s.setl_id, s.insurer_code]));
    expect(totals(await actualLoops(t.gw.db), insurerOf)).toEqual(totals(expectedLoops(month, t.gw), insurerOf));
  });

  test('the audit trail of every change made under chaos still verifies', async () => {
    const r = await verifyAudit(t.gw.db);
    expect(r.brokenAt).toBeUndefined();
    expect(r.checked).toBeGreaterThan(month.settlements.length);
  });
});
