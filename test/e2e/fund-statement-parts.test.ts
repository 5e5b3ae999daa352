/**
 * The statement reads a region-year's settlements a part of persons at a time (statement-service.ts
 * statementFiguresOf), keeping only payout totals, so memory is bounded by the part: the figures are
 * the same, to the fen, as the pure computation over the whole year at once, whatever the part size.
 * Data: the fund bench's generator (bench/fund-statement.ts), 3,000 settlements of 1,000 persons in
 * Dehong 2024 — several a person, some reversed after payment, some overpaid, some recovered.
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
const st = {
  admdvs: '5331',
  fund_year: 2024,
  as_of: new Date('2025-06-01T00:00:00+08:00'),
  known_at: new Date('2025-06-01T00:00:00+08:00'),
  opening_balance: Money.of('-1000.00'),
};

beforeAll(async () => {
  tdb = await createTestDatabase('fund_statement_parts');
  db = createPgDb(tdb.url, 2);
  await migrate(db);
  const c = new Client({ connectionString: tdb.url });
  await c.connect();
  for (const sql of generateSql(3000)) await c.query(sql);
  await c.end();
}, 60_000);
afterAll(async () => {
  await db.close();
  await tdb.drop();
});

test("when the settlements are read a part of persons at a time, then every figure and finding is the whole year's", async () => {
  const whole = await db.tx(async (q) => computeFundStatement(await loadStatementInput(q, deps, st)));
  expect(whole.settlements.count).toBe(3000);
  expect(whole.settlements.limited).toBeGreaterThan(0);
  const view = (f: typeof whole) =>
    JSON.parse(JSON.stringify({ ...statementFigures(f), findings: f.findings, settlements: f.settlements }));
  for (const part of [1, 7, 333, 5000]) {
    const { figures } = await db.tx((q) => statementFiguresOf(q, deps, st, part));
    expect([part, view(figures)]).toEqual([part, view(whole)]);
  }
});
