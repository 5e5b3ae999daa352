/**
 * A Dehong (5331) fund year 2024 posted through the signed API — premium collections, transfers,
 * disbursements to three insurers, settlements, payments (some non-compliant: above the benefit
 * rules, for a reversed settlement, to the wrong payee), a recovery and cost reports — gives the
 * statement of spec §8 to the fen and every planted code (COST_REPORT_MISSING, COST_LIMIT_EXCEEDED,
 * PROFIT_LIMIT_EXCEEDED, FUND_DEFICIT); a later cost report revision resolves COST_LIMIT_EXCEEDED by
 * itself; the exports open, the public one carries region totals only; another region's agency gets 404.
 *
 * Hand-worked figures (Dehong: operating cost ≤ 9%, profit ≤ 1%, 001 art. 21):
 *   PICC_DH premium 100,000.00; S1 90,000.00 paid (compliant); S2 1,000.00 paid against 900.00 allowed
 *     (1,000.00 × 90%); S3 500.00 paid though reversed → compliant 90,900.00, non-compliant 600.00;
 *     operating cost 9,000.01 against 9,000.00 allowed → COST_LIMIT_EXCEEDED 0.01; profit 100,000.00 −
 *     90,900.00 − 9,000.00 = 100.00 (0.10%); spent 100,500.01 → deficit 500.01, all non-policy.
 *   CPIC_DH premium 50,000.00; S4 45,000.00 paid, 1,000.00 recovered → compliant 44,000.00; S5 900.00
 *     paid to another institution → non-compliant 900.00; cost 4,000.00 (8.00%); profit 2,000.00 (4.00%)
 *     against 500.00 → PROFIT_LIMIT_EXCEEDED, 1,500.00 owed back.
 *   TPIC_DH premium 10,000.00, no cost report by 30 April 2025 → COST_REPORT_MISSING.
 *   Region: opening −20,000.00 + collected 150,000.00 − compliant 134,900.00 = −4,900.00 → FUND_DEFICIT.
 */
import axios from 'axios';
import * as ExcelJS from 'exceljs';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Money } from '../../src/money';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';
import { REDIS_URL } from '../support/test-gateway';

let clock = Date.parse('2025-06-10T09:00:00+08:00');
let t: TestGateway;
const H1 = 'H53310200001',
  H2 = 'H53310200002';

const st = (
  setl_id: string,
  fixmedins_code: string,
  insurer_code: string,
  hifob_pay: string,
  base: string,
  over: Partial<ReturnType<typeof fx.settlement>> = {},
) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    insurer_code,
    hifob_pay,
    setl_time: '2024-03-10 09:30:00',
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '180000.00', fund_payamt: '180000.00' },
      { fund_pay_type: '330100', inscp_scp_amt: base, fund_payamt: hifob_pay },
    ],
    ...over,
  });

async function ok(path: string, body: unknown, as: TestClientName) {
  const r = await t.post(path, body, as);
  if (r.status !== 202) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r;
}

async function statement(body: Record<string, unknown>, as: TestClientName = 'agency'): Promise<any> {
  const post = await axios.post(`${t.baseUrl}/v1/fund-statements`, body, {
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
    validateStatus: () => true,
  });
  expect(post.status).toBe(202);
  const id = post.data.statement_id as string;
  for (let i = 0; i < 600; i++) {
    const g = await t.get(`/v1/fund-statements/${id}`, 'ops');
    if (g.data.status === 'completed' || g.data.status === 'failed') return g.data;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`statement ${id} did not finish`);
}

