/**
 * 9101 / 3202 / 9102 (spec §9) end to end: an institution uploads its detail file (plain as a byte
 * array, zipped as base64), reconciles it against the agency's records and downloads the result —
 * exactly the settlements that differ, and the declaration findings of §4. Bad files answer 200
 * infcode −1 naming the field or line (or 413 for a body over the limit), never 5xx; another
 * institution cannot reconcile or download the file.
 */
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { unzipSync, zipSync } from 'fflate';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';

const DAY = 86_400_000;
let clock = Date.parse('2025-04-20T10:00:00+08:00');
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('platform-3202', {
    now: () => clock,
    env: { GATEWAY_MAX_PLATFORM_BODY_BYTES: String(4 * 1024 * 1024) },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const H1 = 'H53310200001';
const rec = (setl_id: string, over: Record<string, unknown> = {}) =>
  fx.settlement({ setl_id, mdtrt_id: `M-${setl_id}`, psn_no: `P-${setl_id}`, certno: undefined, ...over });
/** The agency's March for H1: D-1 as declared, D-2 left out of the file, D-3 declared with other amounts; H2's D-9 is not H1's. */
const AGENCY = [
  rec('D-1'),
  rec('D-2', { setl_time: '2025-03-20 08:00:00' }),
  rec('D-3'),
  rec('D-9', { fixmedins_code: 'H53310200002' }),
];

type Line = [string, string, string, string, string, string, string];
const line = (id: string, medfee = '300000.00', fund = '270000.00', acct = '0.00'): Line => [
  id,
  `M-${id}`,
  `P-${id}`,
  medfee,
  fund,
  acct,
  '0',
];
/** The institution's file: D-1 equal, D-3 medfee and fund differ, D-X unknown to the agency. */
const FILE: Line[] = [line('D-1'), line('D-3', '300100.50', '270100.50'), line('D-X', '1200.00', '800.00', '10.00')];
const tsv = (lines: Line[]) => Buffer.from(lines.map((l) => `${l.join('\t')}\n`).join(''), 'utf8');

function statement(fileQuryNo: string, lines: Line[], over: Record<string, unknown> = {}) {
  const sum = (i: number) => lines.reduce((s, l) => s + Math.round(Number(l[i]) * 100), 0) / 100;
  return {
    infno: '3202',
    fixmedins_code: H1,
    insuplc_admdvs: '533102',
    input: {
      data: {
        setl_optins: '533100',
        file_qury_no: fileQuryNo,
        stmt_begndate: '2025-03-01',
        stmt_enddate: '2025-03-31',
        medfee_sumamt: sum(3).toFixed(2),
        fund_pay_sumamt: sum(4).toFixed(2),
        cash_payamt: '0.00',
        fixmedins_setl_cnt: lines.length,
        refd_setl_flag: '0',
        clr_type: '11',
        ...over,
      },
    },
  };
}
const upload = (content: Buffer, filename: string, asBase64 = false, fixmedins = H1) => ({
  infno: '9101',
  fixmedins_code: fixmedins,
  input: {
    fsUploadIn: { in: asBase64 ? content.toString('base64') : [...content], filename, fixmedins_code: fixmedins },
  },
});
const download = (fileQuryNo: string) => ({
  infno: '9102',
  fixmedins_code: H1,
  input: { fsDownloadIn: { file_qury_no: fileQuryNo, filename: 'x', fixmedins_code: H1 } },
});

/** A signed POST that keeps the answer's bytes (a 9102 answers the file, maybe a zip). */
async function postBytes(body: unknown, as: TestClientName): Promise<{ status: number; type: string; body: Buffer }> {
  const c = TEST_CLIENTS[as];
  const raw = JSON.stringify(body);
  const id = `msg_${crypto.randomUUID()}`;
  const ts = new Date(clock);
  const r = await fetch(`${t.baseUrl}/v1/platform`, {
    method: 'POST',
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-client-id': c.client_id,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
      'webhook-signature': new Webhook(c.secret).sign(id, ts, raw),
    },
  });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}

const ok = (r: { status: number; data: { infcode: number; err_msg: string | null } }) =>
  expect([r.status, r.data.infcode, r.data.err_msg]).toEqual([200, 0, null]);
const rows201 = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));

async function findings() {
  const { rows } = await t.gw.db.query<{
    code: string;
    setl_id: string;
    fixmedins_code: string;
    group_key: string;
    expected_amount: string | null;
    actual_amount: string | null;
  }>(
    `SELECT code, setl_id, fixmedins_code, group_key, expected_amount::text, actual_amount::text FROM discrepancies
      WHERE status <> 'resolved' AND code IN ('DECLARED_NOT_RECORDED', 'DECLARED_AMOUNT_MISMATCH', 'RECORDED_NOT_DECLARED') ORDER BY code, setl_id`,
  );
  return rows;
}

