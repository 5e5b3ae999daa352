/**
 * The violation report (000 §5 (六), spec §10): on a generated month (test/support/month-generator.ts,
 * its rejections R02 in April and recoveries R03 in May), GET /v1/reports/violations equals a bare SQL
 * aggregate of the same payment lines and recoveries; each party sees its own rows only; the CSV and
 * XLSX forms open with Chinese headers; bad parameters are 400 naming each one.
 */
import axios from 'axios';
import * as ExcelJS from 'exceljs';
import { generateMonth } from '../support/month-generator';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted } from './matching-support';

let t: TestGateway;
const QUERY = '/v1/reports/violations?from=2025-03&to=2025-05';

const get = (path: string, as: TestClientName) =>
  axios.get(`${t.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
    validateStatus: () => true,
  });
const download = (path: string, as: TestClientName) =>
  axios.get(`${t.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
    responseType: 'arraybuffer',
    validateStatus: () => true,
  });

/** The bare aggregate: each rejecting line and each recovery, by the institution of the settlement it names, grouped. */
async function bareAggregate(): Promise<unknown[]> {
  const { rows } = await t.gw.db.query(
    `SELECT insurer_code, fixmedins_code, month, reason_code, count(*) FILTER (WHERE kind = 'rej')::int AS rejected_cnt,
            coalesce(sum(amount) FILTER (WHERE kind = 'rej'), 0)::numeric(18,2)::text AS rejected_amount,
            count(*) FILTER (WHERE kind = 'rec')::int AS recovered_cnt, coalesce(sum(amount) FILTER (WHERE kind = 'rec'), 0)::numeric(18,2)::text AS recovered_amount
       FROM (SELECT 'rej' AS kind, l.insurer_code, (SELECT max(s.fixmedins_code) FROM settlement_records s WHERE s.setl_id = l.setl_id) AS fixmedins_code,
                    to_char(p.pay_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, l.reject_reason_code AS reason_code, l.rejected_amount AS amount
               FROM payment_lines l JOIN payments p USING (insurer_code, payment_id) WHERE l.rejected_amount > 0
             UNION ALL
             SELECT 'rec', r.insurer_code, (SELECT max(s.fixmedins_code) FROM settlement_records s WHERE s.setl_id = r.setl_id),
                    to_char(r.recovered_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), r.reason_code, r.amount
               FROM recoveries r) x
      GROUP BY insurer_code, fixmedins_code, month, reason_code ORDER BY month, insurer_code, fixmedins_code, reason_code`,
  );
  return rows;
}

beforeAll(async () => {
  t = await startTestGateway('violation_report', {
    workers: false,
    now: () => Date.parse('2025-06-01T09:00:00+08:00'),
  });
  for (const m of generateMonth(4242, 60)) await postAccepted(t, m);
});
afterAll(async () => {
  await t?.close();
});

