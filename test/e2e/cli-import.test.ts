import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as iconv from 'iconv-lite';
import * as ExcelJS from 'exceljs';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS } from '../support/test-clients';
import { settlement } from '../support/fixtures';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';
import { SETTLEMENT_COLUMNS } from '../../src/cli/settlement-file';

let t: TestGateway;
let dir: string;

beforeAll(async () => {
  t = await startTestGateway('cli-import', { workers: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-import-'));
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const cell = (v: unknown) => {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvLine = (s: Record<string, unknown>) => SETTLEMENT_COLUMNS.map((c) => cell(s[c])).join(',');
const header = SETTLEMENT_COLUMNS.join(',');

async function gatewayImport(file: string, ...extra: string[]) {
  const io = memoryIo();
  const code = await main(
    [
      'import',
      file,
      '--url',
      t.baseUrl,
      '--client-id',
      TEST_CLIENTS.agency.client_id,
      '--secret',
      TEST_CLIENTS.agency.secret,
      ...extra,
    ],
    io,
    {},
  );
  return { code, io };
}

const stored = async (prefix: string) =>
  Number(
    (
      await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM settlement_records WHERE setl_id LIKE $1', [
        `${prefix}%`,
      ])
    ).rows[0]!.n,
  );
const readErrors = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { line: number; source: string; errors: { path: string; code: string; message: string }[] },
    );

describe('gateway import', () => {
  it('imports a 100,000-row CSV and reports every row accepted', async () => {
    const file = path.join(dir, 'big.csv');
    const base = settlement();
    const rows = [header];
    for (let i = 0; i < 100_000; i++)
      rows.push(csvLine({ ...base, setl_id: `BIG${i}`, mdtrt_id: `MBIG${i}`, psn_no: `P${i % 5000}` }));
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const { code, io } = await gatewayImport(file);
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    expect(io.stdout).toContain('100000 rows (utf-8) — accepted 100000, duplicates 0, rejected 0');
    expect(await stored('BIG')).toBe(100_000);
  });

  it('imports the good rows of a file with bad ones, and lists the bad ones with line numbers and reasons', async () => {
    const file = path.join(dir, 'mixed.csv');
    const errorsFile = path.join(dir, 'mixed.errors.ndjson');
    const s = (i: number, over: Record<string, unknown> = {}) =>
      csvLine({ ...settlement(), setl_id: `MIX${i}`, mdtrt_id: `MMIX${i}`, ...over });
    fs.writeFileSync(
      file,
      [
        header, // line 1
        s(1), // line 2: good
        s(2, { referral: 'maybe' }), // line 3: cannot convert (local)
        s(3, { hifob_pay: '12.345' }), // line 4: the gateway rejects the amount
        s(4, { psn_name: '张\n三' }), // lines 5–6: good, a quoted cell spans two lines
        s(5, { insuplc_admdvs: '410802' }), // line 7: outside the agency's scope
        `${s(6)},extra`, // line 8: one cell too many (local)
        '', // line 9: blank, skipped
        s(7, { setldetail: '[{"fund_pay_type":' }), // line 10: setldetail is not JSON (local)
        s(8), // line 11: good
      ].join('\n') + '\n',
    );
    const { code, io } = await gatewayImport(file, '--errors', errorsFile);
    expect(code).toBe(1);
    expect(io.stdout).toContain('accepted 3, duplicates 0, rejected 5 (3 could not be read; 2 refused by the gateway)');
    const errors = readErrors(errorsFile);
    expect(errors.map((e) => [e.line, e.source, e.errors[0]!.path, e.errors[0]!.code])).toEqual([
      [3, 'file', '/referral', 'not_boolean'],
      [4, 'gateway', '/hifob_pay', expect.any(String)],
      [7, 'gateway', '/insuplc_admdvs', 'OUT_OF_SCOPE'],
      [8, 'file', '', 'column_count'],
      [10, 'file', '/setldetail', 'malformed_json'],
    ]);
    for (const e of errors) expect(e.errors[0]!.message).toBeTruthy();
    expect(await stored('MIX')).toBe(3);
  });

  it('counts a second import of the same file as duplicates and stores nothing twice', async () => {
    const file = path.join(dir, 'again.ndjson');
    fs.writeFileSync(
      file,
      [1, 2, 3].map((i) => JSON.stringify(settlement({ setl_id: `AGAIN${i}` }))).join('\n') + '\n',
    );
    expect((await gatewayImport(file)).io.stdout).toContain('accepted 3, duplicates 0');
    const second = await gatewayImport(file);
    expect(second.code).toBe(0);
    expect(second.io.stdout).toContain('accepted 0, duplicates 3, rejected 0');
    expect(await stored('AGAIN')).toBe(3);
  });

  it('reads a GBK-encoded CSV with Chinese names', async () => {
    const file = path.join(dir, 'gbk.csv');
    const text =
      [
        header,
        csvLine({ ...settlement(), setl_id: 'GBK1', psn_name: '张三丰' }),
        csvLine({ ...settlement(), setl_id: 'GBK2', psn_name: '欧阳娜娜', referral: '否' }),
      ].join('\r\n') + '\r\n';
    fs.writeFileSync(file, iconv.encode(text, 'gbk'));
    const { code, io } = await gatewayImport(file);
    expect(code).toBe(0);
    expect(io.stdout).toContain('2 rows (gbk) — accepted 2');
    const { rows } = await t.gw.db.query<{ setl_id: string; psn_name: string; referral: boolean }>(
      `SELECT setl_id, psn_name, referral FROM settlement_records WHERE setl_id LIKE 'GBK%' ORDER BY setl_id`,
    );
    expect(rows).toEqual([
      { setl_id: 'GBK1', psn_name: '张三丰', referral: false },
      { setl_id: 'GBK2', psn_name: '欧阳娜娜', referral: false },
    ]);
  });

  it("reads an XLSX sheet with the platform's column names, numbers as amounts and setldetail as JSON", async () => {
    const file = path.join(dir, 'sheet.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('结算');
    ws.addRow(SETTLEMENT_COLUMNS);
    const s = settlement();
    for (const i of [1, 2]) {
      ws.addRow(
        SETTLEMENT_COLUMNS.map((c) => {
          const v = { ...s, setl_id: `XL${i}`, hifob_pay: 90000, referral: i === 2 } as Record<string, unknown>;
          return c === 'setldetail' ? JSON.stringify(v[c]) : v[c];
        }),
      );
    }
    const bad: Record<string, unknown> = { ...s, setl_id: 'XL3', referral: 'perhaps', setldetail: '[]' };
    ws.addRow(SETTLEMENT_COLUMNS.map((c) => bad[c] ?? null));
    await wb.xlsx.writeFile(file);
    const errorsFile = path.join(dir, 'sheet.errors.ndjson');
    const { code, io } = await gatewayImport(file, '--errors', errorsFile);
    expect(code).toBe(1);
    expect(io.stdout).toContain('3 rows — accepted 2, duplicates 0, rejected 1');
    expect(readErrors(errorsFile).map((e) => [e.line, e.errors[0]!.path])).toEqual([[4, '/referral']]);
    const { rows } = await t.gw.db.query<{ setl_id: string; hifob_pay: string; referral: boolean }>(
      `SELECT setl_id, hifob_pay::text, referral FROM settlement_records WHERE setl_id LIKE 'XL%' ORDER BY setl_id`,
    );
    expect(rows).toEqual([
      { setl_id: 'XL1', hifob_pay: '90000.00', referral: false },
      { setl_id: 'XL2', hifob_pay: '90000.00', referral: true },
    ]);
  });

  it('stops with exit code 2 when the gateway refuses the client', async () => {
    const file = path.join(dir, 'one.ndjson');
    fs.writeFileSync(file, `${JSON.stringify(settlement({ setl_id: 'REFUSED1' }))}\n`);
    const io = memoryIo();
    const code = await main(
      [
        'import',
        file,
        '--url',
        t.baseUrl,
        '--client-id',
        TEST_CLIENTS.agency.client_id,
        '--secret',
        TEST_CLIENTS.insurerA.secret,
      ],
      io,
      {},
    );
    expect(code).toBe(2);
    expect(io.stderr).toMatch(/import stopped: the gateway answered 401/);
  });
});
