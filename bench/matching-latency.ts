/**
 * Benchmark 4 — matching latency: the gateway as docker-compose deploys it — an API process
 * (`src/main.ts --role=api`) and a worker process (`workers/all.ts`) —, settlements pre-loaded, then signed insurer payments (5 settlements each, pre-signed) at a steady
 * 1,000/s for 20 s (quick: 5 s), open-loop: payment i is sent at i ms whatever the answers before it
 * did (lib/open-loop.ts; until the eighth pass autocannon's closed loop, which sends less when answers slow). Latency per message = messages.processed_at (set after the loop
 * states of its settlements are upserted and its discrepancies synced) − messages.received_at (the
 * receipt, just before the 202), read from the database after the backlog drains. Target p99 ≤ 500 ms (issue 15).
 * Baseline: the bare queue round trip on the same machine — a BullMQ job added at the same rate,
 * picked up by a worker that inserts one row into PostgreSQL — timed the same way.
 */
import fs from 'node:fs';
import { Client, Pool } from 'pg';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import IORedis from 'ioredis';
import { sign } from '../src/http/signature';
import { queueKeyPrefix } from '../src/config/config';
import {
  BENCH_CLIENT,
  QUICK,
  clearPrefix,
  clientsFile,
  dropDatabase,
  freshDatabase,
  line,
  startNode,
  startWorkerNode,
  withRssPeak,
  REDIS_URL,
} from './lib/harness';
import { openLoop, type OpenLoopResult } from './lib/open-loop';

const RATE = 1000;
const DURATION = QUICK ? 5 : 20;
const LINES = 5;
const PAYMENTS = RATE * DURATION;
/** Connections the open-loop load may use at once (rate × a quarter second of answers in flight). */
const CONNECTIONS = 256;
/**
 * Payments sent first, at WARM_RATE, and left out of every figure: fresh processes take seconds to
 * reach full speed (V8 compiling the hot paths while both cores are busy; RESULTS.md, seventh pass),
 * and a deployment under a steady 1,000/s is warm. Their settlements are their own.
 */
const WARM = QUICK ? 2_000 : 5_000;
const WARM_RATE = 500;

/** The month before this one (China Standard Time), the period the settlements belong to, and now as a wire time. */
const CST = 8 * 3600_000;
const cstNow = new Date(Date.now() + CST);
const prev = new Date(Date.UTC(cstNow.getUTCFullYear(), cstNow.getUTCMonth() - 1, 1));
const PERIOD = `${prev.getUTCFullYear()}-${String(prev.getUTCMonth() + 1).padStart(2, '0')}`;
const PAY_TIME = `${new Date(Date.now() - 60_000 + CST).toISOString().slice(0, 19)}+08:00`;

function paymentBody(i: number): string {
  const lines = Array.from({ length: LINES }, (_, k) => ({ setl_id: `L${i * LINES + k}`, paid_amount: '100.00' }));
  return JSON.stringify({
    insurer_code: 'PICC_DH',
    payment_id: `LP${i}`,
    payee_type: 'institution',
    payee_id: `H5331020${String(i % 50).padStart(4, '0')}`,
    pay_time: PAY_TIME,
    bank_txn_no: `LBK${i}`,
    pay_amount: `${100 * LINES}.00`,
    lines,
  });
}

/** Waits until no payment is unprocessed, at most 5 minutes. */
async function drained(c: Client): Promise<void> {
  for (let k = 0; k < 3000; k++) {
    const { rows } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM messages WHERE kind = 'insurer_payment' AND status NOT IN ('processed','failed')`,
    );
    if (Number(rows[0]!.n) === 0) return;
    await new Promise((rr) => setTimeout(rr, 100));
  }
}

/** CPU seconds (user + system, all threads) of a local process; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the API process, the worker process and the database's PostgreSQL backends during
 * the load and the drain (sampled every 250 ms: the machine is shared, so CPU says what the work
 * cost whatever the wall clock says), and what the backends were waiting on (pg_stat_activity).
 */
class Meter {
  private readonly seen = new Map<string, number>();
  private readonly base = new Map<string, number>();
  readonly waits = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly c: Client,
    private readonly procs: Record<string, number | undefined>,
  ) {}
  private async sample(): Promise<void> {
    for (const [k, pid] of Object.entries(this.procs)) this.seen.set(k, cpuSeconds(pid));
    const { rows } = await this.c.query<{ pid: number; state: string; w: string | null; q: string }>(
      `SELECT pid, state, wait_event_type || ':' || wait_event AS w, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    for (const r of rows) {
      this.seen.set(`pg${r.pid}`, Math.max(this.seen.get(`pg${r.pid}`) ?? 0, cpuSeconds(r.pid)));
      if (r.state === 'active') {
        const key = `${r.w ?? 'CPU'} | ${r.q}`;
        this.waits.set(key, (this.waits.get(key) ?? 0) + 1);
      } else if (r.state === 'idle in transaction')
        this.waits.set('idle in transaction', (this.waits.get('idle in transaction') ?? 0) + 1);
    }
  }
  async start(): Promise<void> {
    await this.sample();
    for (const [k, v] of this.seen) this.base.set(k, v);
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 250);
  }
  async stop(): Promise<string> {
    clearInterval(this.timer);
    await this.sample().catch(() => undefined);
    const d = (k: string) => (this.seen.get(k) ?? 0) - (this.base.get(k) ?? 0);
    let pg = 0;
    for (const k of this.seen.keys()) if (k.startsWith('pg')) pg += d(k);
    return `${Object.keys(this.procs)
      .map((k) => `${k} ${d(k).toFixed(1)} s`)
      .join(', ')}, PostgreSQL ${pg.toFixed(1)} s`;
  }
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