describe('the violation report of a generated month', () => {
  it('equals the bare SQL aggregate of the same rejections and recoveries', async () => {
    const r = await get(QUERY, 'ops');
    expect(r.status).toBe(200);
    const bare = await bareAggregate();
    expect(r.data).toEqual({ from: '2025-03', to: '2025-05', items: bare });
    // The month has both kinds, in their own months and reasons.
    expect(r.data.items.some((x: any) => x.month === '2025-04' && x.reason_code === 'R02' && x.rejected_cnt > 0)).toBe(
      true,
    );
    expect(r.data.items.some((x: any) => x.month === '2025-05' && x.reason_code === 'R03' && x.recovered_cnt > 0)).toBe(
      true,
    );
  });

  it('counts a month only inside from..to', async () => {
    const april = (await get('/v1/reports/violations?from=2025-04&to=2025-04', 'ops')).data.items;
    expect(april.length).toBeGreaterThan(0);
    expect(april.every((x: any) => x.month === '2025-04')).toBe(true);
    expect((await get('/v1/reports/violations?from=2025-06&to=2025-07', 'ops')).data.items).toEqual([]);
  });

  it('shows an insurer its own findings only, and another insurer none of them', async () => {
    const all = (await get(QUERY, 'ops')).data.items as any[];
    const picc = (await get(QUERY, 'insurerA')).data.items as any[];
    expect(picc).toEqual(all.filter((x) => x.insurer_code === 'PICC_DH'));
    expect(picc.length).toBeGreaterThan(0);
    // CPIC asking for PICC's findings sees none of them.
    expect((await get(`${QUERY}&insurer_code=PICC_DH`, 'insurerB')).data.items).toEqual([]);
    expect((await get(QUERY, 'insurerB')).data.items.every((x: any) => x.insurer_code === 'CPIC_DH')).toBe(true);
  });

  it("shows an institution its own rows, the agency its region, and another region's agency nothing", async () => {
    const all = (await get(QUERY, 'ops')).data.items as any[];
    expect((await get(QUERY, 'hospital1')).data.items).toEqual(all.filter((x) => x.fixmedins_code === 'H53310200001'));
    expect((await get(QUERY, 'agency')).data.items).toEqual(all.filter((x) => x.fixmedins_code !== null));
    expect((await get(QUERY, 'agencyOther')).data.items).toEqual([]);
    expect((await get(`${QUERY}&admdvs=4108`, 'ops')).data.items).toEqual([]);
    expect((await get(`${QUERY}&fixmedins_code=H53310200002`, 'ops')).data.items).toEqual(
      all.filter((x) => x.fixmedins_code === 'H53310200002'),
    );
  });

  it('answers CSV with a BOM, Chinese headers and a 合计 row', async () => {
    const r = await download(`${QUERY}&format=csv`, 'agency');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toMatch(/violations-2025-03-2025-05\.csv/);
    const lines = Buffer.from(r.data).toString('utf8').split('\r\n');
    expect(lines[0]).toBe('\ufeff承保公司编码,定点医药机构编码,月份,原因代码,拒付笔数,拒付金额,追回笔数,追回金额');
    const items = (await get(QUERY, 'agency')).data.items as any[];
    expect(lines[1]).toBe(
      [
        items[0].insurer_code,
        items[0].fixmedins_code,
        items[0].month,
        items[0].reason_code,
        items[0].rejected_cnt,
        items[0].rejected_amount,
        items[0].recovered_cnt,
        items[0].recovered_amount,
      ].join(','),
    );
    expect(lines[items.length + 1]!.startsWith('合计,')).toBe(true);
  });

  it('answers XLSX with one sheet, Chinese headers and amounts as numbers', async () => {
    const r = await download(`${QUERY}&format=xlsx`, 'ops');
    expect(r.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(r.data) as any);
    const ws = wb.getWorksheet('违规情况')!;
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual([
      '承保公司编码',
      '定点医药机构编码',
      '月份',
      '原因代码',
      '拒付笔数',
      '拒付金额',
      '追回笔数',
      '追回金额',
    ]);
    const items = (await get(QUERY, 'ops')).data.items as any[];
    expect(ws.getRow(2).getCell(6).value).toBe(Number(items[0].rejected_amount));
    expect(ws.getRow(items.length + 2).getCell(1).value).toBe('合计');
  });

  it('answers 400 naming every bad parameter, and 401 without a token', async () => {
    const r = await get('/v1/reports/violations?from=2025-13&admdvs=53&insurer_code=x&format=pdf&extra=1', 'ops');
    expect(r.status).toBe(400);
    expect(r.data.errors.map((e: any) => e.path).sort()).toEqual([
      '?extra',
      '?format',
      '?from',
      '?insurer_code',
      '?to',
    ]);
    const backwards = await get('/v1/reports/violations?from=2025-05&to=2025-03', 'ops');
    expect(backwards.status).toBe(400);
    expect(backwards.data.errors.map((e: any) => e.path)).toEqual(['?to']);
    expect((await axios.get(`${t.baseUrl}${QUERY}`, { validateStatus: () => true })).status).toBe(401);
  });
});
