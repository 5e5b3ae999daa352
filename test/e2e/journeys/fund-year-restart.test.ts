/**
 * Journey (issue 16, the fund year) on `npm start`'s embedded database: tax posts a premium
 * collection, finance a transfer, an insurer a cost report, the agency its year; a statement is
 * computed; Ctrl-C (SIGINT); `npm start` again on the same data: the statement, its XLSX/CSV and
 * public exports and every message read back. Clients reaching outside their scope (another
 * region's tax bureau, finance naming another region, finance or another agency reading a
 * statement) get a clear 4xx with the JSON path, and nothing of theirs is stored. Then a stream of
 * collections, transfers and cost reports is cut by kill -9: every 202 is there after the restart,
 * and resending it answers 200 duplicate with the same message id.
 */
import * as ExcelJS from 'exceljs';
import axios from 'axios';
import { disbursement, payment, settlement } from '../../support/fixtures';
import { TEST_CLIENTS, type TestClientName } from '../../support/test-clients';
import { journeyEnv, startGateway, until, waitProcessed, type GatewayProc, type JourneyEnv } from './journey-support';

// Two embedded-database starts, a statement and its exports: minutes on a loaded machine.
jest.setTimeout(300_000);

let env: JourneyEnv;
beforeAll(async () => {
  env = await journeyEnv('fund-year', 'embedded');
});
afterAll(async () => {
  await env.cleanup();
});

const collection = (id: string, o: Record<string, unknown> = {}) => ({
  collection_id: id,
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  payer_type: 'employer',
  insured_count: 1000,
  amount: '120000.00',
  collected_at: '2025-01-20 10:00:00',
  ...o,
});
const transfer = (id: string, o: Record<string, unknown> = {}) => ({
  transfer_id: id,
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  from_account: 'tax',
  to_account: 'treasury',
  amount: '120000.00',
  transferred_at: '2025-02-05T10:00:00+08:00',
  bank_txn_no: `BK-${id}`,
  ...o,
});
const costReport = (revision: number, o: Record<string, unknown> = {}) => ({
  insurer_code: 'PICC_DH',
  admdvs: '5331',
  fund_year: '2024',
  revision,
  operating_cost: '9000.00',
  admin_cost: '0.00',
  items: [{ category: '人员经费', amount: '9000.00' }],
  reported_at: '2025-03-01T10:00:00+08:00',
  ...o,
});

const bearer = (
  gw: GatewayProc,
  method: 'get' | 'post',
  p: string,
  as: TestClientName,
  body?: unknown,
  binary = false,
) =>
  axios.request({
    method,
    url: `${gw.url}${p}`,
    data: body,
    validateStatus: () => true,
    responseType: binary ? 'arraybuffer' : 'json',
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
  });

