/**
 * The fund codes (spec §8) are told like the others (spec §6): a critical one at once, the rest in a
 * digest — the cases a fund message, a run's premium-chain sweep or a statement opened, whatever their
 * period (the chain's month, the fund year's last month) — and each to its audience: an insurer-year
 * case to that insurer's callback and the ops channels; a region-year, account or collection case to
 * the ops channels only (no insurer may read it). Tax and finance register no callbacks (the
 * subscriber API is ops' and insurers'): their cases reach the agency through the ops channels.
 *
 * Ulanqab 150902, fund year 2025, period 2025-04 (posted on 8 May 2025): C1 10 flexible workers at
 * 1,900.00 (192.00 each is 1,920.00) → PREMIUM_RATE_MISMATCH at once; tax passed 1,000.00 of 1,900.00
 * on (due 10 May) and the treasury 1,500.00 of 1,000.00 → the run of June (10 June) opens
 * PREMIUM_TRANSFER_SHORT (high, period 2025-04: in the run's digest by id) and TRANSFER_UNFUNDED
 * (critical: at once). Dehong 5331, fund year 2024 as of 1 June 2025: PICC_DH 100,000.00 premium and
 * 9,500.00 cost (9.5% > 9%) → COST_LIMIT_EXCEEDED and PROFIT_LIMIT_EXCEEDED; CPIC_DH 50,000.00 and
 * 4,000.00 → PROFIT_LIMIT_EXCEEDED; opening −200,000.00 → FUND_DEFICIT.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import {
  ALLOW_RECEIVERS_ENV,
  api,
  deliveriesOf,
  startReceiver,
  subscribe,
  until,
  type Receiver,
} from './notifications-support';

let clock = Date.parse('2025-05-08T10:00:00+08:00');
let t: TestGateway;
const receivers: Receiver[] = [];
let ops: { id: string }, picc: { id: string }, cpic: { id: string };
let opsRx: Receiver, piccRx: Receiver, cpicRx: Receiver;

async function ok(path: string, body: unknown, as: TestClientName) {
  const r = await t.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
}

async function finished(path: string, as: TestClientName): Promise<any> {
  let g: any;
  await until(
    async () => {
      g = (await t.get(path, as)).data;
      return g.status === 'completed' || g.status === 'failed';
    },
    30_000,
    path,
  );
  return g;
}

const casesOf = async (code: string) =>
  (
    await t.gw.db.query<{ id: string }>(`SELECT id::text FROM discrepancies WHERE code = $1 ORDER BY id`, [code])
  ).rows.map((r) => r.id);
const bodies = (rx: Receiver) => rx.received.map((r) => r.json);
const digests = (rx: Receiver) => bodies(rx).filter((b) => b.type === 'discrepancy.digest');

beforeAll(async () => {
  t = await startTestGateway('notifications_fund', {
    now: () => clock,
    env: { ...ALLOW_RECEIVERS_ENV, GATEWAY_DELIVERY_SCHEDULE_MS: '0,50,50' },
  });
  opsRx = await startReceiver();
  piccRx = await startReceiver();
  cpicRx = await startReceiver();
  receivers.push(opsRx, piccRx, cpicRx);
  ops = await subscribe(t, { url: opsRx.url, format: 'json' });
  picc = await subscribe(t, { url: piccRx.url, format: 'json', filter: { insurer_code: 'PICC_DH' } }, 'insurerA');
  cpic = await subscribe(t, { url: cpicRx.url, format: 'json', filter: { insurer_code: 'CPIC_DH' } }, 'insurerB');

  // The premium chain of Ulanqab, April 2025.
  const base = { admdvs: '150902', fund_year: '2025', period: '2025-04' };
  await ok(
    '/v1/premium-collections',
    {
      ...base,
      collection_id: 'C1',
      payer_type: 'flexible',
      insured_count: 10,
      amount: '1900.00',
      collected_at: '2025-04-16T10:00:00+08:00',
    },
    'tax',
  );
  await ok(
    '/v1/fund-transfers',
    {
      ...base,
      transfer_id: 'T1',
      from_account: 'tax',
      to_account: 'treasury',
      amount: '1000.00',
      transferred_at: '2025-05-05T10:00:00+08:00',
    },
    'finance',
  );
  await ok(
    '/v1/fund-transfers',
    {
      ...base,
      transfer_id: 'T2',
      from_account: 'treasury',
      to_account: 'special_account',
      amount: '1500.00',
      transferred_at: '2025-05-06T10:00:00+08:00',
    },
    'finance',
  );
  await t.drain();

  // A month later: the run of June judges the chain as of now.
  clock = Date.parse('2025-06-10T10:00:00+08:00');
  const run = await api(t, 'post', '/v1/reconciliations', 'ops', { admdvs: '1509', period: '2025-06' });
  expect(run.status).toBe(202);
  await finished(`/v1/reconciliations/${run.data.run_id}`, 'ops');

  // Dehong's fund year 2024.
  for (const [id, insurer, amount] of [
    ['D1', 'PICC_DH', '100000.00'],
    ['D2', 'CPIC_DH', '50000.00'],
  ] as const) {
    await ok(
      '/v1/agency/disbursements',
      fx.disbursement({
        disbursement_id: id,
        insurer_code: insurer,
        period: '2024-03',
        amount,
        disbursed_at: '2024-03-05T09:00:00+08:00',
        admdvs: '5331',
      }),
      'agency',
    );
  }
  for (const [as, insurer, cost] of [
    ['insurerA', 'PICC_DH', '9500.00'],
    ['insurerB', 'CPIC_DH', '4000.00'],
  ] as const) {
    await ok(
      '/v1/insurer-cost-reports',
      {
        insurer_code: insurer,
        admdvs: '5331',
        fund_year: '2024',
        revision: 1,
        operating_cost: cost,
        reported_at: '2025-03-01T10:00:00+08:00',
      },
      as,
    );
  }
  await t.drain();
  const st = await api(t, 'post', '/v1/fund-statements', 'agency', {
    admdvs: '5331',
    fund_year: '2024',
    as_of: '2025-06-01T00:00:00+08:00',
    opening_balance: '-200000.00',
  });
  expect(st.status).toBe(202);
  expect((await finished(`/v1/fund-statements/${st.data.statement_id}`, 'agency')).status).toBe('completed');
  await t.drain();
  // Ops hear: the collection's digest, the critical TRANSFER_UNFUNDED, the run's digest, the statement's digest.
  await opsRx.waitFor(4, 30_000);
  await until(
    async () => (await deliveriesOf(t, picc.id)).length >= 1 && (await deliveriesOf(t, cpic.id)).length >= 1,
    30_000,
    'insurer digests',
  );
  await until(
    async () =>
      (await Promise.all([ops, picc, cpic].map((s) => deliveriesOf(t, s.id))))
        .flat()
        .every((d) => d.status === 'delivered'),
    30_000,
    'delivered',
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

test("when a fund message opens a non-critical case, then ops get a digest of it (its period is not a run's)", async () => {
  const [id] = await casesOf('PREMIUM_RATE_MISMATCH');
  const d = digests(opsRx).find((b) => b.data.discrepancy_ids.includes(id));
  expect(d.data).toMatchObject({ total: 1, counts_by_code: { PREMIUM_RATE_MISMATCH: 1 } });
});

test("when a run's premium-chain sweep opens cases of an earlier month, then the critical one goes out at once and the other is in the run's digest", async () => {
  const [unfunded] = await casesOf('TRANSFER_UNFUNDED');
  const [short] = await casesOf('PREMIUM_TRANSFER_SHORT');
  const critical = bodies(opsRx).filter((b) => b.type === 'discrepancy.critical');
  expect(critical.map((b) => [b.data.code, b.data.id])).toEqual([['TRANSFER_UNFUNDED', unfunded]]);
  const runDigest = digests(opsRx).find((b) => b.data.run_id);
  expect(runDigest.data).toMatchObject({
    admdvs: '1509',
    period: '2025-06',
    total: 1,
    counts_by_code: { PREMIUM_TRANSFER_SHORT: 1 },
    discrepancy_ids: [short],
  });
});

test('when a statement opens its cases, then ops get one digest of all of them, each insurer only its own insurer-year cases', async () => {
  const st = digests(opsRx).find((b) => b.data.counts_by_code.FUND_DEFICIT);
  expect(st.data).toMatchObject({
    admdvs: '5331',
    period: '2024-12',
    total: 4,
    counts_by_code: { COST_LIMIT_EXCEEDED: 1, FUND_DEFICIT: 1, PROFIT_LIMIT_EXCEEDED: 2 },
  });
  expect(bodies(piccRx).map((b) => [b.type, b.data.counts_by_code])).toEqual([
    ['discrepancy.digest', { COST_LIMIT_EXCEEDED: 1, PROFIT_LIMIT_EXCEEDED: 1 }],
  ]);
  expect(bodies(cpicRx).map((b) => [b.type, b.data.counts_by_code])).toEqual([
    ['discrepancy.digest', { PROFIT_LIMIT_EXCEEDED: 1 }],
  ]);
  // Nothing of the premium chain (no insurer's) and no region-year case reached an insurer.
  const ids = [...bodies(piccRx), ...bodies(cpicRx)].flatMap((b) => b.data.discrepancy_ids);
  for (const code of ['FUND_DEFICIT', 'PREMIUM_RATE_MISMATCH', 'PREMIUM_TRANSFER_SHORT', 'TRANSFER_UNFUNDED']) {
    for (const id of await casesOf(code)) expect(ids).not.toContain(id);
  }
  expect(TEST_CLIENTS.tax.role).toBe('tax');
  expect((await api(t, 'post', '/v1/subscribers', 'tax', { url: opsRx.url, format: 'json' })).status).toBe(403);
});

test('when every delivery is made, then each side got exactly these and no more', async () => {
  expect(await deliveriesOf(t, ops.id)).toHaveLength(4);
  expect(await deliveriesOf(t, picc.id)).toHaveLength(1);
  expect(await deliveriesOf(t, cpic.id)).toHaveLength(1);
});
