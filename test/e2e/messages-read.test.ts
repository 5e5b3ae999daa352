/**
 * GET /v1/messages (src/console/message-search.ts), over plain HTTP: the message log's filters, its
 * scope (ops sees every client's messages, any other client only its own), cursor paging, and 400s
 * naming the bad parameter. The console's Messages tab is driven in a browser by console.test.ts.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import type { TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';

const H1 = 'H53310200001',
  H2 = 'H53310200002';

let t: TestGateway;

const st = (setl_id: string, fixmedins_code: string, insurer_code: string, hifob_pay: string) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    insurer_code,
    hifob_pay,
    setldetail: undefined,
  });
const item = (setl_id: string, hifob_pay: string) => ({
  setl_id,
  mdtrt_id: `M-${setl_id}`,
  psn_no: `P-${setl_id}`,
  setl_time: '2025-03-10 09:30:00',
  medfee_sumamt: '300000.00',
  hifob_pay,
});

async function accepted(p: string, body: unknown, as: TestClientName): Promise<void> {
  const r = await t.post(p, body, as);
  if (r.status !== 202 || (r.data.rejected?.length ?? 0) > 0)
    throw new Error(`${p} answered ${r.status}: ${JSON.stringify(r.data)}`);
}

/** Six messages from three clients: the agency's settlements, one hospital batch, four insurer payments. */
beforeAll(async () => {
  t = await startTestGateway('messages-read');
  await accepted(
    '/v1/agency/settlements',
    {
      settlements: [
        st('S1', H1, 'PICC_DH', '90000.00'),
        st('S2', H1, 'PICC_DH', '1234.56'),
        st('S3', H2, 'PICC_DH', '2000.00'),
      ],
    },
    'agency',
  );
  await accepted(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B-H1',
      setl_cnt: 2,
      medfee_sumamt: '600000.00',
      hifob_pay_sumamt: '91200.00',
      items: [item('S1', '90000.00'), item('S2', '1200.00')],
    }),
    'hospital1',
  );
  const pay = (payment_id: string, payee_id: string, setl_id: string, amount: string) =>
    accepted(
      '/v1/insurer-payments',
      fx.payment({
        payment_id,
        payee_id,
        bank_txn_no: `BK-${payment_id}`,
        pay_time: '2025-04-15T10:00:00+08:00',
        pay_amount: amount,
        lines: [{ setl_id, paid_amount: amount }],
      }),
      'insurerA',
    );
  await pay('PAY-1', H1, 'S1', '90000.00');
  await pay('PAY-2', H1, 'S2', '1300.00');
  await pay('PAY-3', H2, 'S3', '1500.00');
  await pay('PAY-4', H1, 'S-NOBODY', '321.00');
  await t.drain();
});

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/messages', () => {
  it("gives ops every client's messages, newest first, filtered by kind and client", async () => {
    const all = (await t.get('/v1/messages', 'ops')).data;
    expect(all.items.length).toBe(6);
    expect(new Set(all.items.map((m: { client_id: string }) => m.client_id))).toEqual(
      new Set(['dehong-agency', 'h1', 'picc-dh']),
    );
    const times = all.items.map((m: { received_at: string }) => Date.parse(m.received_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const batches = (await t.get('/v1/messages?kind=settlement_batch&client_id=h1', 'ops')).data.items;
    expect(batches).toEqual([
      expect.objectContaining({
        kind: 'settlement_batch',
        client_id: 'h1',
        status: 'processed',
        record_count: 1,
        error_count: 0,
      }),
    ]);
  });

  it('gives any other client only its own messages, whatever client_id it asks for', async () => {
    const own = (await t.get('/v1/messages', 'insurerA')).data.items;
    expect(own.length).toBe(4);
    expect(own.every((m: { client_id: string }) => m.client_id === 'picc-dh')).toBe(true);
    expect((await t.get('/v1/messages?client_id=h1', 'insurerA')).data.items).toEqual([]);
  });

  it('pages with next_cursor without skipping or repeating a message', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { message_id: string }[]; next_cursor: string | null } = (
        await t.get(`/v1/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`, 'ops')
      ).data;
      seen.push(...page.items.map((m) => m.message_id));
      cursor = page.next_cursor;
    } while (cursor);
    const all = (await t.get('/v1/messages', 'ops')).data.items.map((m: { message_id: string }) => m.message_id);
    expect(seen).toEqual(all);
  });

  it('filters by received_at and refuses a bad filter with 400 naming the parameter', async () => {
    expect((await t.get('/v1/messages?to=2000-01-01T00:00:00%2B08:00', 'ops')).data.items).toEqual([]);
    expect((await t.get('/v1/messages?from=2000-01-01%2000:00:00', 'ops')).data.items.length).toBeGreaterThan(0);
    const bad = await t.get('/v1/messages?kind=letter&limit=0', 'ops');
    expect(bad.status).toBe(400);
    expect(bad.data.errors.map((e: { path: string }) => e.path).sort()).toEqual(['?kind', '?limit']);
    expect((await t.get('/v1/messages', null)).status).toBe(401);
  });
});
