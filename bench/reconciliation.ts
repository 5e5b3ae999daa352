/**
 * Benchmark 3 — reconciliation of one generated region-month (Dehong 5331, 2025-03) of N settlements
 * with their payments, declarations, recoveries, a plan and disbursements, generated in PostgreSQL
 * (INSERT … SELECT generate_series) into a database migrated by the gateway. Timed: a full run
 * (POST /v1/reconciliations to the gateway child process, polled until completed: the matching sweep
 * of every settlement, the report SQL, the discrepancies). Baseline: the bare SQL that joins
 * settlements ⋈ batch items ⋈ payment lines once and aggregates per institution.
 * Targets: full run ≤ 5× the bare join at 1M; growth 100k → 1M ≤ 11×; gateway peak RSS ≤ 1 GB.
 * Run alone: `npx tsx bench/reconciliation.ts [--quick] [N …]` (default 100k and 1M; quick: 20k).
 */
import { Client } from 'pg';
import { computeReport } from '../src/reconciliation/report-sql';
import { createPgDb } from '../src/db/db';
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

const INSTITUTIONS = 500;
const COUNTIES = ['533102', '533103', '533122', '533123', '533124'];
const AS_OF = '2025-07-31T00:00:00+08:00';

/**
 * Settlement g (1..N): institution g % 500 (county by institution, insurer PICC_DH for even, CPIC_DH
 * for odd institutions); 5% manual claims (paid to the person); 2% not owed (hifob 0); 0.5% reversed.
 * Payments: one institution payment per 100 of its direct settlements, one per manual claim; ~1% of
 * owed settlements unpaid, ~1% underpaid by 1.00, ~1% paid late. Declarations: one batch per
 * institution naming its direct settlements except ~0.9% (undeclared), ~0.8% declared with another
 * amount. Recoveries on ~0.1%.
 */
