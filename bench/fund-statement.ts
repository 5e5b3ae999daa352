/**
 * Benchmark — the fund-year statement (spec §8, issue 16) of one generated region-year: Dehong 5331,
 * fund year 2024, N settlements (a third as many persons, so the benefit engine sees real person-years),
 * paid in payments of up to 100 lines, ~1% overpaid, ~0.5% reversed after payment, ~0.2% recovered;
 * monthly disbursements, collections, transfers and cost reports. The rows are written straight into
 * PostgreSQL (INSERT … SELECT generate_series): the statement reads the ledger, not the messages.
 * Timed, as the service computes them (executeStatement, in this process): the region-year's first
 * statement (every settlement judged with the pure rules, what each allows stored), the next one with
 * nothing new, and the nightly one after a day's traffic (daySql: new settlements, reversals,
 * recoveries — only their persons judged again, the rest added up from the stored allowances).
 * Baseline: the bare SQL aggregate of the same payouts (what the region-year's settlements were paid,
 * per insurer), after the day. Target: the nightly statement ≤ 5× the bare aggregate at 1M; the
 * process's peak RSS is reported.
 * Run alone: `npx tsx bench/fund-statement.ts [--quick] [N …]` (default 1M; quick: 50k).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { createPgDb } from '../src/db/db';
import { migrate } from '../src/db/migrate';
import { loadRegionPolicies } from '../src/benefits/region-policy';
import { WorkCalendar } from '../src/deadlines/calendar';
import { createLogger } from '../src/logging/logger';
import { createStatement, getStatement } from '../src/fund/statement-store';
import { executeStatement } from '../src/fund/statement-service';
import { QUICK, ROOT, dropDatabase, freshDatabase, line } from './lib/harness';

const INSTITUTIONS = 400;
const COUNTIES = ['533102', '533103', '533122', '533123', '533124'];
const AS_OF = '2025-06-01T00:00:00+08:00';
const MSG = '00000000-0000-7000-8000-0000000000f1';

/**
 * Settlement g (1..N) of 2024: institution g % 400 (county by institution; PICC_DH for even, CPIC_DH
 * for odd institutions), person g % (N/3), a large-expense amount above the 180,000 basic maximum at
 * Dehong's 90% (001 art. 10) with its setldetail. Paid in full in the next month's payment of its
 * institution (100 lines a payment), 1% overpaid by 10.00; 0.5% reversed after payment; 0.2% recovered.
 */
