/**
 * The benefit audit runs an audit's chunks of person-years in two lanes side by side on PostgreSQL
 * (benefits/audit.ts AUDIT_LANES). A feed of 700 person-years (three chunks, both lanes) must leave
 * the stored results and the cases that auditing each person-year alone, one after the other, gives.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { auditPersonYears } from '../../src/benefits/audit';
import { district, feed } from './benefits-support';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('benefits-audit-lanes');
});
afterAll(async () => {
  await t.close();
});

const PEOPLE = 700;

const results = async () =>
  (
    await t.gw.db.query(
      `SELECT setl_id, person_year, checked, unchecked_reason, expected_amount, actual_amount, difference, deviates,
              derivation, result_sha FROM settlement_benefits ORDER BY setl_id`,
    )
  ).rows;
const openCases = async () =>
  (
    await t.gw.db.query(
      `SELECT code, subject_key, group_key, expected_amount, actual_amount, difference FROM discrepancies
        WHERE status <> 'resolved' AND code IN ('BENEFIT_RULE_DEVIATION', 'ANNUAL_CAP_EXCEEDED') ORDER BY subject_key, code`,
    )
  ).rows;

test('when a feed names more person-years than one chunk, then both lanes store what auditing each person-year alone stores', async () => {
  const settlements = [];
  for (let p = 0; p < PEOPLE; p++)
    for (let k = 0; k < 2; k++) {
      const deviating = p % 7 === 3 && k === 1;
      settlements.push(
        district({
          setl_id: `LN-${p}-${k}`,
          psn_no: `P-LN-${String(p).padStart(4, '0')}`,
          setl_time: `2025-0${3 + k}-1${p % 10} 09:30:00`,
          bases: [{ amount: k === 0 ? '30000.00' : '45000.00' }],
          hifob_pay: deviating ? '1.00' : '0.00',
        }),
      );
    }
  await feed(t, settlements);
  const byFeed = await results();
  const casesByFeed = await openCases();
  expect(byFeed).toHaveLength(2 * PEOPLE);
  expect(casesByFeed.length).toBeGreaterThan(PEOPLE / 7);

  const keys = [...new Set(byFeed.map((r) => r.person_year as string))].sort();
  expect(keys).toHaveLength(PEOPLE);
  await t.gw.db.query('DELETE FROM settlement_benefits');
  for (const k of keys) await auditPersonYears(t.gw, [k], new Date());
  expect(await results()).toEqual(byFeed);
  expect(await openCases()).toEqual(casesByFeed);

  // And all of them at once again: nothing changes.
  const again = await auditPersonYears(t.gw, keys, new Date());
  expect(again).toMatchObject({ person_years: PEOPLE, settlements: 2 * PEOPLE, opened: 0, updated: 0, resolved: 0 });
  expect(await results()).toEqual(byFeed);
}, 120_000);