export function generateSql(n: number): string[] {
  const counties = `(ARRAY['${COUNTIES.join("','")}'])[1 + (k % ${COUNTIES.length})]`;
  const inst = (k: string) => `'H' || ${counties.replace(/k/g, k)} || lpad((${k})::text, 5, '0')`;
  return [
    `INSERT INTO messages (message_id, kind, client_id, webhook_id, body_sha256, content_type, body_bytes, status, received_at, processed_at)
     VALUES ('00000000-0000-7000-8000-000000000001', 'agency_settlements', '${BENCH_CLIENT.agency_id}', 'gen-feed', 'x', 'application/x-ndjson', 0, 'processed', '2025-04-02T00:00:00+08:00', '2025-04-02T00:00:00+08:00'),
            ('00000000-0000-7000-8000-000000000002', 'insurer_payment', '${BENCH_CLIENT.client_id}', 'gen-pay', 'x', 'application/json', 0, 'processed', '2025-04-15T12:00:00+08:00', '2025-04-15T12:00:00+08:00'),
            ('00000000-0000-7000-8000-000000000003', 'settlement_batch', '${BENCH_CLIENT.agency_id}', 'gen-batch', 'x', 'application/json', 0, 'processed', '2025-04-05T00:00:00+08:00', '2025-04-05T00:00:00+08:00')`,
    `CREATE UNLOGGED TABLE gen AS
       SELECT g, g % ${INSTITUTIONS} AS k, ${inst('g % ' + INSTITUTIONS)} AS fixmedins,
              CASE WHEN (g % ${INSTITUTIONS}) % 2 = 0 THEN 'PICC_DH' ELSE 'CPIC_DH' END AS insurer,
              CASE WHEN g % 20 = 0 THEN 'manual' ELSE 'direct' END AS mode,
              CASE WHEN g % 50 = 1 THEN 0 ELSE (1000 + (g::bigint * 7919) % 900000) / 100.0 END::numeric(16,2) AS hifob,
              ${counties.replace(/k/g, 'g % ' + INSTITUTIONS)} AS admdvs,
              timestamptz '2025-03-01T10:00:00+08:00' + ((g % 31) || ' days')::interval AS setl_time
         FROM generate_series(1, ${n}) AS g`,
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, psn_name, certno, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, insurer_code, setl_mode, referral)
     SELECT 'S' || g, 'valid', md5(g::text), '00000000-0000-7000-8000-000000000001', g, '2025-04-02T00:00:00+08:00', 'M' || g, 'P' || (g % ${Math.max(1, Math.floor(n / 3))}),
            '张三', '11010519491231002X', '310', admdvs, admdvs, fixmedins, '21', setl_time, '2025-03', hifob * 2 + 50000, hifob * 2 + 40000, 50000, hifob, 50000 + hifob,
            0, hifob + 10000, insurer, mode, false
       FROM gen`,
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, insurer_code, setl_mode, referral)
     SELECT setl_id, 'reversed', md5(setl_id || 'r'), message_id, record_index, '2025-04-05T00:00:00+08:00', mdtrt_id, psn_no, insutype, insuplc_admdvs, mdtrtarea_admvs,
            fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, insurer_code, setl_mode, referral
       FROM settlement_records WHERE record_index % 200 = 3`,
    // Lines: paid in full, except unpaid (g % 97 = 5, no line) and underpaid (g % 101 = 7).
    `CREATE UNLOGGED TABLE gen_lines AS
       SELECT g, insurer, 'S' || g AS setl_id,
              CASE WHEN mode = 'manual' THEN 'PM-' || g ELSE 'PI-' || k || '-' || (g / ${INSTITUTIONS * 100}) END AS payment_id,
              CASE WHEN mode = 'manual' THEN 'person' ELSE 'institution' END AS payee_type,
              CASE WHEN mode = 'manual' THEN 'P' || (g % ${Math.max(1, Math.floor(n / 3))}) ELSE fixmedins END AS payee_id,
              CASE WHEN g % 101 = 7 THEN hifob - 1 ELSE hifob END AS paid,
              CASE WHEN g % 89 = 4 THEN timestamptz '2025-05-20T10:00:00+08:00' ELSE timestamptz '2025-04-15T10:00:00+08:00' END AS pay_time
         FROM gen WHERE hifob > 0 AND g % 97 <> 5`,
    // A late line gets its own payment (its pay_time differs from the rest of its institution's block).
    `UPDATE gen_lines SET payment_id = payment_id || '-L' || g WHERE pay_time > '2025-05-01'`,
    `INSERT INTO payments (insurer_code, payment_id, message_id, received_at, payee_type, payee_id, pay_time, bank_txn_no, pay_amount)
     SELECT insurer, payment_id, '00000000-0000-7000-8000-000000000002', max(pay_time) + interval '1 hour', min(payee_type), min(payee_id), max(pay_time), 'BK' || payment_id, sum(paid)
       FROM gen_lines GROUP BY insurer, payment_id`,
    `INSERT INTO payment_lines (insurer_code, payment_id, line_no, setl_id, paid_amount)
     SELECT insurer, payment_id, (row_number() OVER (PARTITION BY insurer, payment_id ORDER BY g) - 1)::int, setl_id, paid FROM gen_lines`,
    `INSERT INTO batches (batch_id, message_id, received_at, fixmedins_code, insurer_code, period, setl_cnt, medfee_sumamt, hifob_pay_sumamt)
     SELECT 'B-' || k, '00000000-0000-7000-8000-000000000003', '2025-04-05T00:00:00+08:00', min(fixmedins), min(insurer), '2025-03', 0, 0, 0 FROM gen GROUP BY k`,
    `INSERT INTO batch_items (fixmedins_code, batch_id, item_index, setl_id, mdtrt_id, psn_no, setl_time, medfee_sumamt, hifob_pay)
     SELECT fixmedins, 'B-' || k, row_number() OVER (PARTITION BY k ORDER BY g)::int - 1, 'S' || g, 'M' || g, 'P' || (g % ${Math.max(1, Math.floor(n / 3))}), setl_time, hifob * 2 + 50000,
            CASE WHEN g % 127 = 11 THEN hifob + 5 ELSE hifob END
       FROM gen WHERE mode = 'direct' AND hifob > 0 AND g % 113 <> 9`,
    `UPDATE batches b SET setl_cnt = x.n, medfee_sumamt = x.m, hifob_pay_sumamt = x.h
       FROM (SELECT fixmedins_code, batch_id, count(*) AS n, sum(medfee_sumamt) AS m, sum(hifob_pay) AS h FROM batch_items GROUP BY fixmedins_code, batch_id) x
      WHERE x.batch_id = b.batch_id AND x.fixmedins_code = b.fixmedins_code`,
    `INSERT INTO recoveries (insurer_code, recovery_id, message_id, received_at, setl_id, amount, reason_code, recovered_at)
     SELECT insurer, 'RC-' || g, '00000000-0000-7000-8000-000000000002', '2025-04-26T00:00:00+08:00', setl_id, 1.00, 'DUP', '2025-04-25T10:00:00+08:00'
       FROM gen_lines WHERE g % 997 = 17 AND paid >= 1`,
    `INSERT INTO spending_plans (insurer_code, period, revision, message_id, received_at, planned_amount)
     SELECT insurer, '2025-03', 1, '00000000-0000-7000-8000-000000000002', '2025-03-01T00:00:00+08:00', round(sum(hifob) * 1.02, 2) FROM gen GROUP BY insurer`,
    `INSERT INTO disbursements (disbursement_id, message_id, received_at, insurer_code, period, amount, disbursed_at)
     SELECT 'D-' || insurer, '00000000-0000-7000-8000-000000000001', '2025-04-20T00:00:00+08:00', insurer, '2025-03', round(sum(hifob), 2), '2025-04-20T00:00:00+08:00' FROM gen GROUP BY insurer`,
    `DROP TABLE gen`,
    `DROP TABLE gen_lines`,
    `VACUUM ANALYZE`,
  ];
}