export function generateSql(n: number): string[] {
  const persons = Math.max(1, Math.floor(n / 3));
  const county = (k: string) => `(ARRAY['${COUNTIES.join("','")}'])[1 + ((${k}) % ${COUNTIES.length})]`;
  return [
    `INSERT INTO messages (message_id, kind, client_id, webhook_id, body_sha256, content_type, body_bytes, status, received_at, processed_at)
     VALUES ('${MSG}', 'agency_settlements', 'bench-agency', 'gen-fund', 'x', 'application/x-ndjson', 0, 'processed', '2025-01-05T00:00:00+08:00', '2025-01-05T00:00:00+08:00')`,
    `CREATE UNLOGGED TABLE gen AS
       SELECT g, g % ${INSTITUTIONS} AS k, 'H' || ${county(`g % ${INSTITUTIONS}`)} || lpad((g % ${INSTITUTIONS})::text, 5, '0') AS fixmedins,
              CASE WHEN (g % ${INSTITUTIONS}) % 2 = 0 THEN 'PICC_DH' ELSE 'CPIC_DH' END AS insurer,
              ${county(`g % ${INSTITUTIONS}`)} AS admdvs,
              (1000 + (g::bigint * 7919) % 40000)::numeric(16,2) AS base,
              timestamptz '2024-01-01T10:00:00+08:00' + ((g % 365) || ' days')::interval AS setl_time
         FROM generate_series(1, ${n}) AS g`,
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT 'F' || g, 'valid', md5(g::text), '${MSG}', g, '2025-01-05T00:00:00+08:00', 'M' || g, 'P' || (g % ${persons}), '310',
            admdvs, admdvs, fixmedins, '21', setl_time, to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'),
            200000 + base, 180000 + base, 180000, round(base * 0.9, 2), 180000 + round(base * 0.9, 2), 0, 20000 + base - round(base * 0.9, 2),
            jsonb_build_array(jsonb_build_object('fund_pay_type', '310100', 'inscp_scp_amt', '180000.00', 'fund_payamt', '180000.00'),
                              jsonb_build_object('fund_pay_type', '330100', 'inscp_scp_amt', base::text, 'fund_payamt', round(base * 0.9, 2)::text)),
            insurer, 'direct', false
       FROM gen`,
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT setl_id, 'reversed', md5(setl_id || 'r'), message_id, record_index, '2025-02-05T00:00:00+08:00', mdtrt_id, psn_no, insutype, insuplc_admdvs, mdtrtarea_admvs,
            fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail,
            insurer_code, setl_mode, referral
       FROM settlement_records WHERE record_index % 200 = 3`,
    `CREATE UNLOGGED TABLE gen_lines AS
       SELECT g, insurer, 'F' || g AS setl_id, fixmedins,
              'PF-' || k || '-' || to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') || '-' || ((g / ${INSTITUTIONS}) / 100) AS payment_id,
              CASE WHEN g % 100 = 7 THEN round(base * 0.9, 2) + 10 ELSE round(base * 0.9, 2) END AS paid,
              date_trunc('month', setl_time AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' + interval '1 month 14 days' AS pay_time
         FROM gen`,
    `INSERT INTO payments (insurer_code, payment_id, message_id, received_at, payee_type, payee_id, pay_time, bank_txn_no, pay_amount)
     SELECT insurer, payment_id, '${MSG}', max(pay_time) + interval '1 hour', 'institution', min(fixmedins), max(pay_time), 'BK' || payment_id, sum(paid)
       FROM gen_lines GROUP BY insurer, payment_id`,
    `INSERT INTO payment_lines (insurer_code, payment_id, line_no, setl_id, paid_amount)
     SELECT insurer, payment_id, (row_number() OVER (PARTITION BY insurer, payment_id ORDER BY g) - 1)::int, setl_id, paid FROM gen_lines`,
    `INSERT INTO recoveries (insurer_code, recovery_id, message_id, received_at, setl_id, amount, reason_code, recovered_at)
     SELECT insurer, 'RC-' || g, '${MSG}', '2025-01-10T00:00:00+08:00', setl_id, 100.00, 'R04', '2025-01-09T10:00:00+08:00' FROM gen_lines WHERE g % 500 = 11`,
    // Premium income: each insurer's payouts of the month plus 8%, disbursed for the month to the region.
    `INSERT INTO disbursements (disbursement_id, message_id, received_at, insurer_code, period, amount, disbursed_at, admdvs)
     SELECT 'DF-' || insurer || '-' || p, '${MSG}', '2024-12-31T00:00:00+08:00', insurer, p, round(sum(base * 0.9) * 1.08, 2), '2024-12-31T00:00:00+08:00', '5331'
       FROM (SELECT insurer, base, to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS p FROM gen) x GROUP BY insurer, p`,
    `INSERT INTO premium_collections (collection_id, message_id, received_at, admdvs, fund_year, period, payer_type, insured_count, amount, collected_at)
     SELECT 'CF-' || c || '-' || m, '${MSG}', '2025-01-05T00:00:00+08:00', c, '2024', '2024-' || lpad(m::text, 2, '0'), 'employer', 1000, round(${n} * 40.0 / 60, 2),
            ('2024-' || lpad(m::text, 2, '0') || '-15T10:00:00+08:00')::timestamptz
       FROM unnest(ARRAY['${COUNTIES.join("','")}']) AS c, generate_series(1, 12) AS m`,
    `INSERT INTO fund_transfers (transfer_id, message_id, received_at, admdvs, fund_year, period, from_account, to_account, amount, transferred_at)
     SELECT 'TF-' || collection_id || '-' || a, '${MSG}', '2025-01-05T00:00:00+08:00', admdvs, fund_year, period, f, t, amount, collected_at + interval '20 days'
       FROM premium_collections, (VALUES (1, 'tax', 'treasury'), (2, 'treasury', 'special_account')) AS v(a, f, t)`,
    `INSERT INTO insurer_cost_reports (insurer_code, admdvs, fund_year, revision, message_id, received_at, operating_cost, reported_at)
     SELECT insurer, '5331', '2024', 1, '${MSG}', '2025-03-01T00:00:00+08:00', round(sum(amount) * 0.07, 2), '2025-03-01T00:00:00+08:00'
       FROM (SELECT insurer_code AS insurer, amount FROM disbursements) d GROUP BY insurer`,
    `DROP TABLE gen`,
    `DROP TABLE gen_lines`,
    `VACUUM ANALYZE`,
  ];
}

