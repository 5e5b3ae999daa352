/**
 * Benchmark 1 — signed insurer payment callbacks (POST /v1/insurer-payments, 10 lines each, unique
 * ids, valid signatures) with autocannon on loopback, against a bare express app that parses and
 * echoes the same JSON. Target: ≥ 0.30× the baseline's requests/s with p99 ≤ 50 ms; every 202
 * durably committed (rows counted after); RSS of the API process under load. Also the CPU time
 * each request cost the API process and its PostgreSQL backends (from /proc): on a machine shared
 * with other work, requests/s measure the share of the cores the processes got, CPU per request
 * what the work costs.
 */
import autocannon from 'autocannon';
import fs from 'node:fs';
import { Client } from 'pg';
import { sign } from '../src/http/signature';
import {
  BENCH_CLIENT,
  QUICK,
  clearPrefix,
  clientsFile,
  dropDatabase,
  freshDatabase,
  line,
  startNode,
  withRssPeak,
  REDIS_URL,
} from './lib/harness';

const DURATION = QUICK ? 5 : 15;
const CONNECTIONS = 20;

function paymentBody(i: number): string {
  const lines = Array.from({ length: 10 }, (_, k) => ({ setl_id: `BS${i}-${k}`, paid_amount: '100.00' }));
  return JSON.stringify({
    insurer_code: 'PICC_DH',
    payment_id: `BP${i}`,
    payee_type: 'institution',
    payee_id: 'H53310200001',
    pay_time: '2025-04-15T10:00:00+08:00',
    bank_txn_no: `BK${i}`,
    pay_amount: '1000.00',
    lines,
  });
}

async function load(url: string, signed: boolean): Promise<autocannon.Result> {
  let i = 0;
  const ts = Math.floor(Date.now() / 1000) + 30; // signed up front; stays inside the ±300 s window for the run
  const pre: { body: string; headers: Record<string, string> }[] = [];
  const n = signed ? 120_000 : 1;
  for (let k = 0; k < n; k++) {
    const body = paymentBody(k);
    const id = `msg_bench_${k}`;
    pre.push({
      body,
      headers: signed
        ? {
            'content-type': 'application/json',
            'x-client-id': BENCH_CLIENT.client_id,
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': sign(BENCH_CLIENT.secret, id, ts, body),
          }
        : { 'content-type': 'application/json' },
    });
  }
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: 'POST',
        path: '/v1/insurer-payments',
        setupRequest: (req: autocannon.Request) => {
          const p = pre[i++ % pre.length]!;
          return { ...req, body: p.body, headers: p.headers };
        },
      },
    ],
  });
}

/** CPU seconds (user + system) a process has used; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0;
  }
}

/** CPU seconds of every PostgreSQL process now, by pid. */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('postgres')) out.set(Number(d), cpuSeconds(Number(d)));
    } catch {
      /* gone */
    }
  }
  return out;
}

export async function benchCallbacks(): Promise<string[]> {
  const db = 'gw_bench_callbacks';
  const prefix = `gwb-callbacks-${process.pid}`;
  const dbUrl = await freshDatabase(db);
  const baseline = await startNode(['bench/lib/echo-server.ts'], {}, 18901);
  const baseCpu0 = cpuSeconds(baseline.child.pid);
  const base = await load(baseline.url, false);
  const baseCpu = cpuSeconds(baseline.child.pid) - baseCpu0;
  await baseline.stop();

  const gw = await startNode(
    ['src/main.ts', '--role=api'],
    {
      DATABASE_URL: dbUrl,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: prefix,
      GATEWAY_CLIENTS_FILE: clientsFile(),
      LOG_LEVEL: 'warn',
      GATEWAY_RATE_LIMIT_PER_SECOND: '1000000',
    },
    18902,
  );
  const pg0 = postgresCpu();
  const gwCpu0 = cpuSeconds(gw.child.pid);
  const { result: res, peakMb } = await withRssPeak(gw, () => load(gw.url, true));
  const gwCpu = cpuSeconds(gw.child.pid) - gwCpu0;
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  // The gateway's pool keeps its connections for 30 s, longer than the load lasts.
  const backends = (
    await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      db,
    ])
  ).rows.map((r) => r.pid);
  const pgCpu = backends.reduce((sum, pid) => sum + cpuSeconds(pid) - (pg0.get(pid) ?? 0), 0);
  await gw.stop();

  const rows = Number((await c.query(`SELECT count(*) AS n FROM messages WHERE kind = 'insurer_payment'`)).rows[0].n);
  const lines = Number((await c.query('SELECT count(*) AS n FROM payment_lines')).rows[0].n);
  await c.end();
  await dropDatabase(db);
  await clearPrefix(prefix);

  const accepted = res['2xx'];
  const perRequest = (seconds: number, n: number) => (1000 * seconds) / Math.max(n, 1);
  const ratio = res.requests.average / base.requests.average;
  const p99 = res.latency.p99;
  return [
    line(
      'signed callbacks, requests/s',
      res.requests.average.toFixed(0),
      `${base.requests.average.toFixed(0)} (bare express echo)`,
      ratio,
      '≥ 0.30×',
      ratio >= 0.3,
    ),
    line(
      'signed callbacks, p50 / p99 latency',
      `${res.latency.p50} / ${p99} ms`,
      `${base.latency.p50} / ${base.latency.p99} ms`,
      p99 / Math.max(base.latency.p99, 1),
      'p99 ≤ 50 ms',
      p99 <= 50,
    ),
    line(
      'signed callbacks, durability',
      `${accepted} answered 2xx, ${rows} messages and ${lines} lines stored (requests cut off at the end may be stored unanswered)`,
      `errors ${res.errors}, non-2xx ${res.non2xx}`,
      rows / Math.max(accepted, 1),
      'every 202 stored',
      rows >= accepted && lines === rows * 10,
    ),
    line(
      'signed callbacks, CPU per request: API process + its PostgreSQL backends',
      `${perRequest(gwCpu, res.requests.total).toFixed(2)} + ${perRequest(pgCpu, res.requests.total).toFixed(2)} ms (${backends.length} backends)`,
      `${perRequest(baseCpu, base.requests.total).toFixed(2)} ms (echo process)`,
      perRequest(gwCpu + pgCpu, res.requests.total) / Math.max(perRequest(baseCpu, base.requests.total), 1e-9),
      'informational',
      true,
    ),
    line('API process RSS under load', `${peakMb.toFixed(0)} MB peak`, '—', 1, 'informational', true),
  ];
}

if (require.main === module)
  benchCallbacks().then((l) => {
    process.stdout.write(`${l.join('\n')}\n`);
    process.exit(0);
  });
