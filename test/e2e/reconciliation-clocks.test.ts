/**
 * The two clocks of a reconciliation run (spec §5) and the region of plans and disbursements (spec §3).
 * March 2025 of Dehong (5331) is loaded "today" (2026-01-15) — a backfill — and reconciled as of
 * 2025-05-10: the report lists every institution and insurer, its totals are the sums of its rows,
 * and the findings of the run agree with it. The same run with a known_at before the load reproduces
 * the empty view and changes no discrepancy. A plan and a disbursement naming a region give an insurer
 * a row there although it owes nothing in it; a disbursement from another region's agency does not
 * count; an admdvs outside the sending agency's scope is 403.
 */
import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { Money } from '../../src/money';

const TODAY = Date.parse('2026-01-15T09:00:00+08:00');
let clock = TODAY;
let t: TestGateway;
const AS_OF = '2025-05-10T00:00:00+08:00';
const BEFORE_LOAD = '2026-01-15T08:00:00+08:00';
const AFTER_LOAD = '2026-01-15T09:30:00+08:00';
const H1 = 'H53310200001',
  H2 = 'H53310200002',
  H3 = 'H53310200003';
/** Arrears by age (spec §10): March's direct settlements, due Wed 30 April 2025, are 4 working days past due on Sat 10 May (1–5 May off). */
const ageing = (a: Record<string, string> = {}) => ({
  not_due: '0.00',
  d1_10: '0.00',
  d11_30: '0.00',
  d31_60: '0.00',
  over_60: '0.00',
  ...a,
});

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

async function ok(path: string, body: unknown, as: TestClientName) {
  const r = await t.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r;
}

const askRun = (body: Record<string, unknown>) =>
  axios.post(`${t.baseUrl}/v1/reconciliations`, body, {
    headers: { authorization: `Bearer ${TEST_CLIENTS.agency.token}` },
    validateStatus: () => true,
  });

