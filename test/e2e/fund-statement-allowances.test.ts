/**
 * The statement keeps what each settlement allows (ledger/allowance-store.ts) and, the next time, runs the
 * pure rules only for the persons whose facts changed; the rest it adds up in SQL. Whatever was stored
 * before, under whichever clocks, the figures and findings must be the ones of the pure computation
 * over the whole year at once (computeFundStatement ∘ loadStatementInput), to the fen — after new
 * settlements, a reversal that arrives with an earlier received_at than the stored computation (a
 * transaction that committed late), new payments and recoveries, an earlier known_at, and a changed
 * region file. Data: the fund bench's generator made varied as in fund-statement-read-agree.test.ts.
 */
import { Client } from 'pg';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase } from '../support/test-db';
import { createPgDb, type Db } from '../../src/db/db';
import { migrate } from '../../src/db/migrate';
import { loadConfig } from '../../src/config/config';
import { createRegionPolicies, loadRegionPolicies } from '../../src/benefits/region-policy';
import { WorkCalendar } from '../../src/deadlines/calendar';
import { computeFundStatement } from '../../src/fund/statement';
import { loadStatementInput, statementFiguresOf } from '../../src/fund/statement-service';
import { statementFigures } from '../../src/fund/statement-view';
import { Money } from '../../src/money';
import { generateSql } from '../../bench/fund-statement';

let tdb: { url: string; drop: () => Promise<void> };
let db: Db;
let c: Client;
const cfg = loadConfig({});
const calendar = WorkCalendar.fromData(JSON.parse(fs.readFileSync(cfg.calendarFile, 'utf8')));
const deps = { regions: loadRegionPolicies(cfg.regionsDir), calendar };

/** The same regions with Dehong's large-expense ratio at 85% instead of 90%. */
function changedRegions() {
  const files = fs.readdirSync(cfg.regionsDir).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'));
  return createRegionPolicies(
    files.map((file) => {
      let text = fs.readFileSync(path.join(cfg.regionsDir, file), 'utf8');
      if (file.startsWith('dehong')) text = text.replace('"ratio": "0.90"', '"ratio": "0.85"');
      return { file, text };
    }),
  );
}

const VARY = [
  `UPDATE settlement_records SET setl_mode = 'manual' WHERE record_index % 10 = 1`,
  `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
     insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
     acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
   SELECT 'D' || setl_id, 'valid', md5(setl_id || 'd'), message_id, record_index + 100000, received_at, mdtrt_id,
          CASE WHEN record_index % 40 = 1 THEN 'PQ' || record_index ELSE psn_no END, insutype, insuplc_admdvs, mdtrtarea_admvs,
          fixmedins_code, med_type, CASE WHEN record_index % 20 = 1 THEN setl_time - interval '400 days' ELSE setl_time - interval '1 day' END,
          period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail, insurer_code, 'direct', referral
     FROM settlement_records WHERE status = 'valid' AND record_index % 30 = 1`,
  `UPDATE settlement_records SET psn_no = 'PR' || record_index WHERE status = 'reversed' AND record_index % 400 = 3`,
  `UPDATE settlement_records SET received_at = '2025-07-15T00:00:00+08:00' WHERE status = 'valid' AND record_index % 50 = 9`,
  `UPDATE payments SET pay_time = '2025-07-01T10:00:00+08:00' WHERE payment_id LIKE '%-202411-%'`,
  `UPDATE payments SET received_at = '2025-08-01T00:00:00+08:00' WHERE payment_id LIKE '%-202410-%' AND insurer_code = 'PICC_DH'`,
  `UPDATE payments SET payee_id = 'HX0000001' WHERE payment_id LIKE '%-202405-%' AND insurer_code = 'CPIC_DH'`,
  `UPDATE recoveries SET received_at = '2025-07-20T00:00:00+08:00' WHERE recovery_id LIKE '%1'`,
  `ANALYZE`,
];

beforeAll(async () => {
  tdb = await createTestDatabase('fund_statement_allowances');
  db = createPgDb(tdb.url, 2);
  await migrate(db);
  c = new Client({ connectionString: tdb.url });
  await c.connect();
  for (const sql of [...generateSql(3000), ...VARY]) await c.query(sql);
}, 60_000);
afterAll(async () => {
  await c.end();
  await db.close();
  await tdb.drop();
});

