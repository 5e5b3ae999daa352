/**
 * Journey: `npm start`'s entry point as a child process, on the embedded database and on PostgreSQL;
 * a past month (March 2025) sent today through the signed API — settlements, a declaration, payments,
 * a plan and a disbursement — then reconciled as of 2025-05-10: the report lists every institution
 * and insurer, its totals are the sums of its rows, and the findings agree; a second run with known_at
 * before the load reproduces the empty view of that time and changes no discrepancy.
 */
import { batch, disbursement, payment, plan, settlement } from '../../support/fixtures';
import {
  journeyEnv,
  startGateway,
  until,
  waitProcessed,
  type DbMode,
  type GatewayProc,
  type JourneyEnv,
} from './journey-support';
import { toCstIso } from '../../../src/time';

const modes: DbMode[] = ['embedded', 'pg'];
const H1 = 'H53310200001',
  H2 = 'H53310200002';
const AS_OF = '2025-05-10T00:00:00+08:00';

const st = (setl_id: string, fixmedins_code: string, hifob_pay: string) =>
  settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    hifob_pay,
    setldetail: undefined,
  });

async function accepted(
  gw: GatewayProc,
  path: string,
  body: unknown,
  as: Parameters<GatewayProc['post']>[2],
): Promise<string> {
  const r = await gw.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r.data.message_id as string;
}

async function reconcile(gw: GatewayProc, body: Record<string, string>): Promise<any> {
  const r = await gw.post('/v1/reconciliations', body, 'agency');
  if (r.status !== 202) throw new Error(`POST /v1/reconciliations answered ${r.status}: ${JSON.stringify(r.data)}`);
  return until(
    `run ${r.data.run_id}`,
    async () => {
      const g = await gw.get(`/v1/reconciliations/${r.data.run_id}`, 'ops');
      if (g.data.status === 'failed') throw new Error(`run failed: ${g.data.error}`);
      return g.data.status === 'completed' ? g.data : undefined;
    },
    120_000,
  );
}

const cents = (s: string) => BigInt(s.replace('.', ''));
const total = (rows: any[], k: string) => {
  const c = rows
    .reduce((n: bigint, r: any) => n + cents(r[k]), 0n)
    .toString()
    .padStart(3, '0');
  return `${c.slice(0, -2)}.${c.slice(-2)}`;
};

