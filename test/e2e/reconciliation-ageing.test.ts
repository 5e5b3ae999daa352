/**
 * Arrears by age (应支未支, spec §10): a run's institution and insurer rows carry their outstanding in
 * working-day buckets past the due date as of the run's as_of, and the buckets add up to the
 * outstanding. January 2025 in Dehong, across the Spring Festival (28 Jan – 4 Feb off, 26 Jan and
 * 8 Feb worked): manual claims due 20 working days after setl_time, direct ones on 28 Feb.
 * As of Mon 3 Mar 2025 10:00 (hand counts in test/unit/deadlines/ageing.test.ts):
 *   A1 manual 2 Jan, due 6 Feb: 18 working days past (d11_30); A2 manual 20 Jan, due 21 Feb: 6
 *   (d1_10); A3 manual 27 Jan, due 3 Mar: 0 (not_due); A4 direct, due Fri 28 Feb: 1 (d1_10).
 * As of Tue 15 Apr 2025 10:00 (March 21 working days, 1–15 April 10, 4 April off):
 *   A1 48, A2 36, A4 31 (d31_60); A3 30 (d11_30).
 */
import axios from 'axios';
import { Money } from '../../src/money';
import * as fx from '../support/fixtures';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let t: TestGateway;
const clock = Date.parse('2025-04-16T09:00:00+08:00');
const H1 = 'H53310200001',
  H2 = 'H53310200002';

const st = (
  setl_id: string,
  fixmedins_code: string,
  insurer_code: string,
  hifob_pay: string,
  setl_mode: 'direct' | 'manual',
  setl_time: string,
) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    insurer_code,
    hifob_pay,
    setl_mode,
    setl_time,
    setldetail: undefined,
  });

async function ok(path: string, body: unknown, as: TestClientName) {
  const r = await t.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
}

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
  throw new Error('the run did not finish');
}

const ageing = (a: Partial<Record<'not_due' | 'd1_10' | 'd11_30' | 'd31_60' | 'over_60', string>>) => ({
  not_due: '0.00',
  d1_10: '0.00',
  d11_30: '0.00',
  d31_60: '0.00',
  over_60: '0.00',
  ...a,
});
const sum = (a: Record<string, string>) => Money.sum(Object.values(a).map((v) => Money.of(v))).toString();

beforeAll(async () => {
  t = await startTestGateway('recon_ageing', { now: () => clock });
  await ok(
    '/v1/agency/settlements',
    {
      settlements: [
        st('A1', H1, 'PICC_DH', '1234.56', 'manual', '2025-01-02 10:00:00'),
        st('A2', H1, 'PICC_DH', '100.01', 'manual', '2025-01-20 10:00:00'),
        st('A3', H2, 'CPIC_DH', '2000.00', 'manual', '2025-01-27 10:00:00'),
        st('A4', H2, 'PICC_DH', '333.33', 'direct', '2025-01-15 10:00:00'),
        st('A5', H1, 'CPIC_DH', '500.00', 'direct', '2025-01-31 10:00:00'),
      ],
    },
    'agency',
  );
  await ok(
    '/v1/insurer-payments',
    fx.payment({
      payment_id: 'PAY-A1',
      payee_type: 'person',
      payee_id: 'P-A1',
      pay_time: '2025-02-10T10:00:00+08:00',
      bank_txn_no: 'BK-A1',
      pay_amount: '234.56',
      lines: [{ setl_id: 'A1', paid_amount: '234.56' }],
    }),
    'insurerA',
  );
  await ok(
    '/v1/insurer-payments',
    fx.payment({
      insurer_code: 'CPIC_DH',
      payment_id: 'PAY-A5',
      payee_id: H1,
      pay_time: '2025-02-20T10:00:00+08:00',
      bank_txn_no: 'BK-A5',
      pay_amount: '500.00',
      lines: [{ setl_id: 'A5', paid_amount: '500.00' }],
    }),
    'insurerB',
  );
  await t.drain();
});
afterAll(async () => {
  await t.close();
});

