/**
 * A reconciliation run over a test month with known totals (Dehong 5331, 2025-03: three institutions,
 * both insurers, a replaced batch, partial payments, rejections, a recovery, a reversal, a payment by
 * the wrong insurer, another region's settlement, a plan and a disbursement) reproduces every figure
 * of the report to the fen; PLAN_VARIANCE and DISBURSEMENT_MISMATCH open against the plan and resolve
 * with a new plan revision; the exports carry the same figures under Chinese headers.
 */
import axios from 'axios';
import * as ExcelJS from 'exceljs';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { Money } from '../../src/money';

let clock = Date.parse('2025-04-10T08:00:00+08:00');
let t: TestGateway;
const AS_OF = '2025-04-10T10:00:00+08:00';

const st = (
  setl_id: string,
  fixmedins_code: string,
  insurer_code: string,
  hifob_pay: string,
  over: Partial<ReturnType<typeof fx.settlement>> = {},
) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    insurer_code,
    hifob_pay,
    setldetail: undefined,
    ...over,
  });
const item = (setl_id: string, hifob_pay: string) => ({
  setl_id,
  mdtrt_id: `M-${setl_id}`,
  psn_no: `P-${setl_id}`,
  setl_time: '2025-03-10 09:30:00',
  medfee_sumamt: '300000.00',
  hifob_pay,
});
const H1 = 'H53310200001',
  H2 = 'H53310200002',
  H3 = 'H53310200003';
/** Arrears by age (spec §10): the month's direct settlements are due 2025-04-30, not yet at either run. */
const notDue = (amount: string) => ({
  not_due: amount,
  d1_10: '0.00',
  d11_30: '0.00',
  d31_60: '0.00',
  over_60: '0.00',
});

async function ok(path: string, body: unknown, as: TestClientName) {
  const r = await t.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r;
}