async function runToEnd(body: Record<string, unknown>): Promise<any> {
  const post = await askRun(body);
  if (post.status !== 202)
    throw new Error(`POST /v1/reconciliations answered ${post.status}: ${JSON.stringify(post.data)}`);
  const id = post.data.run_id as string;
  for (let i = 0; i < 600; i++) {
    const g = await t.get(`/v1/reconciliations/${id}`, 'ops');
    if (g.data.status === 'completed' || g.data.status === 'failed') return g.data;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

const sum = (rows: any[], k: string) => Money.sum(rows.map((r) => Money.of(r[k]))).toString();
const cases = async (q: string) => (await t.get(`/v1/discrepancies?limit=200&${q}`, 'ops')).data.items as any[];

beforeAll(async () => {
  t = await startTestGateway('recon_clocks', { now: () => clock });
  // March 2025, sent today: settlements, declarations, payments (March and April), plans, disbursements.
  await ok(
    '/v1/agency/settlements',
    {
      settlements: [
        st('C1', H1, 'PICC_DH', '90000.00'),
        st('C2', H1, 'PICC_DH', '1200.00'),
        st('C3', H2, 'PICC_DH', '2000.00'),
        st('C4', H2, 'CPIC_DH', '800.00'),
        st('C5', H3, 'CPIC_DH', '500.00'),
      ],
    },
    'agency',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'CB1',
      setl_cnt: 2,
      medfee_sumamt: '600000.00',
      hifob_pay_sumamt: '91200.00',
      items: [item('C1', '90000.00'), item('C2', '1200.00')],
    }),
    'hospital1',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'CB2',
      fixmedins_code: H2,
      setl_cnt: 1,
      medfee_sumamt: '300000.00',
      hifob_pay_sumamt: '2000.00',
      items: [item('C3', '2000.00')],
    }),
    'hospital2',
  );
  const pay = (
    payment_id: string,
    insurer: 'insurerA' | 'insurerB',
    payee_id: string,
    pay_time: string,
    setl_id: string,
    paid_amount: string,
  ) =>
    ok(
      '/v1/insurer-payments',
      fx.payment({
        insurer_code: TEST_CLIENTS[insurer].scope[0],
        payment_id,
        payee_id,
        pay_time,
        bank_txn_no: `BK-${payment_id}`,
        pay_amount: paid_amount,
        lines: [{ setl_id, paid_amount }],
      }),
      insurer,
    );
  await pay('CP1', 'insurerA', H1, '2025-03-20T10:00:00+08:00', 'C1', '90000.00');
  await pay('CP2', 'insurerA', H2, '2025-04-10T10:00:00+08:00', 'C3', '1500.00');
  await pay('CP3', 'insurerB', H2, '2025-04-12T10:00:00+08:00', 'C4', '800.00');
  await ok('/v1/spending-plans', fx.plan({ revision: 1, planned_amount: '93200.00', items: undefined }), 'insurerA');
  await ok(
    '/v1/spending-plans',
    fx.plan({ insurer_code: 'CPIC_DH', revision: 1, planned_amount: '1300.00', items: undefined }),
    'insurerB',
  );
  await ok(
    '/v1/agency/disbursements',
    fx.disbursement({ disbursement_id: 'CD1', amount: '93200.00', disbursed_at: '2025-04-01T09:00:00+08:00' }),
    'agency',
  );
  await ok(
    '/v1/agency/disbursements',
    fx.disbursement({
      disbursement_id: 'CD2',
      insurer_code: 'CPIC_DH',
      amount: '1300.00',
      disbursed_at: '2025-04-01T09:00:00+08:00',
    }),
    'agency',
  );
  // Not Dehong's: a disbursement from Jiaozuo's agency (4108), and one of Dehong's agency for Ulanqab (1509).
  await ok(
    '/v1/agency/disbursements',
    fx.disbursement({
      disbursement_id: 'CD-JZ',
      insurer_code: 'CPIC_DH',
      amount: '777.00',
      disbursed_at: '2025-04-01T09:00:00+08:00',
    }),
    'agencyOther',
  );
  await ok(
    '/v1/agency/disbursements',
    fx.disbursement({
      disbursement_id: 'CD-WL',
      amount: '555.00',
      admdvs: '1509',
      disbursed_at: '2025-04-01T09:00:00+08:00',
    }),
    'agency',
  );
  await t.drain();
  clock = TODAY + 3_600_000; // the runs: an hour after the load
});
afterAll(async () => {
  await t.close();
});

let run: any;