describe('a run of January 2025 as of Monday 3 March 2025 10:00', () => {
  let run: any;
  beforeAll(async () => {
    run = await runToEnd({ admdvs: '5331', period: '2025-01', as_of: '2025-03-03T10:00:00+08:00' });
  });

  it('gives each institution its outstanding by working days past due', () => {
    expect(run.status).toBe('completed');
    expect(run.institutions.map((i: any) => [i.fixmedins_code, i.outstanding, i.ageing])).toEqual([
      [H1, '1100.01', ageing({ d1_10: '100.01', d11_30: '1000.00' })],
      [H2, '2333.33', ageing({ not_due: '2000.00', d1_10: '333.33' })],
    ]);
  });

  it('gives each insurer the arrears it owes, by the same buckets', () => {
    expect(run.insurers.map((i: any) => [i.insurer_code, i.ageing])).toEqual([
      ['CPIC_DH', ageing({ not_due: '2000.00' })],
      ['PICC_DH', ageing({ d1_10: '433.34', d11_30: '1000.00' })],
    ]);
  });

  it('adds the buckets up to the outstanding, row by row and in the totals', () => {
    for (const i of run.institutions) expect(sum(i.ageing)).toBe(i.outstanding);
    expect(run.summary.totals.ageing).toEqual(ageing({ not_due: '2000.00', d1_10: '433.34', d11_30: '1000.00' }));
    expect(sum(run.summary.totals.ageing)).toBe(run.summary.totals.outstanding);
    expect(Money.sum(run.insurers.map((i: any) => Money.of(sum(i.ageing)))).toString()).toBe(
      run.summary.totals.outstanding,
    );
    expect(run.summary.ageing_buckets).toEqual([10, 30, 60]);
  });

  it('shows an insurer the ageing of its own row only', async () => {
    const a = (await t.get(`/v1/reconciliations/${run.run_id}`, 'insurerB')).data;
    expect(a.insurers).toEqual([
      expect.objectContaining({ insurer_code: 'CPIC_DH', ageing: ageing({ not_due: '2000.00' }) }),
    ]);
    expect(a.institutions).toEqual([]);
  });

  it('exports the buckets under Chinese headers', async () => {
    const r = await axios.get(`${t.baseUrl}/v1/reconciliations/${run.run_id}/export?format=csv&section=insurers`, {
      headers: { authorization: `Bearer ${TEST_CLIENTS.agency.token}` },
      responseType: 'arraybuffer',
    });
    const lines = Buffer.from(r.data).toString('utf8').slice(1).split('\r\n');
    expect(lines[0]).toBe(
      '承保公司编码,支出计划版本,计划金额,已支付,支付笔数,已拨付,未到期,逾期1–10个工作日,逾期11–30个工作日,逾期31–60个工作日,逾期60个工作日以上',
    );
    expect(lines[2]).toBe('PICC_DH,,0.00,0.00,0,0.00,0.00,433.34,1000.00,0.00,0.00');
  });
});

describe('a run of January 2025 as of Tuesday 15 April 2025 10:00', () => {
  let run: any;
  beforeAll(async () => {
    run = await runToEnd({ admdvs: '5331', period: '2025-01', as_of: '2025-04-15T10:00:00+08:00' });
  });

  it('has moved the same arrears into the older buckets', () => {
    expect(run.institutions.map((i: any) => [i.fixmedins_code, i.ageing])).toEqual([
      [H1, ageing({ d31_60: '1100.01' })],
      [H2, ageing({ d11_30: '2000.00', d31_60: '333.33' })],
    ]);
    expect(run.insurers.map((i: any) => [i.insurer_code, i.ageing])).toEqual([
      ['CPIC_DH', ageing({ d11_30: '2000.00' })],
      ['PICC_DH', ageing({ d31_60: '1433.34' })],
    ]);
  });

  it('shows each insurer its arrears on /metrics, by bucket, from the latest run of the region-period', async () => {
    const text = (await axios.get(`${t.baseUrl}/metrics`)).data as string;
    expect(text).toContain(
      'gateway_arrears_yuan{admdvs="5331",period="2025-01",insurer_code="PICC_DH",bucket="d31_60"} 1433.34',
    );
    expect(text).toContain(
      'gateway_arrears_yuan{admdvs="5331",period="2025-01",insurer_code="CPIC_DH",bucket="d11_30"} 2000',
    );
    expect(text).toContain(
      'gateway_arrears_yuan{admdvs="5331",period="2025-01",insurer_code="CPIC_DH",bucket="not_due"} 0',
    );
  });
});
