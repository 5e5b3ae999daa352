/**
 * The statement reads its region-year through ONE query read by a cursor (ledger/fund-read-model.ts
 * forEachSettlementPart, used by statementFiguresOf); the whole-year loader (loadStatementInput) reads it
 * with the four separate queries (settlements, siblings, lines, recoveries). On a generated year made
 * varied on purpose — manual settlements, duplicate reimbursements with a direct sibling in and out of the
 * window, reversals naming another person, payments after as_of, facts received after known_at, wrong
 * payees — both give every figure and finding to the fen, at several clocks and part sizes.
 */
import { Client } from 'pg';
import { createTestDatabase } from '../support/test-db';
import { createPgDb, type Db } from '../../src/db/db';
import { migrate } from '../../src/db/migrate';
import { loadConfig } from '../../src/config/config';
import { loadRegionPolicies } from '../../src/benefits/region-policy';
import { WorkCalendar } from '../../src/deadlines/calendar';
import { computeFundStatement } from '../../src/fund/statement';
import { loadStatementInput, statementFiguresOf } from '../../src/fund/statement-service';
import { statementFigures } from '../../src/fund/statement-view';
import { Money } from '../../src/money';
import { generateSql } from '../../bench/fund-statement';
import fs from 'node:fs';

let tdb: { url: string; drop: () => Promise<void> };
let db: Db;
const cfg = loadConfig({});
const deps = {
  regions: loadRegionPolicies(cfg.regionsDir),
  calendar: WorkCalendar.fromData(JSON.parse(fs.readFileSync(cfg.calendarFile, 'utf8'))),
};

const VARY = [
  // Manual settlements, some duplicating a direct one of the same visit (in the year, and in 2023: outside the window).
  `UPDATE settlement_records SET setl_mode = 'manual' WHERE record_index % 10 = 1`,
  `INSERT INTO settlement_records (setl_id, status, content_sha256, message_id, record_index, received_at, mdtrt_id, psn_no, insutype,
     insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time, period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt,
     acct_pay, psn_cash_pay, setldetail, insurer_code, setl_mode, referral)
   SELECT 'D' || setl_id, 'valid', md5(setl_id || 'd'), message_id, record_index + 100000, received_at, mdtrt_id,
          CASE WHEN record_index % 40 = 1 THEN 'PQ' || record_index ELSE psn_no END, insutype, insuplc_admdvs, mdtrtarea_admvs,
          fixmedins_code, med_type, CASE WHEN record_index % 20 = 1 THEN setl_time - interval '400 days' ELSE setl_time - interval '1 day' END,
          period, medfee_sumamt, inscp_scp_amt, hifp_pay, hifob_pay, fund_pay_sumamt, acct_pay, psn_cash_pay, setldetail, insurer_code, 'direct', referral
     FROM settlement_records WHERE status = 'valid' AND record_index % 30 = 1`,
  // A reversal whose row names another person (the settlement belongs to the person its merged state names).
  `UPDATE settlement_records SET psn_no = 'PR' || record_index WHERE status = 'reversed' AND record_index % 400 = 3`,
  // Facts received late (after some known_at) and paid late (after some as_of), payees that are not the institution.
  `UPDATE settlement_records SET received_at = '2025-07-15T00:00:00+08:00' WHERE status = 'valid' AND record_index % 50 = 9`,
  `UPDATE payments SET pay_time = '2025-07-01T10:00:00+08:00' WHERE payment_id LIKE '%-202411-%'`,
  `UPDATE payments SET received_at = '2025-08-01T00:00:00+08:00' WHERE payment_id LIKE '%-202410-%' AND insurer_code = 'PICC_DH'`,
  `UPDATE payments SET payee_id = 'HX0000001' WHERE payment_id LIKE '%-202405-%' AND insurer_code = 'CPIC_DH'`,
  `UPDATE recoveries SET received_at = '2025-07-20T00:00:00+08:00' WHERE recovery_id LIKE '%1'`,
  `ANALYZE`,
];

beforeAll(async () => {
  tdb = await createTestDatabase('fund_statement_read_agree');
  db = createPgDb(tdb.url, 2);
  await migrate(db);
  const c = new Client({ connectionString: tdb.url });
  await c.connect();
  for (const sql of [...generateSql(3000), ...VARY]) await c.query(sql);
  await c.end();
}, 60_000);
afterAll(async () => {
  await db.close();
  await tdb.drop();
});

const clocks: Array<[string, string]> = [
  ['2025-06-01T00:00:00+08:00', '2025-06-01T00:00:00+08:00'],
  ['2025-09-01T00:00:00+08:00', '2025-09-01T00:00:00+08:00'],
  ['2024-12-01T00:00:00+08:00', '2025-09-01T00:00:00+08:00'],
  ['2025-09-01T00:00:00+08:00', '2025-01-06T00:00:00+08:00'],
];

test.each(clocks)(
  'as of %s, known at %s: the one-query cursor read gives the four-query whole-year figures to the fen',
  async (asOf, knownAt) => {
    const st = {
      admdvs: '5331',
      fund_year: 2024,
      as_of: new Date(asOf),
      known_at: new Date(knownAt),
      opening_balance: Money.of('0'),
    };
    const whole = await db.tx(async (q) => computeFundStatement(await loadStatementInput(q, deps, st)));
    expect(whole.settlements.count).toBeGreaterThan(2500);
    expect(whole.settlements.limited).toBeGreaterThan(0);
    const view = (f: typeof whole) =>
      JSON.parse(JSON.stringify({ ...statementFigures(f), findings: f.findings, settlements: f.settlements }));
    for (const part of [1, 37, 5000]) {
      const { figures } = await db.tx((q) => statementFiguresOf(q, deps, st, part));
      expect([part, view(figures)]).toEqual([part, view(whole)]);
    }
  },
);