async function accepted(gw: GatewayProc, p: string, body: unknown, as: TestClientName): Promise<string> {
  const r = await gw.post(p, body, as);
  if (r.status !== 202) throw new Error(`${p} as ${as} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r.data.message_id as string;
}

const paths = (r: { data: { errors?: { path: string }[] } }) => (r.data.errors ?? []).map((e) => e.path);

let statementId = '';
/** The gateway after the restart: the kill -9 journey goes on with it (a start of the embedded database costs seconds). */
let running: GatewayProc | undefined;
const sent: string[] = [];

test('the fund year through `npm start`, Ctrl-C, `npm start` again: the statement and its exports read back', async () => {
  const gw = await startGateway(env);
  await gw.waitReady();

  // Ulanqab: tax collects, finance passes it on.
  sent.push(await accepted(gw, '/v1/premium-collections', collection('FY-C1'), 'tax'));
  sent.push(await accepted(gw, '/v1/fund-transfers', transfer('FY-T1'), 'finance'));
  // Dehong 2024: the agency's year, one insurer's payout and cost report.
  sent.push(
    await accepted(
      gw,
      '/v1/agency/settlements',
      { settlements: [settlement({ setl_id: 'FY-S1', setl_time: '2024-03-10 09:30:00' })] },
      'agency',
    ),
  );
  sent.push(
    await accepted(
      gw,
      '/v1/insurer-payments',
      payment({
        payment_id: 'FY-P1',
        pay_time: '2024-04-15T10:00:00+08:00',
        lines: [{ setl_id: 'FY-S1', paid_amount: '90000.00' }],
      }),
      'insurerA',
    ),
  );
  sent.push(
    await accepted(
      gw,
      '/v1/agency/disbursements',
      disbursement({
        disbursement_id: 'FY-D1',
        admdvs: '5331',
        period: '2024-03',
        amount: '100000.00',
        disbursed_at: '2024-03-05T09:00:00+08:00',
      }),
      'agency',
    ),
  );
  sent.push(
    await accepted(
      gw,
      '/v1/premium-collections',
      collection('FY-C2', {
        admdvs: '533102',
        fund_year: '2024',
        period: '2024-02',
        amount: '150000.00',
        collected_at: '2024-02-15 10:00:00',
      }),
      'agency',
    ),
  );
  sent.push(await accepted(gw, '/v1/insurer-cost-reports', costReport(1), 'insurerA'));

  // Outside the sender's scope: 403 at /admdvs, and nothing stored (the same key is free for its owner).
  const jiaozuoTax = await gw.post('/v1/premium-collections', collection('FY-C-JZ'), 'taxOther');
  expect(jiaozuoTax.status).toBe(403);
  expect(jiaozuoTax.data.errors).toContainEqual(expect.objectContaining({ path: '/admdvs', code: 'OUT_OF_SCOPE' }));
  const financeElsewhere = await gw.post('/v1/fund-transfers', transfer('FY-T-DH', { admdvs: '533102' }), 'finance');
  expect(financeElsewhere.status).toBe(403);
  expect(paths(financeElsewhere)).toContain('/admdvs');
  expect(
    (await gw.post('/v1/insurer-cost-reports', costReport(1, { insurer_code: 'CPIC_DH' }), 'insurerA')).status,
  ).toBe(403);
  // Bad input of each kind: 422 naming the field.
  const bad: [string, unknown, TestClientName, string][] = [
    ['/v1/premium-collections', collection('FY-BAD1', { amount: '120000.001' }), 'tax', '/amount'],
    ['/v1/premium-collections', collection('FY-BAD2', { collected_at: '2025-02-30 10:00:00' }), 'tax', '/collected_at'],
    ['/v1/premium-collections', collection('FY-BAD3', { payer_type: 'boss' }), 'tax', '/payer_type'],
    ['/v1/fund-transfers', transfer('FY-BAD4', { to_account: 'tax' }), 'finance', '/to_account'],
    ['/v1/insurer-cost-reports', costReport(0), 'insurerA', '/revision'],
  ];
  for (const [p, body, as, at] of bad) {
    const r = await gw.post(p, body, as);
    expect({ p, status: r.status, paths: paths(r) }).toEqual({ p, status: 422, paths: expect.arrayContaining([at]) });
  }
  await waitProcessed(gw, sent, 'ops');

  // The statement, asked for by the agency; finance and another region's agency cannot ask or read.
  expect(
    (await bearer(gw, 'post', '/v1/fund-statements', 'finance', { admdvs: '1509', fund_year: '2025' })).status,
  ).toBe(403);
  const otherAgency = await bearer(gw, 'post', '/v1/fund-statements', 'agencyOther', {
    admdvs: '5331',
    fund_year: '2024',
  });
  expect(otherAgency.status).toBe(403);
  expect(paths(otherAgency)).toEqual(['/admdvs']);
  const badAsk = await bearer(gw, 'post', '/v1/fund-statements', 'agency', {
    admdvs: '5331',
    fund_year: '24',
    opening_balance: '1e5',
  });
  expect(badAsk.status).toBe(422);
  expect(paths(badAsk).sort()).toEqual(['/fund_year', '/opening_balance']);
  const asked = await bearer(gw, 'post', '/v1/fund-statements', 'agency', {
    admdvs: '5331',
    fund_year: '2024',
    as_of: '2025-06-01T00:00:00+08:00',
  });
  expect(asked.status).toBe(202);
  statementId = asked.data.statement_id;
  const done = await until('the statement', async () => {
    const r = await gw.get(`/v1/fund-statements/${statementId}`, 'agency');
    return r.data.status === 'completed' || r.data.status === 'failed' ? r.data : undefined;
  });
  expect(done.status).toBe('completed');
  expect(done.region).toMatchObject({
    premiums_collected: '150000.00',
    disbursed_to_insurers: '100000.00',
    compliant_payouts: '90000.00',
    closing_balance: '60000.00',
  });
  expect(done.insurers).toContainEqual(
    expect.objectContaining({
      insurer_code: 'PICC_DH',
      premium_income: '100000.00',
      operating_cost: '9000.00',
      profit: '1000.00',
      excess_profit: '0.00',
    }),
  );
  for (const who of ['finance', 'tax', 'insurerA'] as const)
    expect((await gw.get(`/v1/fund-statements/${statementId}`, who)).status).toBe(403);
  expect((await gw.get(`/v1/fund-statements/${statementId}`, 'agencyOther')).status).toBe(404);

  const stopped = await gw.stop('SIGINT', 15_000);
  expect(stopped.code).toBe(0);

  const again = await startGateway(env);
  await again.waitReady();
  for (const id of sent) expect((await again.get(`/v1/messages/${id}`, 'ops')).data.status).toBe('processed');
  const read = await again.get(`/v1/fund-statements/${statementId}`, 'agency');
  expect(read.status).toBe(200);
  expect(read.data).toEqual(done);
  const xlsx = await bearer(
    again,
    'get',
    `/v1/fund-statements/${statementId}/export?format=xlsx`,
    'agency',
    undefined,
    true,
  );
  expect(xlsx.status).toBe(200);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.data);
  expect(wb.worksheets.map((w) => w.name)).toEqual(['地区汇总', '保险公司', '账户']);
  const csv = await again.get(`/v1/fund-statements/${statementId}/export?format=csv&section=insurers`, 'agency');
  expect(csv.status).toBe(200);
  expect(String(csv.data)).toMatch(/^\uFEFF?保险公司编码,/);
  expect(String(csv.data)).toContain('PICC_DH,100000.00,90000.00');
  const pub = await again.get(`/v1/fund-statements/${statementId}/export?format=csv&audience=public`, 'agency');
  expect(String(pub.data)).toContain('年末滚存结余,60000.00');
  expect(String(pub.data)).not.toContain('PICC_DH');
  expect((await again.get(`/v1/fund-statements/${statementId}/export?format=pdf`, 'agency')).data.errors).toEqual([
    expect.objectContaining({ path: '?format' }),
  ]);
  // The next statement, on the restarted gateway, adds up what the first one kept (settlement_allowances):
  // the same figures, no settlement judged again.
  const next = await bearer(again, 'post', '/v1/fund-statements', 'agency', {
    admdvs: '5331',
    fund_year: '2024',
    as_of: '2025-06-01T00:00:00+08:00',
  });
  expect(next.status).toBe(202);
  const nextDone = await until('the next statement', async () => {
    const r = await again.get(`/v1/fund-statements/${next.data.statement_id}`, 'agency');
    return r.data.status === 'completed' || r.data.status === 'failed' ? r.data : undefined;
  });
  expect(nextDone.status).toBe('completed');
  expect([nextDone.region, nextDone.insurers]).toEqual([done.region, done.insurers]);
  expect(done.summary.settlements_judged).toBe(done.summary.settlements);
  expect(nextDone.summary.settlements_judged).toBe(0);
  // The collection another region's tax bureau tried to post was never stored: Ulanqab's tax posts it now, as new.
  expect((await again.post('/v1/premium-collections', collection('FY-C-JZ'), 'tax')).status).toBe(202);
  running = again;
});

test('kill -9 in the middle of a stream of collections, transfers and cost reports: every 202 is there after `npm start`', async () => {
  // Had the first journey failed half-way, its gateway would still hold the data directory.
  if (!running) await Promise.all(env.procs.map((p) => p.kill9()));
  const gw = running ?? (await startGateway(env));
  await gw.waitReady();
  const kinds: ((i: number) => [string, unknown, TestClientName])[] = [
    (i) => ['/v1/premium-collections', collection(`K-C${i}`, { insured_count: 10, amount: '1200.00' }), 'tax'],
    (i) => ['/v1/fund-transfers', transfer(`K-T${i}`, { amount: '1200.00' }), 'finance'],
    (i) => [
      '/v1/insurer-cost-reports',
      costReport(100 + i, { operating_cost: `${9000 + i}.00`, items: undefined }),
      'insurerA',
    ],
  ];
  const N = 60;
  const answered: { path: string; body: unknown; as: TestClientName; webhookId: string; messageId: string }[] = [];
  let next = 0;
  let killed = false;
  let gone = false;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!gone && next < N) {
        const i = next++;
        const [p, body, as] = kinds[i % kinds.length]!(i);
        const webhookId = `msg_fund_kill_${i}`;
        try {
          const r = await gw.post(p, body, as, { webhookId, timeoutMs: 20_000 });
          if (r.status !== 202) throw new Error(`${p} answered ${r.status}: ${JSON.stringify(r.data)}`);
          answered.push({ path: p, body, as, webhookId, messageId: r.data.message_id });
          if (!killed && answered.length >= 20) {
            killed = true;
            await gw.kill9();
          }
        } catch (e) {
          if ((e as Error).message.includes('answered')) throw e;
          gone = true;
        }
      }
    }),
  );
  expect(killed).toBe(true);

  const again = await startGateway(env);
  await again.waitReady();
  const missing = [];
  for (const a of answered)
    if ((await again.get(`/v1/messages/${a.messageId}`, 'ops')).status !== 200) missing.push(a.path);
  expect({ answered: answered.length >= 20, missing }).toEqual({ answered: true, missing: [] });
  // Sent again (a client that never saw the answer): the same message, nothing twice.
  for (const a of answered.slice(0, 6)) {
    const r = await again.post(a.path, a.body, a.as);
    expect({ status: r.status, id: r.data.message_id, duplicate: r.data.duplicate }).toEqual({
      status: 200,
      id: a.messageId,
      duplicate: true,
    });
  }
  expect((await again.stop('SIGINT', 15_000)).code).toBe(0);
});
