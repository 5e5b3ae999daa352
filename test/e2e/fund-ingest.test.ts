/**
 * The fund year's inbound kinds (spec §8) through the signed API, against the real PostgreSQL and
 * Redis: each endpoint accepts a valid body (202), answers bad input with 4xx and the JSON path, a
 * duplicate with 200 and a conflict with 409, and keeps to the sender's role and scope. Then the
 * premium chain: PREMIUM_RATE_MISMATCH, PREMIUM_TRANSFER_SHORT and TRANSFER_UNFUNDED open from posted
 * collections and transfers (on ingest, and in a reconciliation run once the grace period is over),
 * and a later transfer that covers them resolves the chain's cases by itself.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import { settlement } from '../support/fixtures';

let t: TestGateway;
let clock = Date.parse('2025-02-12T09:00:00+08:00');
beforeAll(async () => {
  t = await startTestGateway('fund_ingest', { now: () => clock, env: { GATEWAY_MAX_BODY_BYTES: '200000' } });
});
afterAll(async () => {
  await t.close();
});

const rid = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}`;
const collection = (o: Record<string, unknown> = {}) => ({
  collection_id: rid('PC'),
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  payer_type: 'employer',
  insured_count: 1000,
  amount: '120000.00',
  collected_at: '2025-01-20 10:00:00',
  ...o,
});
const transfer = (o: Record<string, unknown> = {}) => ({
  transfer_id: rid('FT'),
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  from_account: 'tax',
  to_account: 'treasury',
  amount: '120000.00',
  transferred_at: '2025-02-05T10:00:00+08:00',
  bank_txn_no: 'BK001',
  ...o,
});
const costReport = (o: Record<string, unknown> = {}) => ({
  insurer_code: 'PICC_DH',
  admdvs: '5331',
  fund_year: '2024',
  revision: Math.floor(Math.random() * 1e6) + 1,
  operating_cost: '81000.00',
  admin_cost: '2000.00',
  items: [{ category: '人员经费', amount: '50000.00' }],
  reported_at: '2025-04-15T10:00:00+08:00',
  ...o,
});

interface Case {
  path: string;
  as: TestClientName;
  alsoAs?: TestClientName;
  otherRole: TestClientName;
  body: () => Record<string, unknown>;
  changed: (b: any) => unknown;
  schemaBreak: (b: any) => { body: unknown; path: string };
  ruleBreak?: (b: any) => { body: unknown; code: string; path: string };
  outOfScope: { as: TestClientName; body: (b: any) => unknown; path?: string };
}

const cases: Case[] = [
  {
    path: '/v1/premium-collections',
    as: 'tax',
    alsoAs: 'agency',
    otherRole: 'finance',
    body: () => collection(),
    changed: (b) => ({ ...b, amount: '1.00' }),
    schemaBreak: (b) => ({ body: { ...b, payer_type: 'boss', insured_count: -1 }, path: '/payer_type' }),
    outOfScope: { as: 'taxOther', body: (b) => b, path: '/admdvs' },
  },
  {
    path: '/v1/fund-transfers',
    as: 'finance',
    alsoAs: 'agency',
    otherRole: 'tax',
    body: () => transfer(),
    changed: (b) => ({ ...b, bank_txn_no: 'BK-OTHER' }),
    schemaBreak: (b) => ({ body: { ...b, to_account: 'pocket' }, path: '/to_account' }),
    ruleBreak: (b) => ({ body: { ...b, to_account: 'tax' }, code: 'TRANSFER_SAME_ACCOUNT', path: '/to_account' }),
    outOfScope: { as: 'finance', body: (b) => ({ ...b, admdvs: '410802' }), path: '/admdvs' },
  },
  {
    path: '/v1/insurer-cost-reports',
    as: 'insurerA',
    otherRole: 'agency',
    body: () => costReport(),
    changed: (b) => ({ ...b, operating_cost: '99000.00' }),
    schemaBreak: (b) => ({
      body: { ...b, fund_year: '24', items: [{ category: 'x', amount: '1.001' }] },
      path: '/items/0/amount',
    }),
    outOfScope: { as: 'insurerA', body: (b) => ({ ...b, insurer_code: 'CPIC_DH' }) },
  },
];

describe.each(cases)('POST $path', (c) => {
  test('when a valid signed message arrives, then 202 with its message id, and the worker processes it', async () => {
    const r = await t.post(c.path, c.body(), c.as);
    expect(r.status).toBe(202);
    expect(r.data).toEqual({ message_id: expect.any(String), status: 'accepted' });
    await t.drain();
    const m = await t.get(`/v1/messages/${r.data.message_id}`, c.as);
    expect(m.data).toMatchObject({ status: 'processed' });
  });

  if (c.alsoAs) {
    test('when the agency sends it, then it is accepted too', async () => {
      expect((await t.post(c.path, c.body(), c.alsoAs!)).status).toBe(202);
    });
  }

  test('when the same business key arrives with the same body, then 200 duplicate with the first id; with a different body, 409', async () => {
    const b = c.body();
    const first = await t.post(c.path, b, c.as);
    const again = await t.post(c.path, b, c.as, { raw: JSON.stringify(b, null, 2) });
    expect(again.status).toBe(200);
    expect(again.data).toEqual({ message_id: first.data.message_id, status: 'accepted', duplicate: true });
    const conflict = await t.post(c.path, c.changed(b), c.as);
    expect(conflict.status).toBe(409);
  });

  test('when another role posts here, then 403', async () => {
    expect((await t.post(c.path, c.body(), c.otherRole)).status).toBe(403);
  });

  test('when the body breaks the schema, then 422 naming the JSON pointer', async () => {
    const { body, path } = c.schemaBreak(c.body());
    const r = await t.post(c.path, body, c.as);
    expect(r.status).toBe(422);
    expect(r.data.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  if (c.ruleBreak) {
    test('when the body breaks a business rule, then 422 with its code and path', async () => {
      const { body, code, path } = c.ruleBreak!(c.body());
      const r = await t.post(c.path, body, c.as);
      expect(r.status).toBe(422);
      expect(r.data.errors).toContainEqual(expect.objectContaining({ code, path }));
    });
  }

  test("when the message names a region or insurer outside the sender's scope, then 403", async () => {
    const r = await t.post(c.path, c.outOfScope.body(c.body()), c.outOfScope.as);
    expect(r.status).toBe(403);
    if (c.outOfScope.path)
      expect(r.data.errors).toContainEqual(expect.objectContaining({ code: 'OUT_OF_SCOPE', path: c.outOfScope.path }));
  });

  test('when the media type is not JSON, then 415; malformed JSON, 400', async () => {
    expect((await t.post(c.path, c.body(), c.as, { contentType: 'text/plain' })).status).toBe(415);
    expect((await t.post(c.path, null, c.as, { raw: '{"a":' })).status).toBe(400);
  });
});

describe('insurer cost reports', () => {
  test('when an insurer sends a later revision of a fund year, then it is accepted beside the first', async () => {
    const b = costReport({ revision: 1, fund_year: '2023' });
    expect((await t.post('/v1/insurer-cost-reports', b, 'insurerA')).status).toBe(202);
    expect(
      (await t.post('/v1/insurer-cost-reports', { ...b, revision: 2, operating_cost: '80000.00' }, 'insurerA')).status,
    ).toBe(202);
  });
});

// ---------------------------------------------------------------------------------------------
// The premium chain

const cases_ = async (as: TestClientName, q: string) =>
  (await t.get(`/v1/discrepancies?admdvs=150903&${q}`, as)).data.items as any[];

async function runToEnd(body: Record<string, string>): Promise<any> {
  const post = await axios.post(`${t.baseUrl}/v1/reconciliations`, body, {
    headers: { authorization: `Bearer ${TEST_CLIENTS.agency.token}` },
    validateStatus: () => true,
  });
  expect(post.status).toBe(202);
  for (let i = 0; i < 600; i++) {
    const g = await t.get(`/v1/reconciliations/${post.data.run_id}`, 'ops');
    if (g.data.status === 'completed' || g.data.status === 'failed') return g.data;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('run did not finish');
}

describe('the premium chain of a county (Ulanqab 150903, January 2025)', () => {
  const c1 = collection({ admdvs: '150903', collection_id: 'PC-150903-EMP' });
  const c2 = collection({
    admdvs: '150903',
    collection_id: 'PC-150903-FLEX',
    payer_type: 'flexible',
    insured_count: 10,
    amount: '1900.00',
  });
  const t1 = transfer({ admdvs: '150903', transfer_id: 'FT-150903-1', amount: '100000.00' });
  const t2 = transfer({
    admdvs: '150903',
    transfer_id: 'FT-150903-2',
    from_account: 'treasury',
    to_account: 'special_account',
    amount: '121900.00',
    transferred_at: '2025-02-06T10:00:00+08:00',
  });

  test('when flexible workers are collected short and tax has passed on only part by day 10, then PREMIUM_RATE_MISMATCH and PREMIUM_TRANSFER_SHORT open on ingest', async () => {
    for (const [p, b, as] of [
      ['/v1/premium-collections', c1, 'tax'],
      ['/v1/premium-collections', c2, 'tax'],
      ['/v1/fund-transfers', t1, 'finance'],
      ['/v1/fund-transfers', t2, 'finance'],
    ] as const) {
      expect((await t.post(p, b, as)).status).toBe(202);
    }
    await t.drain();
    const open = await cases_('ops', 'status=open');
    expect(open.map((d) => `${d.code} ${d.subject_key}`).sort()).toEqual([
      'PREMIUM_RATE_MISMATCH collection:PC-150903-FLEX',
      'PREMIUM_TRANSFER_SHORT account:tax:150903:2025-01',
    ]);
    const rate = open.find((d) => d.code === 'PREMIUM_RATE_MISMATCH');
    expect(rate).toMatchObject({
      severity: 'medium',
      admdvs: '150903',
      period: '2025-01',
      expected_amount: '1920.00',
      actual_amount: '1900.00',
      difference: '-20.00',
    });
    const short = open.find((d) => d.code === 'PREMIUM_TRANSFER_SHORT');
    expect(short).toMatchObject({
      severity: 'high',
      expected_amount: '121900.00',
      actual_amount: '100000.00',
      difference: '-21900.00',
    });
    expect(short.evidence.collections.map((x: any) => x.collection_id).sort()).toEqual([
      'PC-150903-EMP',
      'PC-150903-FLEX',
    ]);
    expect(short.evidence.transfers_out.map((x: any) => x.transfer_id)).toEqual(['FT-150903-1']);
  });

  test("when the tax bureau of the region reads the cases, then it sees them; another region's tax bureau and the insurers do not", async () => {
    expect((await cases_('tax', 'code=PREMIUM_TRANSFER_SHORT&status=open')).length).toBe(1);
    expect((await cases_('taxOther', 'code=PREMIUM_TRANSFER_SHORT')).length).toBe(0);
    expect((await cases_('insurerA', 'code=PREMIUM_TRANSFER_SHORT')).length).toBe(0);
  });

  test("when the grace period after the treasury's transfer out is over, then the nightly run raises TRANSFER_UNFUNDED", async () => {
    clock = Date.parse('2025-02-15T09:00:00+08:00');
    const run = await runToEnd({ admdvs: '1509', period: '2025-01' });
    expect(run.status).toBe('completed');
    const unfunded = await cases_('ops', 'code=TRANSFER_UNFUNDED&status=open');
    expect(unfunded).toHaveLength(1);
    expect(unfunded[0]).toMatchObject({
      severity: 'critical',
      subject_key: 'account:treasury:150903:2025-01',
      expected_amount: '100000.00',
      actual_amount: '121900.00',
      difference: '21900.00',
    });
  });

  test('when tax passes on the rest, then the short and unfunded cases resolve by themselves; the rate mismatch stays open', async () => {
    const t3 = transfer({
      admdvs: '150903',
      transfer_id: 'FT-150903-3',
      amount: '21900.00',
      transferred_at: '2025-02-15T10:00:00+08:00',
    });
    clock = Date.parse('2025-02-15T11:00:00+08:00');
    expect((await t.post('/v1/fund-transfers', t3, 'finance')).status).toBe(202);
    await t.drain();
    // (A treasury case may also have opened and resolved in between, when t1 was processed before t2: each
    // message is judged on what the gateway knew then.)
    const resolved = (await cases_('ops', 'status=resolved')).map((d) => `${d.code} ${d.subject_key} ${d.resolution}`);
    expect(resolved).toEqual(
      expect.arrayContaining([
        'PREMIUM_TRANSFER_SHORT account:tax:150903:2025-01 auto',
        'TRANSFER_UNFUNDED account:treasury:150903:2025-01 auto',
      ]),
    );
    expect((await cases_('ops', 'status=open')).map((d) => d.code)).toEqual(['PREMIUM_RATE_MISMATCH']);
  });
});

// ---------------------------------------------------------------------------------------------
// What tax and finance may read: the premium chain of their region, not the loop's data

describe("tax and finance read their region's premium chain, not its people's settlements", () => {
  const setl = settlement({
    setl_id: 'S-150903-TAXREAD',
    mdtrt_id: 'M-150903-TAXREAD',
    psn_no: 'P-150903-TAXREAD',
    insuplc_admdvs: '150903',
    mdtrtarea_admvs: '150903',
    fixmedins_code: 'H15090300001',
    setl_time: '2025-01-10 09:30:00',
  });
  let loopCase: any;
  let runId: string;

  beforeAll(async () => {
    clock = Date.parse('2025-02-20T09:00:00+08:00');
    expect((await t.post('/v1/agency/settlements', { settlements: [setl] }, 'agency')).status).toBe(202);
    await t.drain();
    const run = await runToEnd({ admdvs: '1509', period: '2025-01' });
    runId = run.run_id;
    const ofSetl = (await t.get(`/v1/discrepancies?setl_id=${setl.setl_id}`, 'ops')).data.items as any[];
    expect(ofSetl.length).toBeGreaterThan(0); // the unpaid, undeclared settlement has its cases
    loopCase = ofSetl[0];
  });

  test.each(['tax', 'finance'] as const)(
    "when %s lists the region's cases, then it gets the premium chain's codes only, and none of a settlement",
    async (as) => {
      const mine = (await t.get('/v1/discrepancies?admdvs=150903&limit=1000', as)).data.items as any[];
      expect(mine.length).toBeGreaterThan(0);
      expect(new Set(mine.map((d) => d.code))).toEqual(
        new Set(['PREMIUM_RATE_MISMATCH', 'PREMIUM_TRANSFER_SHORT', 'TRANSFER_UNFUNDED']),
      );
      expect(mine.some((d) => d.setl_id)).toBe(false);
      expect((await t.get(`/v1/discrepancies?setl_id=${setl.setl_id}`, as)).data.items).toEqual([]);
      const csv = await t.get('/v1/discrepancies/export?format=csv&admdvs=150903', as);
      expect(csv.status).toBe(200);
      expect(String(csv.data)).not.toContain(setl.setl_id);
      expect(String(csv.data)).toContain('PREMIUM_RATE_MISMATCH');
    },
  );

  test.each(['tax', 'finance'] as const)(
    "when %s reaches for a settlement, its case, its benefit or the region's run, then 404 or 403, and nothing of it is shown",
    async (as) => {
      const caseRead = await t.get(`/v1/discrepancies/${loopCase.id}`, as);
      expect(caseRead.status).toBe(404);
      for (const path of [
        `/v1/settlements/${setl.setl_id}`,
        `/v1/settlements/${setl.setl_id}/benefit`,
        `/v1/reconciliations/${runId}`,
        `/v1/reconciliations/${runId}/export?format=csv`,
        '/v1/reconciliations?admdvs=1509',
        '/v1/reports/violations?admdvs=1509&from=2025-01&to=2025-01',
      ]) {
        const r = await t.get(path, as);
        expect({ path, status: r.status, type: r.headers['content-type'] }).toEqual({
          path,
          status: 403,
          type: expect.stringContaining('application/problem+json'),
        });
        expect(JSON.stringify(r.data)).not.toContain(setl.psn_no);
        expect(r.data.detail).toContain(`role ${as} may not do this`);
      }
    },
  );

  test('when the agency and ops read the same, then they still see the settlement and its cases', async () => {
    expect((await t.get(`/v1/settlements/${setl.setl_id}`, 'agency')).status).toBe(200);
    expect((await t.get(`/v1/discrepancies/${loopCase.id}`, 'agency')).status).toBe(200);
    expect((await t.get(`/v1/reconciliations/${runId}`, 'agency')).status).toBe(200);
    const chain = (await t.get('/v1/discrepancies?admdvs=150903&code=PREMIUM_RATE_MISMATCH', 'tax')).data.items;
    expect((await t.get(`/v1/discrepancies/${chain[0].id}`, 'finance')).status).toBe(200);
  });
});