/** The bare aggregate: what the region-year's settlements were paid, per insurer (one join, one pass). */
export const BARE_AGGREGATE = `
  SELECT l.insurer_code, count(*) AS lines, sum(l.paid_amount) AS paid
    FROM settlement_records s
    JOIN payment_lines l ON l.setl_id = s.setl_id
   WHERE s.status = 'valid' AND s.insuplc_admdvs LIKE '5331%'
     AND s.setl_time >= '2024-01-01T00:00:00+08:00' AND s.setl_time < '2025-01-01T00:00:00+08:00'
   GROUP BY l.insurer_code`;

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

/**
 * A day's traffic after the first statement: 0.1% new settlements of persons already there (paid the
 * next day), 0.05% reversals, 0.02% recoveries (one in 1,000, 2,000 and 5,000 settlements) — all received after the statements before it.
 */
export function daySql(n: number): string[] {
  return [
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT 'N' || setl_id, 'valid', md5(setl_id || 'n'), message_id, record_index + ${n}, now(), 'N' || mdtrt_id, psn_no, insutype,
            insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time + interval '2 hours', period, medfee_sumamt, inscp_scp_amt, hifp_pay,
            hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral
       FROM settlement_records WHERE status = 'valid' AND record_index % 1000 = 5`,
    `INSERT INTO payments (insurer_code, payment_id, message_id, received_at, payee_type, payee_id, pay_time, bank_txn_no, pay_amount)
     SELECT insurer_code, 'PN-' || setl_id, message_id, now(), 'institution', fixmedins_code, '2025-01-20T10:00:00+08:00', 'BKN' || setl_id, hifob_pay
       FROM settlement_records WHERE setl_id LIKE 'NF%'`,
    `INSERT INTO payment_lines (insurer_code, payment_id, line_no, setl_id, paid_amount)
     SELECT insurer_code, 'PN-' || setl_id, 0, setl_id, hifob_pay FROM settlement_records WHERE setl_id LIKE 'NF%'`,
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT setl_id, 'reversed', md5(setl_id || 'rd'), message_id, record_index, now(), mdtrt_id, psn_no, insutype, insuplc_admdvs, mdtrtarea_admvs,
            fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail,
            insurer_code, setl_mode, referral
       FROM settlement_records WHERE status = 'valid' AND record_index % 2000 = 17 ON CONFLICT DO NOTHING`,
    `INSERT INTO recoveries (insurer_code, recovery_id, message_id, received_at, setl_id, amount, reason_code, recovered_at)
     SELECT insurer_code, 'RD-' || setl_id, message_id, now(), setl_id, 80.00, 'R04', '2025-01-21T10:00:00+08:00'
       FROM settlement_records WHERE status = 'valid' AND record_index % 5000 = 29 ON CONFLICT DO NOTHING`,
    `ANALYZE`,
  ];
}

/** One statement's time and what it judged with the rules (the rest from stored allowances). */
export interface StatementTiming {
  ms: number;
  status: string;
  error?: string;
  settlements: number;
  judged: number;
  findings: Record<string, number>;
}

export interface FundBenchResult {
  n: number;
  genMs: number;
  bareMs: number;
  /** The region-year's first statement: every settlement judged, the allowances stored. */
  cold: StatementTiming;
  /** The next, with nothing new. */
  warm: StatementTiming;
  /** After a day's traffic (daySql): the nightly statement. */
  day: StatementTiming;
  peakRssMb: number;
  heapAfterMb: number;
}

