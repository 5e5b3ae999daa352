/**
 * Journey (issue 17, the platform's envelope and SM2) on `npm start`'s embedded database: the agency
 * sends 2207 envelopes of the sample district 9999, a hospital its 3201 (HMAC, and a second system
 * signing with SM2 only); broken envelopes answer infcode −1 naming the field; an agency or a
 * hospital reaching outside its scope gets a 403 problem with the path, and nothing is stored.
 * Ctrl-C (SIGINT), `npm start` again: the gateway's SM2 key (GET /v1/keys) is the same, the
 * settlements read back, a 2207 sent again is a duplicate, a 2208 reverses one. Then kill -9 in
 * the middle of a stream of 2207s: every infcode 0 is stored after the restart, and sent again
 * answers duplicate with the same message id.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import axios from 'axios';
import { sm2PublicKeyFromHex } from '../../../src/http/sm2';
import { TEST_SM2_KEYS, TEST_CLIENTS, smCryptoSignature } from '../../support/test-clients';
import { journeyEnv, startGateway, until, waitProcessed, type GatewayProc, type JourneyEnv } from './journey-support';

// Two embedded-database starts and the work between them: minutes on a loaded machine.
jest.setTimeout(300_000);

const H1 = 'H53310200001',
  H2 = 'H53310200002';
let env: JourneyEnv;
/** The gateway after the restart: the kill -9 journey goes on with it (a start of the embedded database costs seconds). */
let running: GatewayProc | undefined;
beforeAll(async () => {
  env = await journeyEnv('platform', 'embedded');
  // The hospital's second system signs with SM2 only: its registered public key, no HMAC secret.
  const file = env.vars.GATEWAY_CLIENTS_FILE!;
  const clients = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    client_id: string;
    signing_secrets: string[];
    sm2_public_keys?: string[];
  }[];
  const his = clients.find((c) => c.client_id === TEST_CLIENTS.hospitalSm2.client_id)!;
  his.signing_secrets = [];
  his.sm2_public_keys = [sm2PublicKeyFromHex(TEST_SM2_KEYS.current.publicKey).pem];
  fs.writeFileSync(file, JSON.stringify(clients));
});
afterAll(async () => {
  await env.cleanup();
});

/** A 2207 of the sample district (its mapping owes insutype 310 to PICC_DH): 10000.00 of cost, 6000.00 from the funds. */
const env2207 = (n: number, header: Record<string, unknown> = {}, setlinfo: Record<string, unknown> = {}) => ({
  infno: '2207',
  msgid: `${H1}${String(n).padStart(18, '0')}`,
  insuplc_admdvs: '999901',
  mdtrtarea_admvs: '999901',
  fixmedins_code: H1,
  ...header,
  input: {
    setlinfo: {
      setl_id: `PJ-${n}`,
      mdtrt_id: `M-PJ-${n}`,
      psn_no: `P-PJ-${n}`,
      insutype: '310',
      med_type: '21',
      setl_time: '2025-03-10 09:30:00',
      medfee_sumamt: '10000.00',
      inscp_scp_amt: '9000.00',
      hifp_pay: '5000.00',
      hifob_pay: '1000.00',
      fund_pay_sumamt: '6000.00',
      acct_pay: '100.00',
      psn_cash_pay: '3900.00',
      clr_type: '21',
      clr_way: '1',
      refl_flag: '0',
      ...setlinfo,
    },
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '5000.00', fund_payamt: '5000.00' },
      { fund_pay_type: '330100', inscp_scp_amt: '4000.00', fund_payamt: '1000.00' },
    ],
  },
});
const env3201 = (fixmedins: string, cnt: number) => ({
  infno: '3201',
  fixmedins_code: fixmedins,
  input: {
    data: {
      insutype: '310',
      clr_type: '21',
      setl_optins: '999900',
      stmt_begndate: '2025-03-01',
      stmt_enddate: '2025-03-31',
      medfee_sumamt: (10000 * cnt).toFixed(2),
      fund_pay_sumamt: (6000 * cnt).toFixed(2),
      acct_pay: (100 * cnt).toFixed(2),
      fixmedins_setl_cnt: cnt,
      refd_setl_flag: '0',
    },
  },
});

