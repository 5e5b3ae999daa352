/**
 * examples/platform-client.ts, the example client the README points a HIS engineer to, run as they
 * would run it (a child process, `node --import tsx`, credentials in the environment) against a real
 * gateway: its 2207 is stored (infcode 0) and its 3201 of the same totals balances (stmt_rslt 0), with
 * HMAC and with SM2 — so the example cannot rot. The curl envelopes of the README and the guide (§9)
 * are sent too, and must answer what those documents print.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, TEST_SM2_KEYS } from '../support/test-clients';

const ROOT = path.resolve(__dirname, '..', '..');
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('platform-example', { workers: false });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function runExample(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/platform-client.ts'],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

const agency = () => ({
  GATEWAY_URL: t.baseUrl,
  AGENCY_ID: TEST_CLIENTS.agency.client_id,
  AGENCY_SECRET: TEST_CLIENTS.agency.secret,
});

test('when the example client runs against the gateway, then its 2207 is stored (infcode 0) and its 3201 of the same totals balances (stmt_rslt 0)', async () => {
  const r = await runExample({
    ...agency(),
    HIS_ID: TEST_CLIENTS.hospital1.client_id,
    HIS_SECRET: TEST_CLIENTS.hospital1.secret,
  });
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(
    /^2207 infcode=0 err_msg=null output=\{"setl_id":"S0001","message_id":"[^"]+","duplicate":false\}$/m,
  );
  expect(r.stdout).toMatch(
    /^3201 infcode=0 err_msg=null stmt_rslt=0 对账平衡：1 笔，医疗费总额 10000\.00，基金支付总额 6000\.00，个人账户支付金额 100\.00$/m,
  );
  const { rows } = await t.gw.db.query(
    `SELECT setl_id, fixmedins_code, insuplc_admdvs, insurer_code, setl_mode, referral, hifob_pay::text FROM settlement_records`,
  );
  expect(rows).toEqual([
    {
      setl_id: 'S0001',
      fixmedins_code: 'H53310200001',
      insuplc_admdvs: '999901',
      insurer_code: 'PICC_DH',
      setl_mode: 'direct',
      referral: false,
      hifob_pay: '1000.00',
    },
  ]);
}, 90_000);

test("when it runs again with the hospital's SM2 key (sm-crypto), then the 2207 is a duplicate and the SM2-signed 3201 still balances", async () => {
  const r = await runExample({
    ...agency(),
    HIS_ID: TEST_CLIENTS.hospitalSm2.client_id,
    HIS_SM2_PRIVATE_KEY: TEST_SM2_KEYS.current.privateKey,
  });
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^2207 infcode=0 .*"duplicate":true\}$/m);
  expect(r.stdout).toMatch(/^3201 infcode=0 err_msg=null stmt_rslt=0 /m);
}, 90_000);

test('when the credentials are wrong, then it says what the gateway answered and exits non-zero', async () => {
  const r = await runExample({
    ...agency(),
    AGENCY_SECRET: TEST_CLIENTS.hospital1.secret,
    HIS_ID: TEST_CLIENTS.hospital1.client_id,
    HIS_SECRET: TEST_CLIENTS.hospital1.secret,
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^2207: HTTP 401 /);
}, 90_000);

/** The envelopes the README's "Speaking the platform's format" and the guide's §9 send with curl, and the answers they print. */
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const guide = fs.readFileSync(path.join(ROOT, 'docs', 'integration-guide.md'), 'utf8');
const section = readme.slice(readme.indexOf("## Speaking the platform's format"), readme.indexOf('## Tests'));
const curlBody = (text: string, infno: string) =>
  JSON.parse(new RegExp(`'(\\{"infno":"${infno}"[^']+)'`).exec(text)![1]!);

test("when the README's and the guide's curl envelopes are sent, then they answer what the README and the guide print", async () => {
  const [readme2207, readme3201, guide2207, guide3201] = [
    curlBody(section, '2207'),
    curlBody(section, '3201'),
    curlBody(guide, '2207'),
    curlBody(guide, '3201'),
  ];
  expect(guide2207).toEqual(readme2207);
  // S0001 is stored already (the example client sent it): the same settlement again is a duplicate.
  const a = await t.post('/v1/platform', readme2207, 'agency');
  expect([a.status, a.data.infcode, a.data.output.duplicate]).toEqual([200, 0, true]);
  const balanced = await t.post('/v1/platform', readme3201, 'hospital1');
  expect([balanced.status, balanced.data.infcode]).toEqual([200, 0]);
  expect(section).toContain(JSON.stringify(balanced.data.output));
  const unbalanced = await t.post('/v1/platform', guide3201, 'hospital1');
  expect(unbalanced.data.output.stmtinfo.stmt_rslt).toBe('1');
  expect(guide).toContain(`"stmt_rslt_dscr":"${unbalanced.data.output.stmtinfo.stmt_rslt_dscr}"`);
});