export async function statementOnce(n: number): Promise<FundBenchResult> {
  const name = `gw_bench_fund_${n}`;
  const url = await freshDatabase(name);
  const db = createPgDb(url, 4);
  try {
    await migrate(db);
    const c = new Client({ connectionString: url });
    await c.connect();
    const g0 = performance.now();
    for (const sql of generateSql(n)) await c.query(sql);
    const genMs = performance.now() - g0;
    await c.query(BARE_AGGREGATE); // warm the cache as the statement will find it
    await c.end();

    const cfgRoot = ROOT;
    const deps = {
      db,
      regions: loadRegionPolicies(path.join(cfgRoot, 'regions')),
      calendar: WorkCalendar.fromData(
        JSON.parse(fs.readFileSync(path.join(cfgRoot, 'calendar', 'cn-workdays.json'), 'utf8')),
      ),
      log: createLogger('silent'),
      now: () => Date.now(),
    };
    const statement = async (): Promise<StatementTiming> => {
      const st = await createStatement(db, {
        admdvs: '5331',
        fundYear: 2024,
        asOf: new Date(AS_OF),
        trigger: 'cli',
        requestedBy: 'bench',
        at: new Date(),
      });
      const t0 = performance.now();
      let error: string | undefined;
      try {
        await executeStatement(deps, st.statement_id);
      } catch (err) {
        error = (err as Error).message;
      }
      const ms = performance.now() - t0;
      const row = await getStatement(db, st.statement_id);
      const summary = (row?.summary ?? {}) as {
        settlements?: number;
        settlements_judged?: number;
        findings?: Record<string, number>;
      };
      return {
        ms,
        status: row?.status ?? 'missing',
        ...(error ? { error } : {}),
        settlements: summary.settlements ?? 0,
        judged: summary.settlements_judged ?? 0,
        findings: summary.findings ?? {},
      };
    };
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const cold = await statement();
    const warm = await statement();
    const c2 = new Client({ connectionString: url });
    await c2.connect();
    for (const sql of daySql(n)) await c2.query(sql);
    const bareMs = await timeQuery(c2, BARE_AGGREGATE, 3);
    await c2.end();
    const day = await statement();
    clearInterval(sampler);
    // maxRSS covers the peaks the 50 ms sampler misses while the event loop is busy.
    peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
    return {
      n,
      genMs,
      bareMs,
      cold,
      warm,
      day,
      peakRssMb: peak / 2 ** 20,
      heapAfterMb: process.memoryUsage().heapUsed / 2 ** 20,
    };
  } finally {
    await db.close();
    // BENCH_KEEP_DB=1 keeps the generated year for EXPLAIN (ANALYZE) afterwards.
    if (!process.env.BENCH_KEEP_DB) await dropDatabase(name);
  }
}

const fmtN = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchFundStatement(sizes?: number[]): Promise<string[]> {
  const ns = sizes ?? (QUICK ? [50_000] : [1_000_000]);
  const out: string[] = [];
  for (const n of ns) {
    const r = await statementOnce(n);
    process.stderr.write(`fund statement ${fmtN(n)}: ${JSON.stringify(r)}\n`);
    const big = n >= 1_000_000;
    const row = (what: string, t: StatementTiming, target: string, judgedTarget: boolean) => {
      const ratio = t.ms / r.bareMs;
      out.push(
        line(
          `fund-year statement ${fmtN(n)} settlements, ${what}`,
          `${s(t.ms)} (${t.status}${t.error ? `: ${t.error}` : ''}; ${t.settlements} settlements, ${t.judged} judged with the rules)`,
          `${s(r.bareMs)} (bare SQL payouts per insurer)`,
          ratio,
          target,
          t.status === 'completed' && (!judgedTarget || !big || ratio <= 5),
        ),
      );
    };
    row(
      `first statement of the year (every settlement judged, allowances stored; generated in ${s(r.genMs)})`,
      r.cold,
      'informational (rules cost)',
      false,
    );
    row('next statement, nothing new', r.warm, 'informational', false);
    row(
      'nightly statement after a day’s traffic (0.1% new settlements, 0.05% reversed)',
      r.day,
      big ? '≤ 5×' : 'informational (≤ 5× at 1M)',
      true,
    );
    out.push(
      line(
        `fund-year statement ${fmtN(n)}, bench process peak RSS`,
        `${r.peakRssMb.toFixed(0)} MB`,
        '1024 MB',
        r.peakRssMb / 1024,
        'informational',
        true,
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
  benchFundStatement(sizes.length ? sizes : undefined).then(
    (lines) => {
      process.stdout.write(`${lines.join('\n')}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