beforeAll(async () => {
  expect((await t.post('/v1/agency/settlements', { settlements: AGENCY }, 'agency')).status).toBe(202);
  await t.drain();
});

describe('3202 with a missing, an extra and a differing settlement', () => {
  let firstUpload = '';
  test('when the plain file is uploaded as a byte array and reconciled, then the result file has exactly those three rows', async () => {
    const up = await t.post('/v1/platform', upload(tsv(FILE), 'H1-202503.txt'), 'hospital1');
    ok(up);
    expect(up.data.output).toMatchObject({
      file_qury_no: expect.stringMatching(/^F\d{14}[0-9a-f]{15}$/),
      filename: 'H1-202503.txt',
      dld_endtime: expect.stringMatching(/^2025-05-20 /),
    });
    firstUpload = up.data.output.file_qury_no;
    const st = await t.post('/v1/platform', statement(up.data.output.file_qury_no, FILE), 'hospital1');
    ok(st);
    expect(st.data.output.fileinfo).toMatchObject({
      file_qury_no: expect.any(String),
      filename: expect.stringMatching(/\.txt$/),
    });
    expect(st.data.output.stmtinfo.stmt_rslt).toBe('1');
    const file = await postBytes(download(st.data.output.fileinfo.file_qury_no), 'hospital1');
    expect([file.status, file.type]).toEqual([200, 'text/plain; charset=utf-8']);
    const rows = rows201(file.body.toString('utf8'));
    expect(rows.map((r) => [r[2], r[4], r[5]])).toEqual([
      ['D-3', '1', '0'],
      ['D-X', '1', '0'],
      ['D-2', '1', '0'],
    ]);
    for (const r of rows) expect(r).toHaveLength(10);
    const [d3, dx, d2] = rows as [string[], string[], string[]];
    expect(d3[6]).toContain('medfee_sumamt 机构 300100.50，经办机构 300000.00，相差 100.50');
    expect(d3[6]).toContain('fund_pay_sumamt');
    expect(d3[6]).not.toContain('acct_pay');
    expect(dx[6]).toBe('经办机构无此结算');
    expect(dx.slice(7)).toEqual(['1200.00', '800.00', '10.00']);
    expect(d2[6]).toBe('医药机构明细中无此结算');
    expect([d2[0], d2[1], d2[3]]).toEqual(['P-D-2', 'M-D-2', expect.stringMatching(/^[0-9a-f-]{36}$/)]);
  });

  test('then the differences are declaration findings; the unknown setl_id waits for the grace period and the upload reconciled again after it raises it', async () => {
    expect((await findings()).map((f) => [f.code, f.setl_id, f.group_key])).toEqual([
      ['DECLARED_AMOUNT_MISMATCH', 'D-3', 'stmt:H53310200001:2025-03-01:2025-03-31'],
      ['RECORDED_NOT_DECLARED', 'D-2', 'stmt:H53310200001:2025-03-01:2025-03-31'],
    ]);
    const mismatch = (await findings())[0]!;
    expect([mismatch.expected_amount, mismatch.actual_amount]).toEqual(['300000.00', '300100.50']);

    // The grace counts from the upload (the declaration's arrival), as for a batch item.
    clock += 3 * DAY;
    ok(await t.post('/v1/platform', statement(firstUpload, FILE), 'hospital1'));
    expect((await findings()).map((f) => [f.code, f.setl_id])).toEqual([
      ['DECLARED_AMOUNT_MISMATCH', 'D-3'],
      ['DECLARED_NOT_RECORDED', 'D-X'],
      ['RECORDED_NOT_DECLARED', 'D-2'],
    ]);
  });

  test('when the same file comes zipped as base64, then the result is zipped and holds the same rows', async () => {
    const up = await t.post(
      '/v1/platform',
      upload(Buffer.from(zipSync({ 'H1-202503.txt': tsv(FILE) })), 'H1-202503.txt.zip', true),
      'hospital1',
    );
    ok(up);
    const st = await t.post('/v1/platform', statement(up.data.output.file_qury_no, FILE), 'hospital1');
    ok(st);
    expect(st.data.output.fileinfo.filename).toMatch(/\.txt\.zip$/);
    const file = await postBytes(download(st.data.output.fileinfo.file_qury_no), 'hospital1');
    expect([file.status, file.type]).toEqual([200, 'application/zip']);
    const entries = Object.values(unzipSync(file.body));
    expect(entries).toHaveLength(1);
    expect(rows201(Buffer.from(entries[0]!).toString('utf8')).map((r) => r[2])).toEqual(['D-3', 'D-X', 'D-2']);
  });

  test("when the institution's file is corrected, then a 3202 of the same dates resolves the findings it no longer finds", async () => {
    const fixed: Line[] = [line('D-1'), line('D-2'), line('D-3')];
    const up = await t.post('/v1/platform', upload(tsv(fixed), 'H1-202503-v2.txt'), 'hospital1');
    ok(up);
    const st = await t.post('/v1/platform', statement(up.data.output.file_qury_no, fixed), 'hospital1');
    ok(st);
    expect(st.data.output.stmtinfo.stmt_rslt).toBe('0');
    expect(await findings()).toEqual([]);
    const file = await postBytes(download(st.data.output.fileinfo.file_qury_no), 'hospital1');
    expect([file.status, file.body.length]).toEqual([200, 0]);
  });
});