/** The bare join: settlements ⋈ batch items ⋈ payment lines of the region-period, aggregated once. */
export const BARE_JOIN = `
  SELECT s.fixmedins_code, count(*) AS n, sum(s.hifob_pay) AS hifob, sum(i.hifob_pay) AS declared, sum(l.paid_amount) AS paid
    FROM settlement_records s
    LEFT JOIN batch_items i ON i.setl_id = s.setl_id
    LEFT JOIN payment_lines l ON l.setl_id = s.setl_id
   WHERE s.insuplc_admdvs LIKE '5331%' AND s.period = '2025-03'
   GROUP BY s.fixmedins_code`;

async function timeQuery(c: Client, sql: string, times: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await c.query(sql);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

export interface ReconResult {
  n: number;
  genMs: number;
  bareMs: number;
  reportMs: number;
  runMs: number;
  warmMs: number;
  warmStatus: string;
  peakMb: number;
  status: string;
  swept: number;
  institutions: number;
  discrepancies: number;
  error?: string;
}

export async function reconcileOnce(n: number, port = 18910): Promise<ReconResult> {
  const db = `gw_bench_recon_${n}`;
  const prefix = `gwb-recon-${process.pid}-${n}`;
  const dbUrl = await freshDatabase(db);
  const gw = await startNode(
    ['src/main.ts'],
    {
      DATABASE_URL: dbUrl,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: prefix,
      GATEWAY_CLIENTS_FILE: clientsFile(),
      LOG_LEVEL: 'warn',
      GATEWAY_OUTBOX_POLL_MS: '100',
    },
    port,
  );
  try {
    const c = new Client({ connectionString: dbUrl });
    await c.connect();
    const g0 = performance.now();
    for (const sql of generateSql(n)) await c.query(sql);
    const genMs = performance.now() - g0;
    await c.query(BARE_JOIN); // warm the cache as the run will find it
    const bareMs = await timeQuery(c, BARE_JOIN, 3);

    const runOnce = () =>
      withRssPeak(gw, async () => {
        const t0 = performance.now();
        const r = await fetch(`${gw.url}/v1/reconciliations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_CLIENT.token}` },
          body: JSON.stringify({ admdvs: '5331', period: '2025-03', as_of: AS_OF }),
        });
        const { run_id } = (await r.json()) as { run_id: string };
        // Bounded: at most one hour, then the run is reported as not finished.
        for (let i = 0; i < 36_000; i++) {
          const { rows } = await c.query<{ status: string; error: string | null }>(
            'SELECT status, error FROM reconciliation_runs WHERE run_id = $1',
            [run_id],
          );
          if (rows[0] && (rows[0].status === 'completed' || rows[0].status === 'failed'))
            return { run_id, ms: performance.now() - t0, ...rows[0] };
          await new Promise((res) => setTimeout(res, 100));
        }
        return { run_id, ms: performance.now() - t0, status: 'timeout', error: null };
      });
    // Cold: nothing matched yet (the data was written straight into the tables), so the run's sweep
    // evaluates every settlement. Nightly: the same region-period again — in production the workers
    // have matched everything as it arrived, and the sweep takes only what can have changed.
    const { result, peakMb } = await runOnce();
    const { result: warm, peakMb: warmPeakMb } = await runOnce();
    const run = (
      await c.query<{
        summary: { swept?: { settlements: number }; totals?: { institutions: number } } | null;
        started_at: Date | null;
        finished_at: Date | null;
      }>('SELECT summary, started_at, finished_at FROM reconciliation_runs WHERE run_id = $1', [result.run_id])
    ).rows[0];
    const discrepancies = Number(
      (await c.query(`SELECT count(*) AS n FROM discrepancies WHERE status <> 'resolved'`)).rows[0].n,
    );

    // The report SQL alone (no sweep), as a second run of the same region-period would compute it.
    const pdb = createPgDb(dbUrl, 2);
    await c.query(
      `INSERT INTO reconciliation_runs (run_id, admdvs, period, as_of, status, trigger, requested_by, created_at)
                   VALUES ('00000000-0000-7000-8000-0000000000ff', '5331', '2025-03', $1, 'completed', 'api', 'bench', now())`,
      [AS_OF],
    );
    const r0 = performance.now();
    await pdb.tx((q) => computeReport(q, '00000000-0000-7000-8000-0000000000ff', '5331', '2025-03', new Date(AS_OF)));
    const reportMs = performance.now() - r0;
    await pdb.close();
    await c.end();
    return {
      n,
      genMs,
      bareMs,
      reportMs,
      runMs: result.ms,
      warmMs: warm.ms,
      warmStatus: warm.status,
      peakMb: Math.max(peakMb, warmPeakMb),
      status: result.status,
      error: result.error ?? undefined,
      swept: run?.summary?.swept?.settlements ?? 0,
      institutions: run?.summary?.totals?.institutions ?? 0,
      discrepancies,
    };
  } finally {
    await gw.stop();
    await dropDatabase(db);
    await clearPrefix(prefix);
  }
}