/** A POST signed with SM2 only (`v1sm2`), as the hospital's second system signs. */
function sm2Post(gw: GatewayProc, body: unknown) {
  const raw = JSON.stringify(body);
  const id = `msg_${crypto.randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  return axios.post(`${gw.url}/v1/platform`, raw, {
    validateStatus: () => true,
    transformRequest: (d) => d,
    headers: {
      'content-type': 'application/json',
      'x-client-id': TEST_CLIENTS.hospitalSm2.client_id,
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': smCryptoSignature(TEST_SM2_KEYS.current.privateKey, id, ts, raw),
    },
  });
}

const ok = (r: { status: number; data: { infcode: number; err_msg: string | null } }) =>
  expect([r.status, r.data.infcode, r.data.err_msg]).toEqual([200, 0, null]);

test('envelopes through `npm start`, Ctrl-C, `npm start` again: the same SM2 key, the settlements, duplicates and a reversal', async () => {
  const gw = await startGateway(env);
  await gw.waitReady();
  const keys = (await gw.get('/v1/keys', null)).data;
  expect(keys.keys).toEqual([
    expect.objectContaining({ alg: 'SM2', pem: expect.stringContaining('BEGIN PUBLIC KEY') }),
  ]);

  const ids: string[] = [];
  for (const n of [1, 2]) {
    const r = await gw.post('/v1/platform', env2207(n), 'agency');
    ok(r);
    expect(r.data.output).toMatchObject({ setl_id: `PJ-${n}`, duplicate: false });
    ids.push(r.data.output.message_id);
  }
  // Outside the scope: a 403 problem naming the field, nothing stored.
  const elsewhere = await gw.post(
    '/v1/platform',
    env2207(3, { insuplc_admdvs: '410802', mdtrtarea_admvs: '410802' }, { insurer_code: 'PICC_DH' }),
    'agency',
  );
  expect(elsewhere.status).toBe(403);
  expect(elsewhere.data.errors).toEqual([
    expect.objectContaining({ path: '/input/setlinfo/insuplc_admdvs', code: 'OUT_OF_SCOPE' }),
  ]);
  expect((await gw.post('/v1/platform', env2207(4), 'agencyOther')).status).toBe(403);
  const otherHospital = await gw.post('/v1/platform', env3201(H2, 1), 'hospital1');
  expect(otherHospital.status).toBe(403);
  expect(otherHospital.data.errors).toEqual([
    expect.objectContaining({ path: '/fixmedins_code', code: 'OUT_OF_SCOPE' }),
  ]);
  expect((await gw.get('/v1/settlements/PJ-3', 'ops')).status).toBe(404);
  expect((await gw.get('/v1/settlements/PJ-4', 'ops')).status).toBe(404);
  // Broken envelopes: 200, infcode −1, err_msg naming the field; nothing stored.
  const broken: [unknown, string, string][] = [
    [{ input: {} }, 'agency', 'infno'],
    [{ infno: '2207' }, 'agency', 'input'],
    [env2207(5, {}, { hifob_pay: '1000.001' }), 'agency', 'input.setlinfo.hifob_pay'],
    [
      env2207(1, {}, { hifob_pay: '900.00', fund_pay_sumamt: '5900.00', psn_cash_pay: '4000.00' }),
      'agency',
      'input.setlinfo.setl_id',
    ],
    [
      {
        ...env3201(H1, 1),
        input: { data: { ...env3201(H1, 1).input.data, stmt_begndate: '2025-03-31', stmt_enddate: '2025-03-01' } },
      },
      'hospital1',
      'input.data.stmt_enddate',
    ],
    [env2207(6), 'hospital1', 'infno'],
  ];
  for (const [body, as, field] of broken) {
    const r = await gw.post('/v1/platform', body, as as 'agency' | 'hospital1');
    expect({ status: r.status, infcode: r.data.infcode, field: String(r.data.err_msg).split('：')[0] }).toEqual({
      status: 200,
      infcode: -1,
      field,
    });
  }
  expect((await gw.get('/v1/settlements/PJ-5', 'ops')).status).toBe(404);
  await waitProcessed(gw, ids, 'agency');
  const balanced = await gw.post('/v1/platform', env3201(H1, 2), 'hospital1');
  ok(balanced);
  expect(balanced.data.output.stmtinfo.stmt_rslt).toBe('0');
  const sm2 = await sm2Post(gw, env3201(H1, 2));
  ok(sm2);
  expect(sm2.data.output.stmtinfo.stmt_rslt).toBe('0');
  expect((await gw.stop('SIGINT', 15_000)).code).toBe(0);

  const again = await startGateway(env);
  await again.waitReady();
  expect((await again.get('/v1/keys', null)).data).toEqual(keys);
  for (const n of [1, 2]) {
    const s = await again.get(`/v1/settlements/PJ-${n}`, 'agency');
    expect(s.status).toBe(200);
    expect(s.data).toMatchObject({ setl_id: `PJ-${n}`, insurer_code: 'PICC_DH', hifob_pay: '1000.00' });
  }
  const dup = await again.post('/v1/platform', env2207(1), 'agency');
  ok(dup);
  expect(dup.data.output).toEqual({ setl_id: 'PJ-1', message_id: ids[0], duplicate: true });
  const reversal = await again.post(
    '/v1/platform',
    {
      infno: '2208',
      insuplc_admdvs: '999901',
      fixmedins_code: H1,
      input: { data: { setl_id: 'PJ-2', mdtrt_id: 'M-PJ-2', psn_no: 'P-PJ-2' } },
    },
    'agency',
  );
  ok(reversal);
  await waitProcessed(again, [reversal.data.output.message_id], 'agency');
  ok(await sm2Post(again, env3201(H1, 1)));
  running = again;
});

test('kill -9 in the middle of a stream of 2207s: every infcode 0 is stored after `npm start`, and sent again is a duplicate', async () => {
  // Had the first journey failed half-way, its gateway would still hold the data directory.
  if (!running) await Promise.all(env.procs.map((p) => p.kill9()));
  const gw = running ?? (await startGateway(env));
  await gw.waitReady();
  const N = 60;
  const answered: { n: number; messageId: string }[] = [];
  let next = 100;
  let killed = false;
  let gone = false;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!gone && next < 100 + N) {
        const n = next++;
        try {
          const r = await gw.post('/v1/platform', env2207(n), 'agency', { timeoutMs: 20_000 });
          if (r.status !== 200 || r.data.infcode !== 0)
            throw new Error(`2207 ${n} answered ${r.status}: ${JSON.stringify(r.data)}`);
          answered.push({ n, messageId: r.data.output.message_id });
          if (!killed && answered.length >= 20) {
            killed = true;
            await gw.kill9();
          }
        } catch (e) {
          if ((e as Error).message.startsWith('2207')) throw e;
          gone = true;
        }
      }
    }),
  );
  expect(killed).toBe(true);

  const again = await startGateway(env);
  await again.waitReady();
  const missing = [];
  for (const a of answered)
    if ((await again.get(`/v1/messages/${a.messageId}`, 'agency')).status !== 200) missing.push(a.n);
  expect({ answered: answered.length >= 20, missing }).toEqual({ answered: true, missing: [] });
  for (const a of answered.slice(0, 5)) {
    const r = await again.post('/v1/platform', env2207(a.n), 'agency');
    expect(r.data.output).toEqual({ setl_id: `PJ-${a.n}`, message_id: a.messageId, duplicate: true });
  }
  await until('a stored settlement readable', async () =>
    (await again.get(`/v1/settlements/PJ-${answered[0]!.n}`, 'agency')).status === 200 ? true : undefined,
  );
  expect((await again.stop('SIGINT', 15_000)).code).toBe(0);
});