type Deps = typeof deps;
const clocks = (asOf: string, knownAt: string) => ({
  admdvs: '5331',
  fund_year: 2024,
  as_of: new Date(asOf),
  known_at: new Date(knownAt),
  opening_balance: Money.of('0'),
});

async function whole(d: Deps, st: ReturnType<typeof clocks>) {
  return db.tx(async (q) => computeFundStatement(await loadStatementInput(q, d, st)));
}
const view = (f: Awaited<ReturnType<typeof whole>>) =>
  JSON.parse(JSON.stringify({ ...statementFigures(f), findings: f.findings, settlements: f.settlements }));

/** Computes the statement through the stored allowances (storing what it judges) and checks it against the whole year's. */
async function agrees(d: Deps, st: ReturnType<typeof clocks>, o: { store: boolean; cursorAbove?: number }) {
  const expected = await whole(d, st);
  const got = await db.tx((q) =>
    statementFiguresOf(q, d, st, 97, { store: o.store, at: st.known_at, cursorAbove: o.cursorAbove }),
  );
  expect(view(got.figures)).toEqual(view(expected));
  return { judged: got.judged, expected };
}

const stored = async () => Number((await c.query(`SELECT count(*) FROM settlement_allowances`)).rows[0].count);

test('the first statement judges every settlement and stores the allowances; the next judges only persons with a manual settlement', async () => {
  const st = clocks('2025-09-01T00:00:00+08:00', '2025-09-01T00:00:00+08:00');
  const first = await agrees(deps, st, { store: true, cursorAbove: 100 });
  expect(first.expected.settlements.count).toBeGreaterThan(2500);
  expect(first.expected.settlements.limited).toBeGreaterThan(0);
  expect(await stored()).toBeGreaterThan(1000);
  const second = await agrees(deps, st, { store: true });
  expect(second.judged).toBeGreaterThan(0); // persons with a manual settlement: judged every time
  expect(second.judged).toBeLessThan(first.judged / 2);
});

test('at other clocks (an earlier as_of, an earlier known_at) the stored allowances give the same figures as the whole year', async () => {
  await agrees(deps, clocks('2024-12-01T00:00:00+08:00', '2025-09-01T00:00:00+08:00'), { store: false });
  await agrees(deps, clocks('2025-09-01T00:00:00+08:00', '2025-06-01T00:00:00+08:00'), { store: false });
  await agrees(deps, clocks('2025-09-01T00:00:00+08:00', '2025-01-06T00:00:00+08:00'), { store: false });
  // A statement at an earlier known_at that stores what it judged does not make a later one wrong.
  await agrees(deps, clocks('2025-09-01T00:00:00+08:00', '2025-06-01T00:00:00+08:00'), { store: true });
  await agrees(deps, clocks('2025-09-01T00:00:00+08:00', '2025-09-01T00:00:00+08:00'), { store: true });
});