describe('a month loaded today for March 2025, reconciled as of 2025-05-10', () => {
  beforeAll(async () => {
    run = await runToEnd({ admdvs: '5331', period: '2025-03', as_of: AS_OF });
  });

  it("completes with as_of as asked and known_at the run's start", () => {
    expect(run).toMatchObject({
      status: 'completed',
      as_of: AS_OF,
      known_at: '2026-01-15T10:00:00+08:00',
      report_only: false,
    });
  });

  it('lists every institution and insurer of the month with their figures', () => {
    expect(run.institutions).toEqual([
      {
        fixmedins_code: H1,
        declared_cnt: 2,
        declared_hifob: '91200.00',
        recorded_cnt: 2,
        recorded_hifob: '91200.00',
        recorded_direct_cnt: 2,
        recorded_direct_hifob: '91200.00',
        paid: '90000.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '1200.00',
        balanced: true,
        ageing: ageing({ d1_10: '1200.00' }),
      },
      {
        fixmedins_code: H2,
        declared_cnt: 1,
        declared_hifob: '2000.00',
        recorded_cnt: 2,
        recorded_hifob: '2800.00',
        recorded_direct_cnt: 2,
        recorded_direct_hifob: '2800.00',
        paid: '2300.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '500.00',
        balanced: false,
        ageing: ageing({ d1_10: '500.00' }),
      },
      {
        fixmedins_code: H3,
        declared_cnt: 0,
        declared_hifob: '0.00',
        recorded_cnt: 1,
        recorded_hifob: '500.00',
        recorded_direct_cnt: 1,
        recorded_direct_hifob: '500.00',
        paid: '0.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '500.00',
        balanced: false,
        ageing: ageing({ d1_10: '500.00' }),
      },
    ]);
    expect(run.insurers).toEqual([
      // paid: the payments made in March (CP2 and CP3 were made in April)
      {
        insurer_code: 'CPIC_DH',
        planned: '1300.00',
        paid: '0.00',
        disbursed: '1300.00',
        plan_revision: 1,
        payments_count: 0,
        ageing: ageing({ d1_10: '500.00' }),
      },
      {
        insurer_code: 'PICC_DH',
        planned: '93200.00',
        paid: '90000.00',
        disbursed: '93200.00',
        plan_revision: 1,
        payments_count: 1,
        ageing: ageing({ d1_10: '1700.00' }),
      },
    ]);
  });

  it('has totals that are the sums of its rows', () => {
    const tot = run.summary.totals;
    expect(run.institutions.length).toBeGreaterThan(0);
    expect(tot.institutions).toBe(run.institutions.length);
    for (const k of ['declared_hifob', 'recorded_hifob', 'paid', 'rejected', 'recovered', 'outstanding'])
      expect(tot[k]).toBe(sum(run.institutions, k));
    expect(tot.recorded_cnt).toBe(run.institutions.reduce((n: number, r: any) => n + r.recorded_cnt, 0));
    expect(tot.planned).toBe(sum(run.insurers, 'planned'));
    expect(tot.insurer_paid).toBe(sum(run.insurers, 'paid'));
    expect(tot.disbursed).toBe(sum(run.insurers, 'disbursed'));
  });

  it('agrees with its findings: the overdue settlements are exactly those the report shows outstanding', async () => {
    const overdue = await cases('code=PAYMENT_OVERDUE&status=open&admdvs=5331&period=2025-03');
    expect(overdue.map((d) => d.setl_id).sort()).toEqual(['C2', 'C3', 'C5']);
    expect(run.summary.discrepancies.open.PAYMENT_OVERDUE).toBe(3);
    const outstanding = Money.sum(
      overdue.map((d) => Money.of(d.expected_amount).minus(Money.of(d.actual_amount))),
    ).toString();
    expect(outstanding).toBe(run.summary.totals.outstanding);
  });

  it("does not count a disbursement from another region's agency, nor one its agency made for another region", () => {
    const cpic = run.insurers.find((i: any) => i.insurer_code === 'CPIC_DH');
    expect(cpic.disbursed).toBe('1300.00');
    const picc = run.insurers.find((i: any) => i.insurer_code === 'PICC_DH');
    expect(picc.disbursed).toBe('93200.00');
  });
});

describe('the same run with known_at before the load', () => {
  let repro: any;
  let before: any[];
  beforeAll(async () => {
    await runToEnd({ admdvs: '5331', period: '2025-03', as_of: AS_OF });
    before = await cases('admdvs=5331');
    // As of 2025-04-15 nothing of March was overdue yet: a run that swept would resolve the cases.
    repro = await runToEnd({
      admdvs: '5331',
      period: '2025-03',
      as_of: '2025-04-15T00:00:00+08:00',
      known_at: BEFORE_LOAD,
    });
  });

  it('reproduces the empty view of that time, as a report-only run', () => {
    expect(repro).toMatchObject({
      status: 'completed',
      known_at: BEFORE_LOAD,
      report_only: true,
      institutions: [],
      insurers: [],
    });
    expect(repro.summary.totals).toMatchObject({
      institutions: 0,
      recorded_cnt: 0,
      recorded_hifob: '0.00',
      outstanding: '0.00',
      planned: '0.00',
      disbursed: '0.00',
    });
    expect(repro.summary).toMatchObject({ report_only: true, swept: null, plan_findings: null });
  });

  it('changes no discrepancy', async () => {
    const after = await cases('admdvs=5331');
    expect(after.map((d) => [d.id, d.status, d.updated_at, d.occurrences])).toEqual(
      before.map((d) => [d.id, d.status, d.updated_at, d.occurrences]),
    );
    expect(after.filter((d) => d.code === 'PAYMENT_OVERDUE' && d.status === 'open')).toHaveLength(3);
  });

  it('reproduces the full report once known_at lies after the load', async () => {
    const later = await runToEnd({ admdvs: '5331', period: '2025-03', as_of: AS_OF, known_at: AFTER_LOAD });
    expect(later.report_only).toBe(true);
    expect(later.institutions).toEqual(run.institutions);
    expect(later.insurers).toEqual(run.insurers);
  });
});