async function runToEnd(body: Record<string, string>): Promise<any> {
  const post = await axios.post(`${t.baseUrl}/v1/reconciliations`, body, {
    headers: { authorization: `Bearer ${TEST_CLIENTS.agency.token}` },
    validateStatus: () => true,
  });
  expect(post.status).toBe(202);
  const id = post.data.run_id as string;
  for (let i = 0; i < 600; i++) {
    const g = await t.get(`/v1/reconciliations/${id}`, 'ops');
    if (g.data.status === 'completed' || g.data.status === 'failed') return g.data;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

const download = (path: string, as: TestClientName) =>
  axios.get(`${t.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
    responseType: 'arraybuffer',
    validateStatus: () => true,
  });

beforeAll(async () => {
  t = await startTestGateway('recon_report', { now: () => clock });
  await ok(
    '/v1/agency/settlements',
    {
      settlements: [
        st('S1', H1, 'PICC_DH', '90000.00'),
        st('S2', H1, 'PICC_DH', '1234.56'),
        st('S3', H1, 'CPIC_DH', '500.00'),
        st('S4', H2, 'PICC_DH', '2000.00'),
        st('S5', H2, 'PICC_DH', '300.00', { setl_mode: 'manual' }),
        st('S6', H2, 'CPIC_DH', '0.00'),
        st('S7', H1, 'PICC_DH', '700.00'),
        st('S7', H1, 'PICC_DH', '700.00', { status: 'reversed' }),
        st('S8', H3, 'CPIC_DH', '1000.00'),
        st('S9', 'H15090200001', 'CPIC_DH', '5000.00', { insuplc_admdvs: '150902', mdtrtarea_admvs: '150902' }),
        st('S10', H1, 'PICC_DH', '800.00', { setl_time: '2025-02-20 10:00:00' }),
      ],
    },
    'agency',
  );
  // h1 declares to PICC, then replaces that batch (S2 was declared wrong), and declares S3 to CPIC.
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B1',
      setl_cnt: 2,
      medfee_sumamt: '600000.00',
      hifob_pay_sumamt: '91200.00',
      items: [item('S1', '90000.00'), item('S2', '1200.00')],
    }),
    'hospital1',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B1b',
      replaces_batch_id: 'B1',
      setl_cnt: 2,
      medfee_sumamt: '600000.00',
      hifob_pay_sumamt: '91234.56',
      items: [item('S1', '90000.00'), item('S2', '1234.56')],
    }),
    'hospital1',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B2',
      insurer_code: 'CPIC_DH',
      setl_cnt: 1,
      medfee_sumamt: '300000.00',
      hifob_pay_sumamt: '500.00',
      items: [item('S3', '500.00')],
    }),
    'hospital1',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B3',
      fixmedins_code: H2,
      setl_cnt: 1,
      medfee_sumamt: '300000.00',
      hifob_pay_sumamt: '2000.00',
      items: [item('S4', '2000.00')],
    }),
    'hospital2',
  );
  await ok(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B4',
      fixmedins_code: H2,
      insurer_code: 'CPIC_DH',
      setl_cnt: 1,
      medfee_sumamt: '300000.00',
      hifob_pay_sumamt: '400.00',
      items: [item('S11', '400.00')],
    }),
    'hospital2',
  );
  const pay = (
    payment_id: string,
    insurer: 'insurerA' | 'insurerB',
    payee_id: string,
    pay_time: string,
    lines: [any, ...any[]],
    payee_type: 'institution' | 'person' = 'institution',
  ) =>
    ok(
      '/v1/insurer-payments',
      fx.payment({
        insurer_code: TEST_CLIENTS[insurer].scope[0],
        payment_id,
        payee_type,
        payee_id,
        pay_time,
        bank_txn_no: `BK-${payment_id}`,
        pay_amount: Money.sum(lines.map((l) => Money.of(l.paid_amount))).toString(),
        lines,
      }),
      insurer,
    );
  await pay('PAY1', 'insurerA', H1, '2025-03-20T10:00:00+08:00', [{ setl_id: 'S1', paid_amount: '90000.00' }]);
  await pay('PAY2', 'insurerA', H1, '2025-03-25T10:00:00+08:00', [
    { setl_id: 'S2', paid_amount: '1000.00', rejected_amount: '234.56', reject_reason_code: 'R01' },
  ]);
  await pay('PAY3', 'insurerA', H2, '2025-03-28T10:00:00+08:00', [{ setl_id: 'S4', paid_amount: '1500.00' }]);
  await pay(
    'PAY4',
    'insurerA',
    'P-S5',
    '2025-04-02T10:00:00+08:00',
    [{ setl_id: 'S5', paid_amount: '300.00' }],
    'person',
  );
  await pay('PAY5', 'insurerB', H1, '2025-03-26T10:00:00+08:00', [
    { setl_id: 'S3', paid_amount: '400.00', rejected_amount: '100.00', reject_reason_code: 'R02' },
  ]);
  await pay('PAY6', 'insurerB', H1, '2025-03-27T10:00:00+08:00', [{ setl_id: 'S1', paid_amount: '50.00' }]);
  await pay('PAY9', 'insurerB', 'H15090200001', '2025-03-27T10:00:00+08:00', [
    { setl_id: 'S9', paid_amount: '5000.00' },
  ]);
  await ok(
    '/v1/recoveries',
    fx.recovery({ recovery_id: 'REC1', setl_id: 'S1', amount: '1000.00', recovered_at: '2025-04-08T10:00:00+08:00' }),
    'insurerA',
  );
  await ok('/v1/spending-plans', fx.plan({ revision: 1, planned_amount: '100000.00', items: undefined }), 'insurerA');
  await ok(
    '/v1/spending-plans',
    fx.plan({ insurer_code: 'CPIC_DH', revision: 1, planned_amount: '450.00', items: undefined }),
    'insurerB',
  );
  await ok(
    '/v1/agency/disbursements',
    fx.disbursement({ disbursement_id: 'D1', amount: '93000.00', disbursed_at: '2025-04-01T09:00:00+08:00' }),
    'agency',
  );
  // Known after the first run's as_of: a further payment (pay_time 04-15) that settles S4.
  clock = Date.parse('2025-04-16T09:00:00+08:00');
  await pay('PAY7', 'insurerA', H2, '2025-04-15T10:00:00+08:00', [{ setl_id: 'S4', paid_amount: '500.00' }]);
  await t.drain();
});
afterAll(async () => {
  await t.close();
});

let first: any;

describe('a run of the test month as of 2025-04-10 10:00', () => {
  beforeAll(async () => {
    first = await runToEnd({ admdvs: '5331', period: '2025-03', as_of: AS_OF });
  });

  it('completes with the region, period and as_of asked for', () => {
    expect(first).toMatchObject({ status: 'completed', admdvs: '5331', period: '2025-03', as_of: AS_OF });
  });

  it('reproduces every institution figure to the fen', () => {
    expect(first.institutions).toEqual([
      {
        fixmedins_code: H1,
        declared_cnt: 3,
        declared_hifob: '91734.56',
        recorded_cnt: 3,
        recorded_hifob: '91734.56',
        recorded_direct_cnt: 3,
        recorded_direct_hifob: '91734.56',
        paid: '91400.00',
        rejected: '334.56',
        recovered: '1000.00',
        outstanding: '0.00',
        balanced: true,
        ageing: notDue('0.00'),
      },
      {
        fixmedins_code: H2,
        declared_cnt: 2,
        declared_hifob: '2400.00',
        recorded_cnt: 2,
        recorded_hifob: '2300.00',
        recorded_direct_cnt: 1,
        recorded_direct_hifob: '2000.00',
        paid: '1800.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '500.00',
        balanced: false,
        ageing: notDue('500.00'),
      },
      {
        fixmedins_code: H3,
        declared_cnt: 0,
        declared_hifob: '0.00',
        recorded_cnt: 1,
        recorded_hifob: '1000.00',
        recorded_direct_cnt: 1,
        recorded_direct_hifob: '1000.00',
        paid: '0.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '1000.00',
        balanced: false,
        ageing: notDue('1000.00'),
      },
    ]);
  });

  it("reproduces every insurer figure: latest plan, the period's payments for the region, disbursements", () => {
    expect(first.insurers).toEqual([
      {
        insurer_code: 'CPIC_DH',
        planned: '450.00',
        paid: '450.00',
        disbursed: '0.00',
        plan_revision: 1,
        payments_count: 2,
        ageing: notDue('1000.00'),
      },
      {
        insurer_code: 'PICC_DH',
        planned: '100000.00',
        paid: '92500.00',
        disbursed: '93000.00',
        plan_revision: 1,
        payments_count: 3,
        ageing: notDue('500.00'),
      },
    ]);
  });

  it('sums the report in its summary, with the sweep, benefit counts and discrepancy counts', () => {
    expect(first.summary.totals).toEqual({
      institutions: 3,
      balanced_institutions: 1,
      declared_cnt: 5,
      declared_hifob: '94134.56',
      recorded_cnt: 6,
      recorded_hifob: '95034.56',
      paid: '93200.00',
      rejected: '334.56',
      recovered: '1000.00',
      outstanding: '1500.00',
      planned: '100450.00',
      insurer_paid: '92950.00',
      disbursed: '93000.00',
      ageing: notDue('1500.00'),
    });
    expect(first.summary.swept).toEqual({ settlements: expect.any(Number), declarations: expect.any(Number) });
    expect(first.summary.benefits).toEqual({
      checked: expect.any(Number),
      unchecked: expect.any(Number),
      deviations: expect.any(Number),
    });
    expect(first.summary.discrepancies.open).toMatchObject({ PLAN_VARIANCE: 1, DISBURSEMENT_MISMATCH: 1 });
    expect(first.summary.discrepancies.opened).toMatchObject({ PLAN_VARIANCE: 1, DISBURSEMENT_MISMATCH: 1 });
  });

  it('opens PLAN_VARIANCE and DISBURSEMENT_MISMATCH for PICC_DH against plan revision 1', async () => {
    const pv = (await t.get('/v1/discrepancies?code=PLAN_VARIANCE&admdvs=5331', 'ops')).data.items;
    expect(pv).toEqual([
      expect.objectContaining({
        status: 'open',
        severity: 'medium',
        insurer_code: 'PICC_DH',
        period: '2025-03',
        subject_key: 'insurer:PICC_DH:2025-03',
        expected_amount: '100000.00',
        actual_amount: '92500.00',
        difference: '-7500.00',
      }),
    ]);
    expect(pv[0].evidence).toMatchObject({ plan: { revision: 1, planned_amount: '100000.00' }, payments_count: 3 });
    const dm = (await t.get('/v1/discrepancies?code=DISBURSEMENT_MISMATCH&admdvs=5331', 'ops')).data.items;
    expect(dm).toEqual([
      expect.objectContaining({
        status: 'open',
        subject_key: 'insurer:PICC_DH:2025-03',
        expected_amount: '100000.00',
        actual_amount: '93000.00',
        difference: '-7000.00',
      }),
    ]);
    expect(dm[0].evidence.disbursements).toEqual([
      expect.objectContaining({ disbursement_id: 'D1', amount: '93000.00' }),
    ]);
  });

  it('shows an insurer only its own insurer row and an institution only its own row', async () => {
    const a = (await t.get(`/v1/reconciliations/${first.run_id}`, 'insurerA')).data;
    expect(a).toMatchObject({
      summary: null,
      institutions: [],
      insurers: [expect.objectContaining({ insurer_code: 'PICC_DH' })],
    });
    expect(a.insurers).toHaveLength(1);
    const h = (await t.get(`/v1/reconciliations/${first.run_id}`, 'hospital1')).data;
    expect(h).toMatchObject({
      summary: null,
      insurers: [],
      institutions: [expect.objectContaining({ fixmedins_code: H1 })],
    });
    expect(h.institutions).toHaveLength(1);
    expect((await t.get(`/v1/reconciliations/${first.run_id}`, 'agencyOther')).status).toBe(404);
  });

  it('exports an XLSX with the three sheets, Chinese headers, amounts as numbers and totals', async () => {
    const r = await download(`/v1/reconciliations/${first.run_id}/export?format=xlsx`, 'agency');
    expect(r.status).toBe(200);
    expect(r.headers['content-disposition']).toMatch(/attachment; filename="reconciliation-5331-2025-03-.*\.xlsx"/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(r.data) as any);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['汇总', '定点机构', '承保公司']);
    const inst = wb.getWorksheet('定点机构')!;
    expect((inst.getRow(1).values as unknown[]).slice(1, 5)).toEqual([
      '定点医药机构编码',
      '申报笔数',
      '申报大额金额',
      '经办记录笔数',
    ]);
    expect(inst.getRow(1).font?.bold).toBe(true);
    expect(inst.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(inst.getRow(2).getCell(3).value).toBe(91734.56);
    expect(inst.getRow(2).getCell(3).numFmt).toBe('#,##0.00');
    expect(inst.getRow(2).getCell(12).value).toBe('是');
    const total = inst.getRow(5);
    expect(total.getCell(1).value).toBe('合计');
    expect(total.getCell(3).value).toMatchObject({ formula: 'SUM(C2:C4)', result: 94134.56 });
    expect(total.getCell(11).value).toMatchObject({ result: 1500 });
    const ins = wb.getWorksheet('承保公司')!;
    expect((ins.getRow(1).values as unknown[]).slice(1)).toEqual([
      '承保公司编码',
      '支出计划版本',
      '计划金额',
      '已支付',
      '支付笔数',
      '已拨付',
      '未到期',
      '逾期1–10个工作日',
      '逾期11–30个工作日',
      '逾期31–60个工作日',
      '逾期60个工作日以上',
    ]);
    expect(ins.getRow(4).getCell(3).value).toMatchObject({ result: 100450 });
  });

  it('exports CSV with a UTF-8 BOM, CRLF line ends and a totals row', async () => {
    const r = await download(`/v1/reconciliations/${first.run_id}/export?format=csv`, 'agency');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    const text = Buffer.from(r.data).toString('utf8');
    expect(text.startsWith('\ufeff定点医药机构编码,申报笔数,申报大额金额,经办记录笔数,经办记录大额金额')).toBe(true);
    const lines = text.slice(1).split('\r\n');
    expect(lines[1]).toBe(
      `${H1},3,91734.56,3,91734.56,3,91734.56,91400.00,334.56,1000.00,0.00,是,0.00,0.00,0.00,0.00,0.00`,
    );
    expect(lines[4]).toBe(
      '合计,5,94134.56,6,95034.56,5,94734.56,93200.00,334.56,1000.00,1500.00,,1500.00,0.00,0.00,0.00,0.00',
    );
  });

  it('exports the discrepancy list under the list filters, in CSV and XLSX', async () => {
    const csv = Buffer.from(
      (await download('/v1/discrepancies/export?format=csv&code=PLAN_VARIANCE', 'ops')).data,
    ).toString('utf8');
    expect(csv.startsWith('\ufeff差异编号,差异代码,严重程度')).toBe(true);
    const rows = csv.slice(1).trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain('PLAN_VARIANCE,medium,open');
    const x = await download('/v1/discrepancies/export?format=xlsx&admdvs=5331', 'agency');
    expect(x.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(x.data) as any);
    const ws = wb.getWorksheet('差异')!;
    expect(ws.getRow(1).getCell(2).value).toBe('差异代码');
    expect(ws.rowCount).toBeGreaterThanOrEqual(3);
    expect((await download('/v1/discrepancies/export?format=pdf', 'ops')).status).toBe(400);
  });
});

describe('a later run, after plan revision 2', () => {
  it('resolves PLAN_VARIANCE and DISBURSEMENT_MISMATCH automatically and counts PAY7', async () => {
    await ok('/v1/spending-plans', fx.plan({ revision: 2, planned_amount: '93000.00', items: undefined }), 'insurerA');
    await t.drain();
    const second = await runToEnd({ admdvs: '5331', period: '2025-03' });
    expect(second.as_of).toBe('2025-04-16T09:00:00+08:00');
    expect(second.insurers.find((i: any) => i.insurer_code === 'PICC_DH')).toEqual({
      insurer_code: 'PICC_DH',
      planned: '93000.00',
      paid: '92500.00',
      disbursed: '93000.00',
      plan_revision: 2,
      payments_count: 3,
      ageing: notDue('0.00'),
    });
    expect(second.institutions.find((i: any) => i.fixmedins_code === H2)).toMatchObject({
      paid: '2300.00',
      outstanding: '0.00',
    });
    for (const code of ['PLAN_VARIANCE', 'DISBURSEMENT_MISMATCH']) {
      const items = (await t.get(`/v1/discrepancies?code=${code}&admdvs=5331`, 'ops')).data.items;
      expect(items).toEqual([expect.objectContaining({ status: 'resolved', resolution: 'auto' })]);
    }
    expect(second.summary.discrepancies.open.PLAN_VARIANCE).toBeUndefined();
  });
});

describe('asking for a run', () => {
  const post = (body: unknown, as: TestClientName) =>
    axios.post(`${t.baseUrl}/v1/reconciliations`, body, {
      headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
      validateStatus: () => true,
    });

  it("refuses a region outside the agency's scope with 403", async () => {
    expect((await post({ admdvs: '4108', period: '2025-03' }, 'agency')).status).toBe(403);
  });

  it('refuses insurers and institutions with 403', async () => {
    expect((await post({ admdvs: '5331', period: '2025-03' }, 'insurerA')).status).toBe(403);
    expect((await post({ admdvs: '5331', period: '2025-03' }, 'hospital1')).status).toBe(403);
  });

  it('answers 422 with JSON pointers to the bad fields', async () => {
    const r = await post({ admdvs: '5', period: '2025-13', as_of: 'yesterday', extra: 1 }, 'ops');
    expect(r.status).toBe(422);
    expect(r.data.errors.map((e: any) => e.path).sort()).toEqual(['/admdvs', '/as_of', '/extra', '/period']);
  });

  it('answers 401 without a token and 404 for an unknown run', async () => {
    expect((await axios.post(`${t.baseUrl}/v1/reconciliations`, {}, { validateStatus: () => true })).status).toBe(401);
    expect((await t.get('/v1/reconciliations/00000000-0000-7000-8000-000000000000', 'ops')).status).toBe(404);
  });
});