describe.each(modes)('on the %s database', (mode) => {
  let env: JourneyEnv;
  let gw: GatewayProc;
  beforeAll(async () => {
    env = await journeyEnv(`backfill-${mode}`, mode);
    gw = await startGateway(env);
    await gw.waitReady();
  }, 120_000);
  afterAll(async () => {
    if (gw && !gw.exit) await gw.stop('SIGTERM', 30_000).catch(() => undefined);
    await env.cleanup();
  });

  test('when a past month is sent today and reconciled as of a past time, then the report lists it in full and agrees with the findings; known_at before the load reproduces the empty view', async () => {
    // A minute before the load, on a whole second (the wire form has no fraction).
    const beforeLoad = toCstIso(new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000));
    const ids: Array<[string, Parameters<GatewayProc['post']>[2]]> = [];
    ids.push([
      await accepted(
        gw,
        '/v1/agency/settlements',
        { settlements: [st('BF1', H1, '90000.00'), st('BF2', H1, '1200.00'), st('BF3', H2, '2000.00')] },
        'agency',
      ),
      'agency',
    ]);
    ids.push([
      await accepted(
        gw,
        '/v1/settlement-batches',
        batch({
          batch_id: 'BF-B1',
          setl_cnt: 2,
          medfee_sumamt: '600000.00',
          hifob_pay_sumamt: '91200.00',
          items: [
            {
              setl_id: 'BF1',
              mdtrt_id: 'M-BF1',
              psn_no: 'P-BF1',
              setl_time: '2025-03-10 09:30:00',
              medfee_sumamt: '300000.00',
              hifob_pay: '90000.00',
            },
            {
              setl_id: 'BF2',
              mdtrt_id: 'M-BF2',
              psn_no: 'P-BF2',
              setl_time: '2025-03-10 09:30:00',
              medfee_sumamt: '300000.00',
              hifob_pay: '1200.00',
            },
          ],
        }),
        'hospital1',
      ),
      'hospital1',
    ]);
    ids.push([
      await accepted(
        gw,
        '/v1/insurer-payments',
        payment({
          payment_id: 'BF-P1',
          pay_time: '2025-03-25T10:00:00+08:00',
          bank_txn_no: 'BK-BF-P1',
          pay_amount: '90000.00',
          lines: [{ setl_id: 'BF1', paid_amount: '90000.00' }],
        }),
        'insurerA',
      ),
      'insurerA',
    ]);
    ids.push([
      await accepted(
        gw,
        '/v1/insurer-payments',
        payment({
          payment_id: 'BF-P2',
          payee_id: H2,
          pay_time: '2025-04-20T10:00:00+08:00',
          bank_txn_no: 'BK-BF-P2',
          pay_amount: '2000.00',
          lines: [{ setl_id: 'BF3', paid_amount: '2000.00' }],
        }),
        'insurerA',
      ),
      'insurerA',
    ]);
    ids.push([
      await accepted(
        gw,
        '/v1/spending-plans',
        plan({ revision: 1, planned_amount: '93200.00', admdvs: '5331', items: undefined }),
        'insurerA',
      ),
      'insurerA',
    ]);
    ids.push([
      await accepted(
        gw,
        '/v1/agency/disbursements',
        disbursement({ disbursement_id: 'BF-D1', amount: '93200.00', disbursed_at: '2025-04-01T09:00:00+08:00' }),
        'agency',
      ),
      'agency',
    ]);
    for (const [id, as] of ids) await waitProcessed(gw, [id], as, 120_000);

    const run = await reconcile(gw, { admdvs: '5331', period: '2025-03', as_of: AS_OF });
    expect(run).toMatchObject({ status: 'completed', as_of: AS_OF, report_only: false });
    expect(
      run.institutions.map((i: any) => [i.fixmedins_code, i.recorded_cnt, i.recorded_hifob, i.paid, i.outstanding]),
    ).toEqual([
      [H1, 2, '91200.00', '90000.00', '1200.00'],
      [H2, 1, '2000.00', '2000.00', '0.00'],
    ]);
    // BF2's 1200.00, due Wed 30 April, is 4 working days past due on Sat 10 May (1–5 May off): arrears d1_10 (spec §10).
    expect(run.insurers).toEqual([
      {
        insurer_code: 'PICC_DH',
        planned: '93200.00',
        paid: '90000.00',
        disbursed: '93200.00',
        plan_revision: 1,
        payments_count: 1,
        ageing: { not_due: '0.00', d1_10: '1200.00', d11_30: '0.00', d31_60: '0.00', over_60: '0.00' },
      },
    ]);
    const t = run.summary.totals;
    expect(t).toMatchObject({ institutions: 2, recorded_cnt: 3 });
    for (const k of ['recorded_hifob', 'paid', 'outstanding']) expect(t[k]).toBe(total(run.institutions, k));
    expect(t.planned).toBe(total(run.insurers, 'planned'));
    expect(t.disbursed).toBe(total(run.insurers, 'disbursed'));
    // The findings rest on the same facts: the one settlement still outstanding is the one overdue.
    const overdue = (
      await gw.get('/v1/discrepancies?code=PAYMENT_OVERDUE&status=open&admdvs=5331&period=2025-03', 'ops')
    ).data.items;
    expect(overdue.map((d: any) => d.setl_id)).toEqual(['BF2']);
    expect(run.summary.discrepancies.open.PAYMENT_OVERDUE).toBe(1);

    const cases = async () =>
      (await gw.get('/v1/discrepancies?admdvs=5331&limit=200', 'ops')).data.items.map((d: any) => [
        d.id,
        d.status,
        d.updated_at,
      ]);
    const before = await cases();
    const repro = await reconcile(gw, {
      admdvs: '5331',
      period: '2025-03',
      as_of: '2025-04-15T00:00:00+08:00',
      known_at: beforeLoad,
    });
    expect(repro).toMatchObject({
      status: 'completed',
      known_at: beforeLoad,
      report_only: true,
      institutions: [],
      insurers: [],
    });
    expect(repro.summary.totals).toMatchObject({ institutions: 0, recorded_hifob: '0.00', outstanding: '0.00' });
    expect(await cases()).toEqual(before);
  }, 300_000);
});