const fmtN = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchReconciliation(sizes?: number[]): Promise<string[]> {
  const ns = sizes ?? (QUICK ? [20_000] : [100_000, 1_000_000]);
  const out: string[] = [];
  const results: ReconResult[] = [];
  for (const n of ns) {
    const r = await reconcileOnce(n);
    results.push(r);
    process.stderr.write(`reconciliation ${fmtN(n)}: ${JSON.stringify(r)}\n`);
    const big = n >= 1_000_000;
    out.push(
      line(
        `reconciliation ${fmtN(n)}, cold run (sweep matches every settlement + report + discrepancies)`,
        `${s(r.runMs)} (${r.status}${r.error ? `: ${r.error}` : ''}; ${r.swept} swept, ${r.institutions} institutions, ${r.discrepancies} open discrepancies)`,
        `${s(r.bareMs)} (bare 3-way join)`,
        r.runMs / r.bareMs,
        'informational (matching cost)',
        r.status === 'completed',
      ),
    );
    const ratio = r.warmMs / r.bareMs;
    out.push(
      line(
        `reconciliation ${fmtN(n)}, nightly run (incremental sweep + report + discrepancies)`,
        `${s(r.warmMs)} (${r.warmStatus})`,
        `${s(r.bareMs)} (bare 3-way join)`,
        ratio,
        big ? '≤ 5×' : 'informational (≤ 5× at 1M)',
        r.warmStatus === 'completed' && (!big || ratio <= 5),
      ),
    );
    out.push(
      line(
        `reconciliation ${fmtN(n)}, report SQL alone`,
        s(r.reportMs),
        `${s(r.bareMs)} (bare 3-way join)`,
        r.reportMs / r.bareMs,
        'informational',
        true,
      ),
    );
    out.push(
      line(
        `reconciliation ${fmtN(n)}, gateway peak RSS`,
        `${r.peakMb.toFixed(0)} MB`,
        '1024 MB',
        r.peakMb / 1024,
        '≤ 1 GB',
        r.peakMb <= 1024,
      ),
    );
  }
  if (results.length >= 2) {
    const [a, b] = [results[0]!, results[results.length - 1]!];
    const growth = b.warmMs / a.warmMs;
    const sizeRatio = b.n / a.n;
    out.push(
      line(
        `reconciliation growth ${fmtN(a.n)} → ${fmtN(b.n)} (nightly run)`,
        `${growth.toFixed(1)}× run time (cold: ${(b.runMs / a.runMs).toFixed(1)}×)`,
        `${sizeRatio}× data; bare join ${(b.bareMs / a.bareMs).toFixed(1)}×`,
        growth / sizeRatio,
        '≤ 11× growth',
        growth <= 11,
      ),
    );
  }
  return out;
}

if (require.main === module) {
  const sizes = process.argv
    .slice(2)
    .filter((a) => /^\d+$/.test(a))
    .map(Number);
  benchReconciliation(sizes.length ? sizes : undefined).then(
    (l) => {
      process.stdout.write(`${l.join('\n')}\n`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