describe('known_at is checked', () => {
  it('refuses a known_at that is not a time, with its path', async () => {
    const r = await askRun({ admdvs: '5331', period: '2025-03', known_at: 'yesterday' });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ path: '/known_at', code: 'format' })]);
  });

  it('refuses a known_at after now, with its path', async () => {
    const r = await askRun({ admdvs: '5331', period: '2025-03', known_at: '2026-01-16T10:00:00+08:00' });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ path: '/known_at', code: 'maximum' })]);
  });
});

describe('plans and disbursements naming a region', () => {
  it('when an insurer has a plan and a disbursement for a region where it owes nothing, then it has a row there and DISBURSEMENT_MISMATCH', async () => {
    await ok(
      '/v1/spending-plans',
      fx.plan({ period: '2025-02', revision: 1, planned_amount: '10000.00', admdvs: '1509', items: undefined }),
      'insurerA',
    );
    await ok(
      '/v1/agency/disbursements',
      fx.disbursement({
        disbursement_id: 'CD-WL-02',
        period: '2025-02',
        amount: '4000.00',
        admdvs: '1509',
        disbursed_at: '2025-03-01T09:00:00+08:00',
      }),
      'agency',
    );
    await t.drain();
    const r = await runToEnd({ admdvs: '1509', period: '2025-02', as_of: AS_OF });
    expect(r.insurers).toEqual([
      {
        insurer_code: 'PICC_DH',
        planned: '10000.00',
        paid: '0.00',
        disbursed: '4000.00',
        plan_revision: 1,
        payments_count: 0,
        ageing: ageing(),
      },
    ]);
    const dm = await cases('code=DISBURSEMENT_MISMATCH&admdvs=1509&period=2025-02');
    expect(dm).toEqual([
      expect.objectContaining({
        status: 'open',
        insurer_code: 'PICC_DH',
        expected_amount: '10000.00',
        actual_amount: '4000.00',
      }),
    ]);
    // and not in Dehong's run of that month
    const dh = await runToEnd({ admdvs: '5331', period: '2025-02', as_of: AS_OF });
    expect(dh.insurers.find((i: any) => i.insurer_code === 'PICC_DH')).toBeUndefined();
  });

  it('when an agency sends a disbursement for a region outside its scope, then it is 403 with the path /admdvs', async () => {
    for (const admdvs of ['4108', '53']) {
      const r = await t.post(
        '/v1/agency/disbursements',
        fx.disbursement({ disbursement_id: `CD-OUT-${admdvs}`, admdvs }),
        'agency',
      );
      expect(r.status).toBe(403);
      expect(r.data.errors).toEqual([expect.objectContaining({ path: '/admdvs', code: 'OUT_OF_SCOPE' })]);
    }
  });

  it('when an admdvs is not a 2–6 digit prefix, then it is 422 with its path', async () => {
    const r = await t.post('/v1/spending-plans', fx.plan({ period: '2025-01', admdvs: '5331X' }), 'insurerA');
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ path: '/admdvs' })]);
  });
});