describe('scope', () => {
  test('when another institution asks for the file or reconciles it, then 403', async () => {
    const up = await t.post('/v1/platform', upload(tsv(FILE), 'H1.txt'), 'hospital1');
    ok(up);
    const no = up.data.output.file_qury_no as string;
    const other = await postBytes({ ...download(no), fixmedins_code: 'H53310200002' }, 'hospital2');
    expect(other.status).toBe(403);
    expect(other.type).toContain('application/problem+json');
    const st = await t.post('/v1/platform', { ...statement(no, FILE), fixmedins_code: 'H53310200002' }, 'hospital2');
    expect(st.status).toBe(403);
    const up2 = await t.post('/v1/platform', upload(tsv(FILE), 'H1.txt'), 'hospital2');
    expect(up2.status).toBe(403);
  });
});

describe('bad files answer 200 infcode −1 naming the field or line, never 5xx', () => {
  const bomb = () => Buffer.from(zipSync({ 'big.txt': new Uint8Array(65 * 1024 * 1024) }, { level: 9 }));
  const cases: [string, () => unknown, RegExp][] = [
    ['a broken zip', () => upload(crypto.randomBytes(2000), 'x.txt.zip', true), /^input\.fsUploadIn\.in：zip/],
    [
      'a zip of two files',
      () => upload(Buffer.from(zipSync({ 'a.txt': tsv(FILE), 'b.txt': tsv(FILE) })), 'x.zip', true),
      /^input\.fsUploadIn\.in：zip 文件应只含一个/,
    ],
    [
      'a zip bomb (65 MiB of zeros)',
      () => upload(bomb(), 'x.zip', true),
      /^input\.fsUploadIn\.in：zip (解压后过大|压缩比异常)/,
    ],
    [
      'a line with six columns',
      () => upload(Buffer.from('D-1\tM\tP\t1.00\t1.00\t0.00\t0\nD-2\tM\tP\t1.00\t1.00\t0\n'), 'x.txt'),
      /^input\.fsUploadIn\.in 第 2 行：应有 7 列/,
    ],
    [
      'an amount that is not an amount',
      () => upload(Buffer.from('D-1\tM\tP\t1.005\t1.00\t0.00\t0\n'), 'x.txt'),
      /^input\.fsUploadIn\.in 第 1 行 medfee_sumamt：/,
    ],
    [
      'a refund flag that is not 0 or 1',
      () => upload(Buffer.from('D-1\tM\tP\t1.00\t1.00\t0.00\tY\n'), 'x.txt'),
      /^input\.fsUploadIn\.in 第 1 行 refd_setl_flag：/,
    ],
    [
      'a repeated settlement',
      () => upload(Buffer.from('D-1\tM\tP\t1.00\t1.00\t0.00\t0\nD-1\tM\tP\t1.00\t1.00\t0.00\t0\n'), 'x.txt'),
      /第 2 行 setl_id：.*与第 1 行重复/,
    ],
    [
      'a GBK file (not UTF-8)',
      () =>
        upload(
          Buffer.concat([
            Buffer.from('D-1\tM\tP\t1.00\t1.00\t0.00\t0\nD-2\t'),
            Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]),
            Buffer.from('\tP\t1.00\t1.00\t0.00\t0\n'),
          ]),
          'x.txt',
        ),
      /^input\.fsUploadIn\.in 第 2 行：.*UTF-8/,
    ],
    ['an empty file', () => upload(Buffer.alloc(0), 'x.txt'), /^input\.fsUploadIn\.in：文件没有明细行/],
    [
      'bytes that are not bytes',
      () => ({
        ...upload(Buffer.from('x'), 'x.txt'),
        input: { fsUploadIn: { in: [1, 300], filename: 'x.txt', fixmedins_code: H1 } },
      }),
      /^input\.fsUploadIn\.in\[1\]：/,
    ],
    [
      'base64 that is not base64',
      () => ({
        ...upload(Buffer.from('x'), 'x.txt'),
        input: { fsUploadIn: { in: '@@@@', filename: 'x.txt', fixmedins_code: H1 } },
      }),
      /^input\.fsUploadIn\.in：.*base64/,
    ],
    [
      'a 9101 without a filename',
      () => ({ infno: '9101', input: { fsUploadIn: { in: [], fixmedins_code: H1 } } }),
      /^input\.fsUploadIn(\.filename)?：/,
    ],
    ['a 3202 of an unknown file', () => statement('F-NOPE', FILE), /^input\.data\.file_qury_no：/],
    ['a 9102 of an unknown file', () => download('F-NOPE'), /^input\.fsDownloadIn\.file_qury_no：/],
  ];
  test.each(cases)(
    '%s',
    async (_name, body, msg) => {
      const r = await t.post('/v1/platform', body(), 'hospital1');
      expect([r.status, r.data.infcode, r.data.output]).toEqual([200, -1, null]);
      expect(r.data.err_msg).toMatch(msg);
    },
    60_000,
  );

  test("when a 3202's totals are not its file's, then −1 naming the total", async () => {
    const up = await t.post('/v1/platform', upload(tsv(FILE), 'x.txt'), 'hospital1');
    const r = await t.post(
      '/v1/platform',
      statement(up.data.output.file_qury_no, FILE, { fixmedins_setl_cnt: 2 }),
      'hospital1',
    );
    expect([r.status, r.data.infcode]).toEqual([200, -1]);
    expect(r.data.err_msg).toMatch(/^input\.data\.fixmedins_setl_cnt：/);
    const m = await t.post(
      '/v1/platform',
      statement(up.data.output.file_qury_no, FILE, { medfee_sumamt: '1.00' }),
      'hospital1',
    );
    expect(m.data.err_msg).toMatch(/^input\.data\.medfee_sumamt：.*相差/);
  });

  test('when the body is over the platform limit, then 413 (a problem document)', async () => {
    const r = await t.post('/v1/platform', upload(crypto.randomBytes(3 * 1024 * 1024), 'x.txt.zip', true), 'hospital1');
    expect(r.status).toBe(413);
  });

  test('when a 9102 comes after the download deadline, then −1', async () => {
    const up = await t.post('/v1/platform', upload(tsv(FILE), 'x.txt'), 'hospital1');
    clock += 31 * DAY;
    const r = await t.post('/v1/platform', download(up.data.output.file_qury_no), 'hospital1');
    expect([r.status, r.data.infcode]).toEqual([200, -1]);
    expect(r.data.err_msg).toMatch(/下载截止时间/);
  });
});