test('new settlements, a late-committed reversal, new payments and recoveries: only their persons are judged again, and the figures are the whole year’s', async () => {
  const st = clocks('2025-09-01T00:00:00+08:00', '2025-10-01T00:00:00+08:00');
  await agrees(deps, st, { store: true });
  const base = (await agrees(deps, st, { store: true })).judged;
  // Two new settlements of a person already stored (one of them above the others: it changes nothing of theirs but its own).
  await c.query(
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT 'N' || setl_id, 'valid', md5(setl_id || 'n'), message_id, record_index + 200000, '2025-09-20T00:00:00+08:00', 'MN' || setl_id, psn_no, insutype,
            insuplc_admdvs, '110101', fixmedins_code, med_type, setl_time + interval '1 hour', period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay + 500,
            fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail, insurer_code, 'direct', false
       FROM settlement_records WHERE status = 'valid' AND setl_mode = 'direct' AND record_index IN (12, 14)`,
  );
  // A reversal received "before" the stored computation's basis (its transaction committed after the statement read).
  await c.query(
    `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
       insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
       acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
     SELECT setl_id, 'reversed', md5(setl_id || 'late'), message_id, record_index, '2025-01-06T00:00:00+08:00', mdtrt_id, psn_no, insutype,
            insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay,
            fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral
       FROM settlement_records WHERE status = 'valid' AND setl_mode = 'direct' AND record_index IN (22, 24)
       ON CONFLICT DO NOTHING`,
  );
  // A payment of the new settlements, and a recovery of a stored one.
  await c.query(
    `INSERT INTO payments (insurer_code, payment_id, message_id, received_at, payee_type, payee_id, pay_time, bank_txn_no, pay_amount)
     SELECT insurer_code, 'PN-' || setl_id, message_id, '2025-09-21T00:00:00+08:00', 'institution', fixmedins_code, '2025-09-21T00:00:00+08:00', 'BKN' || setl_id, hifob_pay
       FROM settlement_records WHERE setl_id LIKE 'NF%'`,
  );
  await c.query(
    `INSERT INTO payment_lines (insurer_code, payment_id, line_no, setl_id, paid_amount)
     SELECT insurer_code, 'PN-' || setl_id, 0, setl_id, hifob_pay FROM settlement_records WHERE setl_id LIKE 'NF%'`,
  );
  await c.query(
    `INSERT INTO recoveries (insurer_code, recovery_id, message_id, received_at, setl_id, amount, reason_code, recovered_at)
     SELECT insurer_code, 'RN-' || setl_id, message_id, '2025-09-22T00:00:00+08:00', setl_id, 50.00, 'R04', '2025-09-22T00:00:00+08:00'
       FROM settlement_records WHERE status = 'valid' AND record_index = 32`,
  );
  const after = await agrees(deps, st, { store: true });
  expect(after.judged).toBeGreaterThan(base);
  expect(after.judged).toBeLessThan(base + 40);
  const again = await agrees(deps, st, { store: true });
  expect(again.judged).toBe(base);
});

test('a changed region file makes every stored allowance stale: the statement judges the year again under the new rules', async () => {
  const st = clocks('2025-09-01T00:00:00+08:00', '2025-10-01T00:00:00+08:00');
  const changed = { regions: changedRegions(), calendar };
  const before = await whole(deps, st);
  const now = await agrees(changed, st, { store: true });
  expect(view(now.expected)).not.toEqual(view(before));
  expect(now.judged).toBeGreaterThan(2500);
  // and back
  await agrees(deps, st, { store: true });
  expect((await agrees(deps, st, { store: true })).judged).toBeLessThan(now.judged / 2);
});

test('a statement as of a later date counts what was paid in between: the persons whose payments it passes are judged again', async () => {
  const early = clocks('2024-12-01T00:00:00+08:00', '2025-10-01T00:00:00+08:00');
  await agrees(deps, early, { store: true });
  const base = (await agrees(deps, early, { store: true })).judged;
  const later = await agrees(deps, clocks('2025-02-01T00:00:00+08:00', '2025-10-01T00:00:00+08:00'), { store: true });
  expect(later.judged).toBeGreaterThan(base);
  // and back to the earlier date: what was kept at the later one does not hold there either
  await agrees(deps, early, { store: false });
});

test('a settlement whose reversal came first and named another person: when its valid row arrives, it moves to that person and is counted once', async () => {
  const st = clocks('2025-09-01T00:00:00+08:00', '2025-11-01T00:00:00+08:00');
  const row = (status: string, psn: string) =>
    c.query(
      `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
         insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
         acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
       SELECT 'OX1', $1, md5($1), message_id, 300001, '2025-10-01T00:00:00+08:00', 'MOX1', $2, insutype, insuplc_admdvs, mdtrtarea_admvs,
              fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay,
              psn_cash_pay, setldetail, insurer_code, 'direct', referral
         FROM settlement_records WHERE status = 'valid' AND record_index = 42`,
      [status, psn],
    );
  await row('reversed', 'PRX1');
  await agrees(deps, st, { store: true });
  const owner = (await c.query(`SELECT psn_no FROM settlement_records WHERE status = 'valid' AND record_index = 42`))
    .rows[0].psn_no as string;
  await row('valid', owner);
  await agrees(deps, st, { store: true });
  await agrees(deps, st, { store: true });
});

test('a kept snapshot from another life of the database (transaction ids beyond the current one) is not used: everyone is judged', async () => {
  const st = clocks('2025-09-01T00:00:00+08:00', '2025-11-01T00:00:00+08:00');
  await agrees(deps, st, { store: true });
  expect((await agrees(deps, st, { store: false })).judged).toBeLessThan(1500);
  await c.query(`UPDATE allowance_bases SET snapshot = '900000000:900000001:'`);
  expect((await agrees(deps, st, { store: false })).judged).toBeGreaterThan(2500);
});
