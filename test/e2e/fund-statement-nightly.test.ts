/**
 * Statement rows stay bounded (issue 16): the nightly run asks for two statements a night per region;
 * each completed nightly statement replaces the region-year's earlier nightly ones, while statements
 * asked for through the API (someone holds their id) and other region-years' stay.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { createStatement, replaceEarlierNightly } from '../../src/fund/statement-store';
import * as fx from '../support/fixtures';
import { api, until } from './notifications-support';

let clock = Date.parse('2025-06-10T02:00:00+08:00');
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('fund_statement_nightly', { now: () => clock });
  const r = await t.post(
    '/v1/agency/disbursements',
    fx.disbursement({
      disbursement_id: 'D1',
      insurer_code: 'PICC_DH',
      period: '2024-03',
      amount: '1000.00',
      disbursed_at: '2024-03-05T09:00:00+08:00',
      admdvs: '5331',
    }),
    'agency',
  );
  expect(r.status).toBe(202);
  await t.drain();
});
afterAll(() => t.close());

async function done(id: string): Promise<void> {
  await until(
    async () => ['completed', 'failed'].includes((await t.get(`/v1/fund-statements/${id}`, 'ops')).data.status),
    30_000,
    `statement ${id}`,
  );
}

async function nightly(admdvs: string, fundYear: number): Promise<string> {
  const st = await createStatement(t.gw.db, {
    admdvs,
    fundYear,
    asOf: new Date(clock),
    trigger: 'nightly',
    requestedBy: 'scheduler',
    at: new Date(clock),
  });
  t.gw.relay.kick();
  await done(st.statement_id);
  return st.statement_id;
}

const rows = async () =>
  (
    await t.gw.db.query<{ statement_id: string; admdvs: string; fund_year: number; trigger: string }>(
      `SELECT statement_id::text, admdvs, fund_year, trigger FROM fund_statements ORDER BY created_at`,
    )
  ).rows;

test("when the nightly run has computed a region-year's statement night after night, then only the latest nightly one is kept", async () => {
  const byApi = await api(t, 'post', '/v1/fund-statements', 'agency', { admdvs: '5331', fund_year: '2024' });
  expect(byApi.status).toBe(202);
  await done(byApi.data.statement_id);
  let last2024 = '',
    last2025 = '';
  for (let night = 0; night < 4; night++) {
    last2024 = await nightly('5331', 2024);
    last2025 = await nightly('5331', 2025);
    clock += 86_400_000;
  }
  const other = await nightly('1509', 2024);
  const kept = await rows();
  expect(
    kept
      .filter((r) => r.trigger === 'nightly')
      .map((r) => r.statement_id)
      .sort(),
  ).toEqual([last2024, last2025, other].sort());
  expect(kept.filter((r) => r.trigger === 'api').map((r) => r.statement_id)).toEqual([byApi.data.statement_id]);
  // The kept one reads as before; a replaced one is gone (404), as any unknown statement.
  expect((await t.get(`/v1/fund-statements/${last2024}`, 'agency')).data).toMatchObject({
    status: 'completed',
    region: { disbursed_to_insurers: '1000.00' },
  });
});

test("when a nightly statement completes, then earlier nightly ones still queued or running, later ones and the API's stay", async () => {
  const at = (d: string) => new Date(`2022-0${d}T02:00:00+08:00`);
  const put = async (id: string, trigger: string, status: string, created: Date) =>
    t.gw.db.query(
      `INSERT INTO fund_statements (statement_id, admdvs, fund_year, as_of, status, trigger, requested_by, created_at) VALUES ($1, '5331', 2022, $2, $3, $4, 'scheduler', $2)`,
      [id, created, status, trigger],
    );
  const id = (n: number) => `00000000-0000-7000-8000-00000000000${n}`;
  await put(id(1), 'nightly', 'completed', at('1-01'));
  await put(id(2), 'nightly', 'failed', at('1-02'));
  await put(id(3), 'nightly', 'queued', at('1-03'));
  await put(id(4), 'nightly', 'running', at('1-04'));
  await put(id(5), 'api', 'completed', at('1-05'));
  await put(id(6), 'nightly', 'completed', at('1-06')); // the one completing now
  await put(id(7), 'nightly', 'completed', at('1-07')); // created after it (finished first)
  const gone = await t.gw.db.tx((q) =>
    replaceEarlierNightly(q, { statement_id: id(6), admdvs: '5331', fund_year: 2022, created_at: at('1-06') }),
  );
  expect(gone).toBe(2);
  expect(
    (await rows())
      .filter((r) => r.fund_year === 2022)
      .map((r) => r.statement_id)
      .sort(),
  ).toEqual([id(3), id(4), id(5), id(6), id(7)]);
});