async function latencies(c: Client, sql: string, params: unknown[] = []): Promise<number[]> {
  const { rows } = await c.query<{ ms: number }>(sql, params);
  return rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
}

/** The bare queue round trip: add → worker → one INSERT, at the same rate, timed in PostgreSQL. */
async function baseline(dbUrl: string, prefix: string): Promise<number[]> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(
    'CREATE UNLOGGED TABLE bare_jobs (id int PRIMARY KEY, sent_at timestamptz NOT NULL, done_at timestamptz NOT NULL DEFAULT clock_timestamp())',
  );
  const conn = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection: conn as unknown as ConnectionOptions, prefix });
  const wc = new Pool({ connectionString: dbUrl, max: 8 });
  const wconn = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    'bare',
    async (job) => {
      await wc.query('INSERT INTO bare_jobs (id, sent_at) VALUES ($1, $2)', [job.data.id, new Date(job.data.at)]);
    },
    { connection: wconn as unknown as ConnectionOptions, prefix, concurrency: 8 },
  );
  const total = PAYMENTS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    void queue.add('j', { id: i, at: Date.now() }, { removeOnComplete: true });
  }
  for (let i = 0; i < 600; i++) {
    const n = Number((await c.query('SELECT count(*) AS n FROM bare_jobs')).rows[0].n);
    if (n >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await worker.close();
  await queue.close();
  wconn.disconnect();
  conn.disconnect();
  await wc.end();
  const out = await latencies(c, 'SELECT extract(epoch FROM done_at - sent_at) * 1000 AS ms FROM bare_jobs');
  await c.end();
  return out;
}

export async function benchMatchingLatency(): Promise<string[]> {
  const db = 'gw_bench_matching';
  const prefix = `gwb-matching-${process.pid}`;
  const dbUrl = await freshDatabase(db);
  const bare = await baseline(dbUrl, `${prefix}-bare`);

  const env = {
    DATABASE_URL: dbUrl,
    REDIS_URL,
    GATEWAY_QUEUE_PREFIX: prefix,
    GATEWAY_CLIENTS_FILE: clientsFile(),
    LOG_LEVEL: 'warn',
    GATEWAY_RATE_LIMIT_PER_SECOND: '1000000',
  };
  const gw = await startNode(['src/main.ts', '--role=api'], env, 18920);
  const workers = startWorkerNode(env);
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  let res: OpenLoopResult;
  let peakMb: number;
  let drainMs: number;
  let meter: Meter | undefined;
  let cpu: string;
  /** When the measured load began: every figure is of the payments received from then on. */
  let since: Date;
  try {
    // The settlements the payments name, recorded (direct, owed 100.00, last month) and declared by
    // their institutions before the load starts: the steady state, where a payment on time closes
    // the loop and finds nothing. (A flood of payments that open cases is slower: see RESULTS.md.)
    await c.query(`INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
        insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
        acct_pay, psn_cash_pay, insurer_code, setl_mode, referral)
      SELECT 'L' || g, 'valid', md5(g::text), '00000000-0000-7000-8000-000000000001', g, now() - interval '1 day', 'LM' || g, 'LP' || g, '310',
             '533102', '533102', 'H5331020' || lpad(((g / ${LINES}) % 50)::text, 4, '0'), '21', '${PERIOD}-10T10:00:00+08:00', '${PERIOD}', 30000, 28000, 18000, 100.00, 18100,
             0, 11900, 'PICC_DH', 'direct', false
        FROM generate_series(0, ${(PAYMENTS + WARM) * LINES - 1}) AS g`);
    await c.query(`INSERT INTO batches (batch_id, message_id, received_at, fixmedins_code, insurer_code, period, setl_cnt, medfee_sumamt, hifob_pay_sumamt)
      SELECT 'LB' || fixmedins_code, '00000000-0000-7000-8000-000000000003', now() - interval '1 day', fixmedins_code, 'PICC_DH', '${PERIOD}', count(*), sum(medfee_sumamt), sum(hifob_pay)
        FROM settlement_records GROUP BY fixmedins_code`);
    await c.query(`INSERT INTO batch_items (fixmedins_code, batch_id, item_index, setl_id, mdtrt_id, psn_no, setl_time, medfee_sumamt, hifob_pay)
      SELECT fixmedins_code, 'LB' || fixmedins_code, record_index, setl_id, mdtrt_id, psn_no, setl_time, medfee_sumamt, hifob_pay FROM settlement_records`);
    await c.query('ANALYZE');

    const ts = Math.floor(Date.now() / 1000) + 30;
    const pre = Array.from({ length: PAYMENTS + WARM }, (_, i) => {
      const body = paymentBody(i);
      const id = `msg_lat_${i}`;
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-client-id': BENCH_CLIENT.client_id,
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': sign(BENCH_CLIENT.secret, id, ts, body),
        },
      };
    });
    // The worker process must be up before the load, as in a deployment (its start-up — tsx, the
    // migrations check, BullMQ's connection — is not the latency of a payment): wait until it has
    // registered on the ingest queue.
    const probe = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    const ingest = new Queue('ingest', {
      connection: probe as unknown as ConnectionOptions,
      prefix: queueKeyPrefix(prefix),
    });
    for (let k = 0; k < 600 && (await ingest.getWorkersCount()) === 0; k++)
      await new Promise((rr) => setTimeout(rr, 100));
    await ingest.close();
    probe.disconnect();
    // Redis's CPU too (BullMQ's scripts run there; shared with whatever else uses this Redis).
    const rinfo = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
    const redisPid = Number(/process_id:(\d+)/.exec(await rinfo.info('server'))?.[1]) || undefined;
    rinfo.disconnect();
    // The warm-up, then its drain: the measured load starts on warm processes and an empty queue.
    await openLoop({
      url: gw.url,
      path: '/v1/insurer-payments',
      rate: WARM_RATE,
      total: WARM,
      connections: CONNECTIONS,
      timeoutMs: 30_000,
      request: (k) => pre[PAYMENTS + k]!,
    });
    await drained(c);
    since = new Date();
    meter = new Meter(c, { api: gw.child.pid, worker: workers.child.pid, bench: process.pid, redis: redisPid });
    await meter.start();
    const both = { ...gw, rssMb: () => gw.rssMb() + workers.rssMb() };
    const r = await withRssPeak(both, () =>
      openLoop({
        url: gw.url,
        path: '/v1/insurer-payments',
        rate: RATE,
        total: PAYMENTS,
        connections: CONNECTIONS,
        timeoutMs: 30_000,
        request: (k) => pre[k]!,
      }),
    );
    res = r.result;
    peakMb = r.peakMb;
    // Drain: bounded at 5 minutes.
    const d0 = performance.now();
    await drained(c);
    drainMs = performance.now() - d0;
    cpu = await meter.stop();
  } finally {
    await Promise.all([gw.stop(), workers.stop()]);
  }
  const lat = await latencies(
    c,
    `SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms FROM messages WHERE kind = 'insurer_payment' AND status = 'processed' AND received_at >= $1`,
    [since],
  );
  const counts = (
    await c.query<{ processed: string; failed: string; loops: string; closed: string; cases: string }>(
      `SELECT (SELECT count(*) FROM messages WHERE kind = 'insurer_payment' AND status = 'processed' AND received_at >= $1) AS processed,
            (SELECT count(*) FROM messages WHERE kind = 'insurer_payment' AND status <> 'processed') AS failed,
            (SELECT count(*) FROM settlement_loops) AS loops, (SELECT count(*) FROM settlement_loops WHERE status = 'closed') AS closed,
            (SELECT count(*) FROM discrepancies WHERE status <> 'resolved') AS cases`,
      [since],
    )
  ).rows[0]!;
  // How the API wrote and relayed them: a group commit's rows share their inserting transaction id
  // (webhook_ids rows are never updated after it), a relay pass's outbox rows their relayed_at.
  const shape = (
    await c.query<{ groups: string; passes: string }>(
      `SELECT (SELECT count(DISTINCT xmin::text) FROM webhook_ids WHERE seen_at >= $1) AS groups,
              (SELECT count(DISTINCT relayed_at) FROM outbox WHERE queue = 'ingest' AND relayed_at >= $1) AS passes`,
      [since],
    )
  ).rows[0]!;
  const perGroup = Number(counts.processed) / Math.max(Number(shape.groups), 1);
  const perPass = Number(counts.processed) / Math.max(Number(shape.passes), 1);
  // The rate the payments really arrived at: the receipts' span, not the requests over DURATION.
  const span = (
    await c.query<{ s: number }>(
      `SELECT extract(epoch FROM max(received_at) - min(received_at)) AS s FROM messages WHERE kind = 'insurer_payment' AND received_at >= $1`,
      [since],
    )
  ).rows[0]!.s;
  const achieved = Number(counts.processed) / Math.max(Number(span), 0.001);
  // Where the time goes: 202 → relayed to BullMQ (outbox) → processed, per second of arrival.
  const stages = (
    await c.query<{ sec: number; n: string; relay50: number; relay99: number; p50: number; p99: number }>(
      `SELECT floor(extract(epoch FROM m.received_at - t0.t))::int AS sec, count(*) AS n,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.relayed_at - m.received_at) * 1000) AS relay50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.relayed_at - m.received_at) * 1000) AS relay99,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.processed_at - m.received_at) * 1000) AS p50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM m.processed_at - m.received_at) * 1000) AS p99
         FROM messages m JOIN outbox o ON o.message_id = m.message_id AND o.queue = 'ingest',
              (SELECT min(received_at) AS t FROM messages WHERE kind = 'insurer_payment' AND received_at >= $1) t0
        WHERE m.kind = 'insurer_payment' AND m.status = 'processed' AND m.received_at >= $1 GROUP BY 1 ORDER BY 1`,
      [since],
    )
  ).rows;
  if (process.env.BENCH_VERBOSE) {
    process.stderr.write(`CPU during load + drain: ${cpu}\n`);
    process.stderr.write('second | n | 202→relayed p50/p99 | 202→processed p50/p99 (ms)\n');
    for (const r of stages)
      process.stderr.write(
        `${r.sec} | ${r.n} | ${Number(r.relay50).toFixed(0)}/${Number(r.relay99).toFixed(0)} | ${Number(r.p50).toFixed(0)}/${Number(r.p99).toFixed(0)}\n`,
      );
    const w = [...(meter?.waits ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]).slice(0, 15);
    process.stderr.write(`backend samples (every 250 ms):\n${w.map(([k, n]) => `  ${n} ${k}`).join('\n')}\n`);
  }
  await c.end();
  if (process.env.BENCH_KEEP_DB) {
    process.stderr.write(`kept database ${db}\n`);
  } else await dropDatabase(db);
  await clearPrefix(prefix);
  await clearPrefix(`${prefix}-bare`);

  const p50 = pct(lat, 50),
    p99 = pct(lat, 99),
    b50 = pct(bare, 50),
    b99 = pct(bare, 99),
    api = [...res.latenciesMs].sort((a, b) => a - b);
  return [
    line(
      `matching latency at ${RATE} payments/s × ${DURATION} s (${LINES} settlements each; after ${WARM} at ${WARM_RATE}/s to warm up), 202 → loop updated, p50 / p99`,
      `${p50.toFixed(0)} / ${p99.toFixed(0)} ms (max ${pct(lat, 100).toFixed(0)} ms; ${counts.processed} processed, ${counts.failed} not; ${counts.closed}/${counts.loops} loops closed, ${counts.cases} open cases; arrived at ${achieved.toFixed(0)}/s over ${Number(span).toFixed(1)} s; drained ${(drainMs / 1000).toFixed(1)} s after the load)`,
      `${b50.toFixed(0)} / ${b99.toFixed(0)} ms (bare BullMQ job → 1 INSERT, same rate)`,
      p99 / Math.max(b99, 1),
      'p99 ≤ 500 ms (issue 15)',
      p99 <= 500 && Number(counts.failed) === 0,
    ),
    line(
      'matching: API latency of the payments (202), p50 / p99',
      `${pct(api, 50).toFixed(0)} / ${pct(api, 99).toFixed(0)} ms, from each request's due instant (non-2xx ${res.non2xx}${res.non2xx ? ` ${JSON.stringify(res.statuses)}` : ''}, errors ${res.errors}; the load generator sent ≤ ${Math.round(res.maxSendLagMs)} ms late; written in ${shape.groups} group commits, ${perGroup.toFixed(1)} payments each; relayed in ${shape.passes} passes, ${perPass.toFixed(1)} each)`,
      '—',
      1,
      'informational',
      true,
    ),
    line('matching: CPU seconds during the load and the drain', cpu, '—', 1, 'informational', true),
    line(
      'gateway RSS during the load (API process + worker process)',
      `${peakMb.toFixed(0)} MB peak`,
      '—',
      1,
      'informational',
      true,
    ),
  ];
}

if (require.main === module)
  benchMatchingLatency().then(
    (l) => {
      process.stdout.write(`${l.join('\n')}\n`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