describe('the CLI: gateway platform-3202 FILE --fixmedins … --from … --to …', () => {
  test('when run on the file, then it uploads, reconciles and writes the result file beside it, exit 1 for differences', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { main } = await import('../../src/cli/main');
    const { memoryIo } = await import('../../src/cli/output');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p3202-'));
    const file = path.join(dir, 'H1-202503.txt.zip');
    fs.writeFileSync(file, zipSync({ 'H1-202503.txt': tsv(FILE) }));
    const io = memoryIo();
    const env = {};
    const as = ['--client-id', TEST_CLIENTS.hospital1.client_id, '--secret', TEST_CLIENTS.hospital1.secret];
    // The CLI signs with the wall clock: the gateway's clock must agree for the timestamp check.
    const saved = clock;
    clock = Date.now();
    try {
      const code = await main(
        [
          'platform-3202',
          file,
          '--fixmedins',
          H1,
          '--from',
          '2025-03-01',
          '--to',
          '2025-03-31',
          '--url',
          t.baseUrl,
          ...as,
        ],
        io,
        env,
      );
      expect([code, io.stderr]).toEqual([1, '']);
      expect(io.stdout).toMatch(
        /^3 settlements in .*; 3 differ \(对账不平\); result F\d+[0-9a-f]+ written to .*\.txt\.zip\n$/,
      );
      const written = fs.readdirSync(dir).filter((n) => n.startsWith('3202_'));
      expect(written).toHaveLength(1);
      const rows = rows201(
        Buffer.from(Object.values(unzipSync(fs.readFileSync(path.join(dir, written[0]!))))[0]!).toString('utf8'),
      );
      expect(rows.map((r) => r[2])).toEqual(['D-3', 'D-X', 'D-2']);

      fs.writeFileSync(path.join(dir, 'bad.txt'), 'D-1\tM\n');
      const bad = memoryIo();
      expect(
        await main(
          [
            'platform-3202',
            path.join(dir, 'bad.txt'),
            '--fixmedins',
            H1,
            '--from',
            '2025-03-01',
            '--to',
            '2025-03-31',
            '--url',
            t.baseUrl,
            ...as,
          ],
          bad,
          env,
        ),
      ).toBe(1);
      expect(bad.stderr).toContain('第 1 行：应有 7 列');
    } finally {
      clock = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
