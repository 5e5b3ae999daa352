/**
 * DATA LIFECYCLE of the platform's files (spec §9, issue 17): 9101 uploads and 3202 results are kept
 * until their dld_endtime (30 days); `purge` removes those past it — results first, and an upload
 * only once no result still downloadable names it —, with --dry-run only reporting, and the ledger
 * (the 3202's findings) kept.
 */
import { purge } from '../../src/lifecycle';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const DAY = 86_400_000;
const T0 = Date.parse('2025-04-01T10:00:00+08:00');
let clock = T0;
let t: TestGateway;
const H1 = 'H53310200001';
const FILE = 'E-1\tM-E-1\tP-E-1\t100.00\t80.00\t0.00\t0\nE-2\tM-E-2\tP-E-2\t50.50\t40.00\t0.00\t0\n';

const upload = (name: string) => ({
  infno: '9101',
  fixmedins_code: H1,
  input: { fsUploadIn: { in: [...Buffer.from(FILE)], filename: name, fixmedins_code: H1 } },
});
const statement = (fileQuryNo: string) => ({
  infno: '3202',
  fixmedins_code: H1,
  input: {
    data: {
      setl_optins: '533100',
      file_qury_no: fileQuryNo,
      stmt_begndate: '2025-03-01',
      stmt_enddate: '2025-03-31',
      medfee_sumamt: '150.50',
      fund_pay_sumamt: '120.00',
      cash_payamt: '0.00',
      fixmedins_setl_cnt: 2,
      refd_setl_flag: '0',
    },
  },
});
const download = (fileQuryNo: string) => ({
  infno: '9102',
  fixmedins_code: H1,
  input: { fsDownloadIn: { file_qury_no: fileQuryNo, filename: 'x', fixmedins_code: H1 } },
});

async function send(
  body: unknown,
): Promise<{ infcode: number; err_msg: string | null; output: Record<string, unknown> }> {
  const r = await t.post('/v1/platform', body, 'hospital1');
  expect(r.status).toBe(200);
  return r.data;
}
const fileNo = (o: Record<string, unknown>) =>
  (o.file_qury_no ?? (o.fileinfo as { file_qury_no: string }).file_qury_no) as string;
async function stored(): Promise<string[]> {
  const { rows } = await t.gw.db.query<{ file_qury_no: string }>(
    'SELECT file_qury_no FROM platform_files ORDER BY file_qury_no',
  );
  return rows.map((r) => r.file_qury_no);
}

// Day 0: upload U1 and reconcile it (R1), upload U2 (never reconciled). Day 10: reconcile U1 again (R2). Day 20: upload U3.
let U1 = '',
  R1 = '',
  U2 = '',
  R2 = '',
  U3 = '';
beforeAll(async () => {
  t = await startTestGateway('lifecycle-platform-files', { now: () => clock });
  U1 = fileNo((await send(upload('u1.txt'))).output);
  R1 = fileNo((await send(statement(U1))).output);
  U2 = fileNo((await send(upload('u2.txt'))).output);
  clock = T0 + 10 * DAY;
  R2 = fileNo((await send(statement(U1))).output);
  clock = T0 + 20 * DAY;
  U3 = fileNo((await send(upload('u3.txt'))).output);
  expect(new Set([U1, R1, U2, R2, U3]).size).toBe(5);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function openFindings(): Promise<number> {
  const { rows } = await t.gw.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM discrepancies WHERE status <> 'resolved' AND group_key LIKE 'stmt:%'`,
  );
  return Number(rows[0]!.n);
}

describe('purge of platform files past their dld_endtime', () => {
  const day35 = new Date(T0 + 35 * DAY); // U1, R1, U2 expired (day 30); R2 (day 40) and U3 (day 50) not

  test('when run with --dry-run, then it counts the expired result and the upload nothing names, and changes nothing', async () => {
    const before = await stored();
    const r = await purge(t.gw, { dryRun: true, asOf: day35 });
    expect(r.platformFiles).toBe(2);
    expect(await stored()).toEqual(before);
  });

  test('when the CLI runs purge --dry-run, then it prints the count', async () => {
    const io = memoryIo();
    const code = await main(['purge', '--dry-run', '--as-of', day35.toISOString()], io, { DATABASE_URL: t.dbUrl });
    expect(code).toBe(0);
    expect(io.stdout).toContain('platform files past their download deadline: 2');
  });

  test('when run for real, then the expired result and upload go; the upload a downloadable result names stays, and so do the findings', async () => {
    const findings = await openFindings();
    expect(findings).toBeGreaterThan(0);
    const r = await purge(t.gw, { asOf: day35 });
    expect(r.platformFiles).toBe(2);
    expect(await stored()).toEqual([U1, R2, U3].sort());
    expect(await openFindings()).toBe(findings);
    clock = day35.getTime();
    const gone = await send(download(R1));
    expect([gone.infcode, gone.err_msg]).toEqual([
      -1,
      expect.stringMatching(/^input\.fsDownloadIn\.file_qury_no：.*未找到/),
    ]);
    const kept = await t.post('/v1/platform', download(R2), 'hospital1');
    expect(kept.status).toBe(200);
  });

  test('when run again later, then the result and its upload go together once both expired; the live upload stays', async () => {
    expect((await purge(t.gw, { asOf: day35 })).platformFiles).toBe(0);
    const r = await purge(t.gw, { asOf: new Date(T0 + 45 * DAY) });
    expect(r.platformFiles).toBe(2);
    expect(await stored()).toEqual([U3]);
    expect((await purge(t.gw, { asOf: new Date(T0 + 51 * DAY) })).platformFiles).toBe(1);
    expect(await stored()).toEqual([]);
  });
});