const download = (path: string, as: TestClientName) =>
  axios.get(`${t.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
    responseType: 'arraybuffer',
    validateStatus: () => true,
  });

async function sheets(buf: Buffer): Promise<Map<string, string[][]>> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const out = new Map<string, string[][]>();
  wb.eachSheet((ws) => {
    const rows: string[][] = [];
    ws.eachRow((row) => {
      rows.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v))));
    });
    out.set(ws.name, rows);
  });
  return out;
}

const pay = (payment_id: string, insurer: 'insurerA' | 'insurerB', payee_id: string, lines: [any, ...any[]]) =>
  ok(
    '/v1/insurer-payments',
    fx.payment({
      insurer_code: TEST_CLIENTS[insurer].scope[0],
      payment_id,
      payee_type: 'institution',
      payee_id,
      pay_time: '2024-04-15T10:00:00+08:00',
      bank_txn_no: `BK-${payment_id}`,
      pay_amount: Money.sum(lines.map((l) => Money.of(l.paid_amount))).toString(),
      lines,
    }),
    insurer,
  );

const costReport = (insurer: 'insurerA' | 'insurerB', revision: number, operating_cost: string) =>
  ok(
    '/v1/insurer-cost-reports',
    {
      insurer_code: TEST_CLIENTS[insurer].scope[0],
      admdvs: '5331',
      fund_year: '2024',
      revision,
      operating_cost,
      reported_at: '2025-03-01T10:00:00+08:00',
    },
    insurer,
  );

beforeAll(async () => {
  t = await startTestGateway('fund_statement', { now: () => clock });
  await ok(
    '/v1/agency/settlements',
    {
      settlements: [
        st('S1', H1, 'PICC_DH', '90000.00', '100000.00'),
        st('S2', H1, 'PICC_DH', '1000.00', '1000.00'),
        st('S3', H1, 'PICC_DH', '450.00', '500.00'),
        st('S3', H1, 'PICC_DH', '450.00', '500.00', { status: 'reversed' }),
        st('S4', H2, 'CPIC_DH', '45000.00', '50000.00'),
        st('S5', H2, 'CPIC_DH', '900.00', '1000.00'),
        // Another year and another region: not the statement's.
        st('S6', H1, 'PICC_DH', '9000.00', '10000.00', { setl_time: '2023-12-31 23:00:00' }),
        st('S7', 'H15090200001', 'CPIC_DH', '5000.00', '5000.00', {
          insuplc_admdvs: '150902',
          mdtrtarea_admvs: '150902',
        }),
      ],
    },
    'agency',
  );
  await pay('PAY1', 'insurerA', H1, [
    { setl_id: 'S1', paid_amount: '90000.00' },
    { setl_id: 'S2', paid_amount: '1000.00' },
    { setl_id: 'S3', paid_amount: '500.00' },
  ]);
  await pay('PAY2', 'insurerB', H2, [{ setl_id: 'S4', paid_amount: '45000.00' }]);
  await pay('PAY3', 'insurerB', H1, [{ setl_id: 'S5', paid_amount: '900.00' }]);
  await ok(
    '/v1/recoveries',
    fx.recovery({
      insurer_code: 'CPIC_DH',
      recovery_id: 'REC1',
      setl_id: 'S4',
      amount: '1000.00',
      recovered_at: '2024-05-20T10:00:00+08:00',
    }),
    'insurerB',
  );
  for (const [id, insurer, amount] of [
    ['D1', 'PICC_DH', '100000.00'],
    ['D2', 'CPIC_DH', '50000.00'],
    ['D3', 'TPIC_DH', '10000.00'],
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
  await ok(
    '/v1/premium-collections',
    {
      collection_id: 'C1',
      admdvs: '533102',
      fund_year: '2024',
      period: '2024-04',
      payer_type: 'employer',
      insured_count: 1000,
      amount: '150000.00',
      late_fee: '10.00',
      collected_at: '2024-04-15T10:00:00+08:00',
    },
    'agency',
  );
  await ok(
    '/v1/fund-transfers',
    {
      transfer_id: 'T1',
      admdvs: '533102',
      fund_year: '2024',
      period: '2024-04',
      from_account: 'tax',
      to_account: 'treasury',
      amount: '150000.00',
      transferred_at: '2024-05-05T10:00:00+08:00',
    },
    'agency',
  );
  await ok(
    '/v1/fund-transfers',
    {
      transfer_id: 'T2',
      admdvs: '533102',
      fund_year: '2024',
      period: '2024-04',
      from_account: 'treasury',
      to_account: 'special_account',
      amount: '150000.00',
      transferred_at: '2024-05-08T10:00:00+08:00',
    },
    'agency',
  );
  await costReport('insurerA', 1, '9000.01');
  await costReport('insurerB', 1, '4000.00');
  await t.drain();
});
afterAll(async () => {
  await t.close();
});

let first: any;

describe('the statement of Dehong fund year 2024 as of 1 June 2025', () => {
  beforeAll(async () => {
    first = await statement({
      admdvs: '5331',
      fund_year: '2024',
      as_of: '2025-06-01T00:00:00+08:00',
      opening_balance: '-20000.00',
    });
  });

  test('then the region figures are the hand-worked ones, to the fen', () => {
    expect(first.status).toBe('completed');
    expect(first.fund_year).toBe('2024');
    expect(first.region).toEqual({
      premiums_collected: '150000.00',
      late_fees: '10.00',
      insured_count: 1000,
      received_special_account: '150000.00',
      disbursed_to_insurers: '160000.00',
      compliant_payouts: '134900.00',
      non_compliant_payouts: '1500.00',
      allowed_admin_costs: '0.00',
      opening_balance: '-20000.00',
      closing_balance: '-4900.00',
    });
  });

  test("then every insurer's figures are the hand-worked ones", () => {
    const by = Object.fromEntries(first.insurers.map((i: any) => [i.insurer_code, i]));
    expect(by.PICC_DH).toMatchObject({
      premium_income: '100000.00',
      compliant_payouts: '90900.00',
      non_compliant_payouts: '600.00',
      recovered: '0.00',
      operating_cost: '9000.01',
      admin_cost: '0.00',
      operating_cost_ratio: '9.00',
      admin_cost_ratio: '0.00',
      allowed_costs: '9000.00',
      costs_beyond_limits: '0.01',
      profit: '100.00',
      profit_rate: '0.10',
      excess_profit: '0.00',
      deficit: { total: '500.01', policy: '0.00', non_policy: '500.01' },
    });
    expect(by.CPIC_DH).toMatchObject({
      premium_income: '50000.00',
      compliant_payouts: '44000.00',
      non_compliant_payouts: '900.00',
      recovered: '1000.00',
      operating_cost: '4000.00',
      operating_cost_ratio: '8.00',
      profit: '2000.00',
      profit_rate: '4.00',
      excess_profit: '1500.00',
      deficit: { total: '0.00', policy: '0.00', non_policy: '0.00' },
    });
    expect(by.TPIC_DH).toMatchObject({
      premium_income: '10000.00',
      operating_cost: null,
      operating_cost_ratio: null,
      profit: '10000.00',
      excess_profit: '0.00',
    });
  });

  test('then the accounts show what each received and passed on', () => {
    expect(first.accounts).toEqual([
      { account: 'tax', admdvs: '533102', received: '150010.00', passed_on: '150000.00', balance: '10.00' },
      { account: 'treasury', admdvs: '533102', received: '150000.00', passed_on: '150000.00', balance: '0.00' },
      { account: 'special_account', admdvs: '5331', received: '150000.00', passed_on: '0.00', balance: '150000.00' },
      {
        account: 'expenditure_account',
        admdvs: '5331',
        received: '0.00',
        passed_on: '160000.00',
        balance: '-160000.00',
      },
    ]);
  });

  test('then every planted code is an open case, with its amounts', async () => {
    const r = await t.get('/v1/discrepancies?admdvs=5331&period=2024-12&limit=50', 'ops');
    expect(r.status).toBe(200);
    const open = r.data.items.filter((d: any) => d.status === 'open');
    const codes = open.map((d: any) => `${d.code} ${d.insurer_code}`).sort();
    expect(codes).toEqual([
      'COST_LIMIT_EXCEEDED PICC_DH',
      'COST_REPORT_MISSING TPIC_DH',
      'FUND_DEFICIT ',
      'PROFIT_LIMIT_EXCEEDED CPIC_DH',
    ]);
    const profit = open.find((d: any) => d.code === 'PROFIT_LIMIT_EXCEEDED');
    expect([profit.expected_amount, profit.actual_amount, profit.difference]).toEqual(['500.00', '2000.00', '1500.00']);
    const cost = open.find((d: any) => d.code === 'COST_LIMIT_EXCEEDED');
    expect(cost.difference).toBe('0.01');
    const deficit = open.find((d: any) => d.code === 'FUND_DEFICIT');
    expect(deficit.actual_amount).toBe('-4900.00');
    expect(deficit.evidence.split).toEqual({ policy: '4900.00', non_policy: '1500.01' });
  });

  test('then the XLSX export has the three parts under Chinese headers, with the same figures', async () => {
    const r = await download(`/v1/fund-statements/${first.statement_id}/export?format=xlsx`, 'agency');
    expect(r.status).toBe(200);
    const s = await sheets(Buffer.from(r.data));
    expect([...s.keys()]).toEqual(['地区汇总', '保险公司', '账户']);
    expect(s.get('地区汇总')!.find((row) => row[0] === '年末滚存结余')![1]).toBe('-4900');
    expect(s.get('保险公司')![0]![0]).toBe('保险公司编码');
    expect(s.get('保险公司')!.map((row) => row[0])).toEqual(['保险公司编码', 'CPIC_DH', 'PICC_DH', 'TPIC_DH']);
    expect(s.get('账户')![0]).toEqual(['账户', '账户代码', '统筹区', '收到', '转出', '余额']);
  });

  test('then the CSV export is one part with a BOM and Chinese headers', async () => {
    const r = await download(`/v1/fund-statements/${first.statement_id}/export?format=csv&section=insurers`, 'agency');
    expect(r.status).toBe(200);
    const text = Buffer.from(r.data).toString('utf8');
    expect(text.startsWith('\ufeff保险公司编码,保费收入')).toBe(true);
    expect(text).toContain('CPIC_DH,50000.00,44000.00,900.00');
  });

  test('then the public export carries region totals only: no insurer, institution, person or cost detail', async () => {
    const r = await download(`/v1/fund-statements/${first.statement_id}/export?format=xlsx&audience=public`, 'agency');
    expect(r.status).toBe(200);
    const s = await sheets(Buffer.from(r.data));
    expect([...s.keys()]).toEqual(['基金收支公开']);
    const cells = [...s.values()].flat(2).join('|');
    expect(cells).toContain('征收保费');
    for (const hidden of ['PICC', 'CPIC', 'TPIC', 'H5331', 'P-S', '成本', '经办费用', '利润', first.statement_id])
      expect(cells).not.toContain(hidden);
  });
});

describe('who may ask for and read a statement', () => {
  test("when another region's agency reads it, then 404; when it asks for this region, then 403; an insurer gets 403", async () => {
    expect((await t.get(`/v1/fund-statements/${first.statement_id}`, 'agencyOther')).status).toBe(404);
    expect((await t.get(`/v1/fund-statements/${first.statement_id}/export?format=xlsx`, 'agencyOther')).status).toBe(
      404,
    );
    const post = await axios.post(
      `${t.baseUrl}/v1/fund-statements`,
      { admdvs: '5331', fund_year: '2024' },
      { headers: { authorization: `Bearer ${TEST_CLIENTS.agencyOther.token}` }, validateStatus: () => true },
    );
    expect(post.status).toBe(403);
    expect((await t.get(`/v1/fund-statements/${first.statement_id}`, 'insurerA')).status).toBe(403);
  });

  test("when the agency lists the statements, then it gets its region's latest one per year; another region's agency none; an insurer 403; a bad filter 400 with its path", async () => {
    const mine = await t.get('/v1/fund-statements', 'agency');
    expect(mine.status).toBe(200);
    expect(mine.data.items).toContainEqual(
      expect.objectContaining({
        statement_id: first.statement_id,
        status: 'completed',
        admdvs: '5331',
        fund_year: '2024',
        trigger: 'api',
      }),
    );
    expect(mine.data.items[0]).not.toHaveProperty('region');
    expect((await t.get('/v1/fund-statements?admdvs=5331&fund_year=2024', 'ops')).data.items).toHaveLength(1);
    expect((await t.get('/v1/fund-statements?fund_year=2023', 'ops')).data.items).toEqual([]);
    expect((await t.get('/v1/fund-statements', 'agencyOther')).data.items).toEqual([]);
    expect((await t.get('/v1/fund-statements?admdvs=5331', 'agencyOther')).data.items).toEqual([]);
    expect((await t.get('/v1/fund-statements', 'insurerA')).status).toBe(403);
    const bad = await t.get('/v1/fund-statements?admdvs=53x&fund_year=24', 'agency');
    expect(bad.status).toBe(400);
    expect(bad.data.errors.map((e: any) => e.path).sort()).toEqual(['?admdvs', '?fund_year']);
  });

  test('when the body is bad, then 422 with the path of each bad field', async () => {
    const post = await axios.post(
      `${t.baseUrl}/v1/fund-statements`,
      { admdvs: '53x', fund_year: '24', opening_balance: '1.234', extra: 1 },
      { headers: { authorization: `Bearer ${TEST_CLIENTS.agency.token}` }, validateStatus: () => true },
    );
    expect(post.status).toBe(422);
    expect(post.data.errors.map((e: any) => e.path).sort()).toEqual([
      '/admdvs',
      '/extra',
      '/fund_year',
      '/opening_balance',
    ]);
  });
});

describe('a later cost report revision', () => {
  test('when PICC_DH revises its cost to exactly 9%, then the next statement resolves COST_LIMIT_EXCEEDED by itself', async () => {
    clock += 60_000;
    await costReport('insurerA', 2, '9000.00');
    await t.drain();
    const second = await statement({
      admdvs: '5331',
      fund_year: '2024',
      as_of: '2025-06-01T00:00:00+08:00',
      opening_balance: '-20000.00',
    });
    expect(second.insurers.find((i: any) => i.insurer_code === 'PICC_DH')).toMatchObject({
      operating_cost: '9000.00',
      costs_beyond_limits: '0.00',
    });
    expect(second.summary.cases.resolved).toBe(1);
    const r = await t.get('/v1/discrepancies?admdvs=5331&code=COST_LIMIT_EXCEEDED&limit=10', 'ops');
    expect(r.data.items.map((d: any) => [d.status, d.resolution])).toEqual([['resolved', 'auto']]);
  });
});

describe('the CLI', () => {
  test('when `gateway fund-statement --admdvs 5331 --year 2024 --out` runs, then it prints the statement and writes the export', async () => {
    const io = memoryIo();
    const out = path.join(os.tmpdir(), `fund-statement-${process.pid}.xlsx`);
    const env = { DATABASE_URL: t.dbUrl, REDIS_URL, GATEWAY_QUEUE_PREFIX: t.cfg.queuePrefix, LOG_LEVEL: 'silent' };
    const code = await main(
      [
        'fund-statement',
        '--admdvs',
        '5331',
        '--year',
        '2024',
        '--as-of',
        '2025-06-01T00:00:00+08:00',
        '--opening-balance',
        '-20000.00',
        '--out',
        out,
      ],
      io,
      env,
    );
    expect(code).toBe(0);
    const printed = JSON.parse(io.stdout);
    expect(printed.region.closing_balance).toBe('-4900.00');
    expect([...(await sheets(fs.readFileSync(out))).keys()]).toEqual(['地区汇总', '保险公司', '账户']);
    fs.rmSync(out, { force: true });
    expect(await main(['fund-statement', '--admdvs', '5331', '--year', '24'], memoryIo(), env)).toBe(2);
  });
});
