/**
 * Benchmark 2 — the agency feed: an NDJSON request of 100,000 settlement records, end to end
 * (signed, streamed, validated, stored, 202), against PostgreSQL `COPY` of the same rows into an
 * unindexed table. Target: ≥ 0.5× COPY's records/s.
 */
import fs from 'node:fs';
import net from 'node:net';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

const N = QUICK ? 20_000 : 100_000;

function record(i: number) {
  return {
    setl_id: `FS${i}`,
    mdtrt_id: `FM${i}`,
    psn_no: `FP${i % 40000}`,
    psn_name: '张三',
    certno: '11010519491231002X',
    insutype: '310',
    insuplc_admdvs: '533102',
    mdtrtarea_admvs: '533102',
    fixmedins_code: `H5331020${String(i % 50).padStart(4, '0')}`,
    med_type: '21',
    setl_time: `2025-03-${String(1 + (i % 28)).padStart(2, '0')} 09:30:00`,
    medfee_sumamt: '30000.00',
    inscp_scp_amt: '28000.00',
    hifp_pay: '18000.00',
    hifob_pay: '9000.00',
    fund_pay_sumamt: '27000.00',
    acct_pay: '0.00',
    psn_cash_pay: '3000.00',
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '18000.00', fund_payamt: '18000.00' },
      { fund_pay_type: '330100', inscp_scp_amt: '10000.00', fund_payamt: '9000.00' },
    ],
    insurer_code: 'PICC_DH',
    setl_mode: 'direct',
    referral: false,
    status: 'valid',
  };
}

const COLS = [
  'setl_id',
  'mdtrt_id',
  'psn_no',
  'psn_name',
  'certno',
  'insutype',
  'insuplc_admdvs',
  'mdtrtarea_admvs',
  'fixmedins_code',
  'med_type',
  'setl_time',
  'medfee_sumamt',
  'inscp_scp_amt',
  'hifp_pay',
  'hifob_pay',
  'fund_pay_sumamt',
  'acct_pay',
  'psn_cash_pay',
  'setldetail',
  'insurer_code',
  'setl_mode',
  'referral',
  'status',
] as const;

async function copyBaseline(dbUrl: string, recs: ReturnType<typeof record>[]): Promise<number> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`CREATE UNLOGGED TABLE IF NOT EXISTS copy_baseline (setl_id text, mdtrt_id text, psn_no text, psn_name text, certno text, insutype text, insuplc_admdvs text, mdtrtarea_admvs text,
    fixmedins_code text, med_type text, setl_time timestamptz, medfee_sumamt numeric, inscp_scp_amt numeric, hifp_pay numeric, hifob_pay numeric, fund_pay_sumamt numeric,
    acct_pay numeric, psn_cash_pay numeric, setldetail jsonb, insurer_code text, setl_mode text, referral boolean, status text)`);
  await c.query('TRUNCATE copy_baseline');
  const t0 = performance.now();
  const esc = (v: unknown) =>
    (typeof v === 'object' ? JSON.stringify(v) : String(v))
      .replace(/\\/g, '\\\\')
      .replace(/\t/g, '\\t')
      .replace(/\n/g, '\\n');
  const text = Readable.from(
    (function* () {
      for (const r of recs) yield `${COLS.map((k) => esc(r[k])).join('\t')}\n`;
    })(),
  );
  await pipeline(text, c.query(copyFrom(`COPY copy_baseline (${COLS.join(', ')}) FROM STDIN`)));
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

/** CPU seconds (user + system, all threads; Linux clock ticks of 10 ms) of a local process; 0 when it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of the PostgreSQL backends serving `db`, by pid (the server is local in this benchmark). */
async function backendCpu(dbUrl: string): Promise<Map<number, number>> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  await c.end();
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
}

/** A free loopback port: the machine may run other benchmarks' gateways at the same time. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function benchFeed(): Promise<string[]> {
  const db = `gw_bench_feed_${process.pid}`;
  const prefix = `gwb-feed-${process.pid}`;
  const dbUrl = await freshDatabase(db);
  const recs = Array.from({ length: N }, (_, i) => record(i));
  const copyMs = await copyBaseline(dbUrl, recs);

  const gw = await startNode(
    ['src/main.ts', '--role=api'],
    {
      DATABASE_URL: dbUrl,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: prefix,
      GATEWAY_CLIENTS_FILE: clientsFile(),
      LOG_LEVEL: 'warn',
    },
    await freePort(),
  );
  const body = recs.map((r) => JSON.stringify(r)).join('\n');
  const id = 'msg_bench_feed';
  const ts = Math.floor(Date.now() / 1000);
  let measured;
  try {
    // The machine may be shared: CPU time tells which side worked how much, whatever the wall clock says.
    const pgBefore = await backendCpu(dbUrl);
    const gwBefore = cpuSeconds(gw.child.pid);
    const { result, peakMb } = await withRssPeak(gw, async () => {
      const t0 = performance.now();
      const r = await fetch(`${gw.url}/v1/agency/settlements`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/x-ndjson',
          'x-client-id': BENCH_CLIENT.agency_id,
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': sign(BENCH_CLIENT.agency_secret, id, ts, body),
        },
      });
      const json = (await r.json()) as { accepted: number };
      return { ms: performance.now() - t0, status: r.status, accepted: json.accepted };
    });
    const gwCpu = cpuSeconds(gw.child.pid) - gwBefore;
    const pgCpu = [...(await backendCpu(dbUrl))].reduce((sum, [pid, s]) => sum + s - (pgBefore.get(pid) ?? 0), 0);
    measured = { result, peakMb, gwCpu, pgCpu };
  } finally {
    await gw.stop();
    await dropDatabase(db);
    await clearPrefix(prefix);
  }
  const { result, peakMb, gwCpu, pgCpu } = measured;

  const gwRate = (N / result.ms) * 1000;
  const copyRate = (N / copyMs) * 1000;
  const ratio = gwRate / copyRate;
  return [
    line(
      `agency feed, ${N} NDJSON records, records/s`,
      `${gwRate.toFixed(0)} (${(result.ms / 1000).toFixed(1)} s, ${result.status}, ${result.accepted} accepted)`,
      `${copyRate.toFixed(0)} (COPY, ${(copyMs / 1000).toFixed(1)} s)`,
      ratio,
      '≥ 0.5×',
      ratio >= 0.5 && result.accepted === N,
    ),
    line('API process RSS during the feed', `${peakMb.toFixed(0)} MB peak`, '—', 1, 'informational', true),
    line(
      'CPU during the feed: gateway (all threads) / PostgreSQL backends',
      `${gwCpu.toFixed(1)} s / ${pgCpu.toFixed(1)} s`,
      '—',
      1,
      'informational',
      true,
    ),
  ];
}

if (require.main === module)
  benchFeed().then(
    (l) => {
      process.stdout.write(`${l.join('\n')}\n`);
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
