/**
 * SM2 signatures (spec §9, issue 17): a hospital system signs with SM2 (`v1sm2`) through the real
 * gateway, with the keys in its clients entry; a subscriber that asks for `v1sm2` gets deliveries
 * the gateway signed with its own key, and GET /v1/keys serves the key that verifies them. Both
 * directions are checked with `sm-crypto`, the package the field signs and verifies with.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto';
import { Webhook } from 'standardwebhooks';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, TEST_SM2_KEYS, smCryptoSignature } from '../support/test-clients';
import { batch } from '../support/fixtures';
import {
  ALLOW_RECEIVERS_ENV,
  finding,
  openCases,
  startReceiver,
  subscribe,
  type Receiver,
} from './notifications-support';

let t: TestGateway;
let rx: Receiver | undefined;
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-sm2-'));

beforeAll(async () => {
  t = await startTestGateway('sm2_signatures', {
    env: {
      ...ALLOW_RECEIVERS_ENV,
      GATEWAY_DATA_DIR: keyDir,
      GATEWAY_DELIVERY_SCHEDULE_MS: '0,50,50',
      GATEWAY_DELIVERY_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await rx?.close();
  await t.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

/** A settlement batch of the SM2 hospital, its own batch id each time. */
const body = () => JSON.stringify(batch({ batch_id: `B-SM2-${crypto.randomUUID().slice(0, 8)}` }));

/** POST as the SM2 hospital with the signature `sig(id, ts, raw)` makes. */
function postSigned(raw: string, sig: (id: string, ts: number, raw: string) => string) {
  const id = `msg_${crypto.randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  return t.post('/v1/settlement-batches', undefined, 'hospitalSm2', {
    raw,
    webhookId: id,
    timestamp: new Date(ts * 1000),
    signature: sig(id, ts, raw),
  });
}

describe('inbound v1sm2', () => {
  test('when sm-crypto signs a settlement batch with the registered key, then it is accepted (202)', async () => {
    const r = await postSigned(body(), (id, ts, raw) =>
      smCryptoSignature(TEST_SM2_KEYS.current.privateKey, id, ts, raw),
    );
    expect(r.status).toBe(202);
    expect(r.data).toMatchObject({ status: 'accepted' });
  });

  test('when another key signs, then it is 401 SIGNATURE_INVALID', async () => {
    const r = await postSigned(body(), (id, ts, raw) =>
      smCryptoSignature(TEST_SM2_KEYS.stranger.privateKey, id, ts, raw),
    );
    expect(r.status).toBe(401);
    expect(r.data.type).toContain('signature-invalid');
  });

  test('when the right key signed a body that was then changed, then it is 401', async () => {
    const raw = body();
    const r = await postSigned(raw.replace('"setl_cnt":1', '"setl_cnt":1 '), (id, ts) =>
      smCryptoSignature(TEST_SM2_KEYS.current.privateKey, id, ts, raw),
    );
    expect(r.status).toBe(401);
  });

  test('when the client has two keys (rotation), then a signature by the previous one is accepted too', async () => {
    const r = await postSigned(body(), (id, ts, raw) =>
      smCryptoSignature(TEST_SM2_KEYS.previous.privateKey, id, ts, raw),
    );
    expect(r.status).toBe(202);
  });

  test('when the SM2 entry is not base64 or not a DER signature, then it is 401, never 500', async () => {
    for (const sig of [
      'v1sm2,@@@',
      'v1sm2,AAAA',
      `v1sm2,${Buffer.alloc(70, 0x30).toString('base64')}`,
      'v1sm2,MAYCAQECAQE=',
    ]) {
      const r = await postSigned(body(), () => sig);
      expect(r.status).toBe(401);
    }
  });

  test('when the SM2-only client signs with an HMAC of some secret, then it is 401 (it holds no secret)', async () => {
    const r = await t.post('/v1/settlement-batches', JSON.parse(body()), 'hospitalSm2');
    expect(r.status).toBe(401);
  });
});

describe('GET /v1/keys and v1sm2 deliveries', () => {
  test('when a subscriber asks for v1sm2, then its delivery carries an SM2 signature that sm-crypto verifies with the key GET /v1/keys serves', async () => {
    const keys = await t.get('/v1/keys', null);
    expect(keys.status).toBe(200);
    expect(keys.data.keys).toHaveLength(1);
    const [k] = keys.data.keys;
    expect(k).toMatchObject({
      alg: 'SM2',
      use: 'sig',
      kid: expect.stringMatching(/^[0-9a-f]{16}$/),
      pem: expect.stringContaining('BEGIN PUBLIC KEY'),
    });
    // The key the gateway made in its data directory on first start, 0600.
    const file = path.join(keyDir, 'gateway-sm2-key.pem');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    rx = await startReceiver();
    const sub = await subscribe(t, {
      url: rx.url,
      format: 'json',
      filter: { insurer_code: 'INS_SM2' },
      signature: 'v1sm2',
    });
    const created = await t.get(`/v1/subscribers/${sub.id}`, 'ops');
    expect(created.data.signature).toBe('v1sm2');
    await openCases(t, [finding({ insurer_code: 'INS_SM2' })]);
    const [got] = await rx.waitFor(1);
    const h = got!.headers as Record<string, string>;
    const entries = h['webhook-signature']!.split(' ');
    const sm2Entry = entries.find((e) => e.startsWith('v1sm2,'))!;
    expect(sm2Entry).toBeDefined();
    const msg = `${h['webhook-id']}.${h['webhook-timestamp']}.${got!.body}`;
    const sigHex = Buffer.from(sm2Entry.slice('v1sm2,'.length), 'base64').toString('hex');
    // The served PEM → the hex point sm-crypto takes (SPKI: the last 65 bytes are 04‖x‖y).
    const pubHex = crypto.createPublicKey(k.pem).export({ format: 'der', type: 'spki' }).subarray(-65).toString('hex');
    expect(pubHex).toBe(k.public_key_hex);
    expect(smCrypto.doVerifySignature(msg, sigHex, pubHex, { hash: true, der: true })).toBe(true);
    expect(smCrypto.doVerifySignature(`${msg} `, sigHex, pubHex, { hash: true, der: true })).toBe(false);
    // The HMAC stays alongside, so a receiver with a Standard Webhooks library still verifies.
    expect(() => new Webhook(sub.secret).verify(got!.body, h)).not.toThrow();
  });

  test('when a subscriber keeps the default, then its deliveries carry only the v1 HMAC', async () => {
    const plain = await startReceiver();
    try {
      const sub = await subscribe(t, { url: plain.url, format: 'json', filter: { insurer_code: 'INS_SM2_PLAIN' } });
      expect((await t.get(`/v1/subscribers/${sub.id}`, 'ops')).data.signature).toBe('v1');
      await openCases(t, [finding({ insurer_code: 'INS_SM2_PLAIN' })]);
      const [got] = await plain.waitFor(1);
      expect(String(got!.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    } finally {
      await plain.close();
    }
  });

  test('when a subscriber asks for an unknown signature scheme, then it is 422', async () => {
    const r = await t.post(
      '/v1/subscribers',
      { url: 'https://insurer.example.com/hooks', format: 'json', signature: 'v2sm2' },
      'ops',
    );
    expect(r.status).toBe(422);
  });
});

test('the SM2 test client is registered without a signing secret', () => {
  expect(t.gw.clients.get(TEST_CLIENTS.hospitalSm2.client_id)!.signing_secrets).toEqual([]);
  expect(t.gw.clients.sm2Keys(TEST_CLIENTS.hospitalSm2.client_id)).toHaveLength(2);
});
