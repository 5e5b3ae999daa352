/**
 * GET /v1/settlements/{setl_id} (spec §5): the record, its live loop, payments and discrepancies;
 * who may see it (owing insurer, its institution, the agency of its region, ops — everyone else a
 * 404) and masking of certno and psn_name for every role but the agency.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import axios from 'axios';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logging/logger';
import { settlementsRouter } from '../../src/settlements/routes';
import { paymentOf, record } from '../support/month-generator';
import { TEST_CLIENTS } from '../support/test-clients';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted } from './matching-support';

const H1 = 'H53310200001',
  PICC = 'PICC_DH',
  CPIC = 'CPIC_DH';
let clock = Date.parse('2025-04-10T10:00:00+08:00');

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('settlement-read', { now: () => clock });
  await postAccepted(t, {
    path: '/v1/agency/settlements',
    as: 'agency',
    body: {
      settlements: [{ ...record('R01', { fixmedins: H1, insurer: PICC, hifob: '9000.00' }), psn_name: '张三丰' }],
    },
  });
  await postAccepted(t, {
    path: '/v1/insurer-payments',
    as: 'insurerA',
    body: paymentOf(PICC, 'PAY-R-1', { type: 'institution', id: H1 }, '2025-04-09T10:00:00+08:00', [
      { setl_id: 'R01', paid: '4000.00', rejected: '1000.00', reason: 'R02' },
    ]),
  });
  await postAccepted(t, {
    path: '/v1/insurer-payments',
    as: 'insurerB',
    body: paymentOf(CPIC, 'PAY-R-X', { type: 'institution', id: H1 }, '2025-04-09T11:00:00+08:00', [
      { setl_id: 'R01', paid: '50.00' },
    ]),
  });
  await t.drain();
});
afterAll(async () => {
  await t.close();
});

describe('who sees a settlement', () => {
  test.each([['agency'], ['insurerA'], ['hospital1'], ['ops']] as const)(
    '%s (in scope) gets the record',
    async (as) => {
      const res = await t.get('/v1/settlements/R01', as);
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({
        setl_id: 'R01',
        insurer_code: PICC,
        fixmedins_code: H1,
        hifob_pay: '9000.00',
        setl_time: '2025-03-10T10:00:00+08:00',
      });
    },
  );

  test.each([['insurerB'], ['hospital2'], ['agencyOther']] as const)(
    '%s (out of scope) gets a 404, as for an unknown id',
    async (as) => {
      const res = await t.get('/v1/settlements/R01', as);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    },
  );

  test('an unknown setl_id is a 404, and a read without a token a 401', async () => {
    expect((await t.get('/v1/settlements/NOPE', 'ops')).status).toBe(404);
    expect((await t.get('/v1/settlements/R01', null)).status).toBe(401);
  });
});

describe('masking of personal data', () => {
  test('the agency sees certno and psn_name in full', async () => {
    const res = await t.get('/v1/settlements/R01', 'agency');
    expect(res.data).toMatchObject({ certno: '11010519491231002X', psn_name: '张三丰' });
  });

  test.each([['insurerA'], ['hospital1'], ['ops']] as const)('%s sees them masked', async (as) => {
    const res = await t.get('/v1/settlements/R01', as);
    expect(res.data).toMatchObject({ certno: '1101**********002X', psn_name: '张**' });
    expect(JSON.stringify(res.data)).not.toContain('11010519491231002X');
  });
});

describe('the loop, payments and discrepancies of a settlement', () => {
  test('the loop is computed as of now: owed with 4000.00 paid and 1000.00 rejected leaves 4000.00 outstanding', async () => {
    const res = await t.get('/v1/settlements/R01', 'agency');
    expect(res.data.loop).toEqual({
      status: 'owed',
      owed: '9000.00',
      paid: '4000.00',
      rejected: '1000.00',
      recovered: '0.00',
      outstanding: '4000.00',
      due_date: '2025-04-30',
      due_at: '2025-05-01T00:00:00+08:00',
    });
  });

  test('once the clock passes the due date, the loop shows overdue without a sweep', async () => {
    clock = Date.parse('2025-05-02T10:00:00+08:00');
    try {
      const res = await t.get('/v1/settlements/R01', 'agency');
      expect(res.data.loop.status).toBe('overdue');
    } finally {
      clock = Date.parse('2025-04-10T10:00:00+08:00');
    }
  });

  test('payments list every line naming it with its payment header; the owing insurer sees only its own', async () => {
    const all = (await t.get('/v1/settlements/R01', 'agency')).data.payments;
    expect(all.map((p: { payment_id: string }) => p.payment_id)).toEqual(['PAY-R-1', 'PAY-R-X']);
    expect(all[0]).toMatchObject({
      insurer_code: PICC,
      line_no: 1,
      payee_type: 'institution',
      payee_id: H1,
      pay_time: '2025-04-09T10:00:00+08:00',
      bank_txn_no: 'BK-PAY-R-1',
      pay_amount: '4000.00',
      paid_amount: '4000.00',
      rejected_amount: '1000.00',
      reject_reason_code: 'R02',
    });
    const own = (await t.get('/v1/settlements/R01', 'insurerA')).data.payments;
    expect(own.map((p: { payment_id: string }) => p.payment_id)).toEqual(['PAY-R-1']);
  });

  test("discrepancies naming it are included: the other insurer's line is an INSURER_MISMATCH", async () => {
    const res = await t.get('/v1/settlements/R01', 'agency');
    expect(
      res.data.discrepancies.map((d: { code: string; subject_key: string }) => [d.code, d.subject_key]),
    ).toContainEqual(['INSURER_MISMATCH', `line:${CPIC}:PAY-R-X:1`]);
    expect(res.data.discrepancies.every((d: { setl_id: string }) => d.setl_id === 'R01')).toBe(true);
  });
});

describe('the benefit hook', () => {
  /** The route alone, with or without a benefitView, on its own app. */
  async function getWith(benefitView?: (id: string) => Promise<unknown>) {
    const app = createApp({
      log: createLogger('silent'),
      rateLimitPerSecond: 1000,
      publicRouters: [],
      apiRouters: [
        settlementsRouter({
          db: t.gw.db,
          clients: t.gw.clients,
          now: t.gw.now,
          regions: t.gw.regions,
          calendar: t.gw.calendar,
          ...(benefitView ? { benefitView } : {}),
        }),
      ],
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      return await axios.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/settlements/R01`, {
        headers: { authorization: `Bearer ${TEST_CLIENTS.ops.token}` },
        validateStatus: () => true,
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  test("when a benefitView is given, its result is the response's benefit", async () => {
    const res = await getWith(async (id) => ({ expected_hifob_pay: '9000.00', setl_id: id }));
    expect(res.status).toBe(200);
    expect(res.data.benefit).toEqual({ expected_hifob_pay: '9000.00', setl_id: 'R01' });
  });

  test('without one, the response has no benefit field', async () => {
    const res = await getWith();
    expect(res.status).toBe(200);
    expect(res.data).not.toHaveProperty('benefit');
  });
});
