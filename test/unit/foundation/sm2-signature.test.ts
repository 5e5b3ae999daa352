import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto';
import {
  MAX_SM2_ENTRIES,
  SignatureVerifier,
  parseSignatureHeader,
  sign,
  signWithSm2,
} from '../../../src/http/signature';
import {
  SM2_DEFAULT_ID,
  parseDerSignature,
  parseSm2PrivateKeyPem,
  parseSm2PublicKeyPem,
  sm2PublicKeyFromHex,
  verifySm2,
} from '../../../src/http/sm2';
import { ClientRegistry } from '../../../src/http/clients';

const field = smCrypto.generateKeyPairHex();
const fieldKey = sm2PublicKeyFromHex(field.publicKey);
const other = smCrypto.generateKeyPairHex();
const id = 'msg_2f1c';
const ts = '1714702500';
const body = Buffer.from('{"insurer_code":"PICC_DH","payment_id":"P-1","备注":"中文"}');
const signed = (priv: string, b: Buffer = body) =>
  `v1sm2,${Buffer.from(smCrypto.doSignature([...Buffer.from(`${id}.${ts}.`), ...b], priv, { hash: true, der: true }), 'hex').toString('base64')}`;

function verify(header: string, keys = [fieldKey], chunks: Buffer[] = [body], secrets: string[] = []): boolean {
  const v = new SignatureVerifier(secrets, parseSignatureHeader(header), id, ts, keys);
  for (const c of chunks) v.update(c);
  return v.verify();
}

describe('SM2 signatures (spec §9)', () => {
  test('when sm-crypto signs with the default distinguishing ID, then the verifier accepts it, fed in chunks', () => {
    expect(
      verify(signed(field.privateKey), [fieldKey], [body.subarray(0, 7), body.subarray(7, 40), body.subarray(40)]),
    ).toBe(true);
  });

  test("when Node's own crypto.verify is asked, then it refuses the same signature (it applies no distinguishing ID), which is why a library verifies", () => {
    const der = Buffer.from(signed(field.privateKey).slice(6), 'base64');
    const key = crypto.createPublicKey(fieldKey.pem);
    expect(crypto.verify('sm3', Buffer.concat([Buffer.from(`${id}.${ts}.`), body]), key, der)).toBe(false);
    expect(verifySm2(Buffer.concat([Buffer.from(`${id}.${ts}.`), body]), der, fieldKey)).toBe(true);
  });

  test('when the body changed or another key signed, then the signature is refused', () => {
    expect(verify(signed(field.privateKey), [fieldKey], [Buffer.from(body.toString().replace('P-1', 'P-2'))])).toBe(
      false,
    );
    expect(verify(signed(other.privateKey))).toBe(false);
  });

  test('when a client has two keys (rotation), then a signature by either verifies', () => {
    const keys = [fieldKey, sm2PublicKeyFromHex(other.publicKey)];
    expect(verify(signed(field.privateKey), keys)).toBe(true);
    expect(verify(signed(other.privateKey), keys)).toBe(true);
  });

  test('when the header mixes a bad SM2 entry with a good one, or an HMAC with SM2, then one match is enough', () => {
    expect(verify(`v1sm2,AAAA ${signed(field.privateKey)}`)).toBe(true);
    const secret = `whsec_${Buffer.from('a-test-secret-of-some-length!!').toString('base64')}`;
    expect(
      verify(`${signed(other.privateKey)} ${sign(secret, id, Number(ts), body)}`, [fieldKey], [body], [secret]),
    ).toBe(true);
  });

  test('when the SM2 entry is not base64, or base64 of no DER signature, then it is a mismatch, not an exception', () => {
    const good = Buffer.from(signed(field.privateKey).slice(6), 'base64');
    const cases = [
      'v1sm2,@@@@',
      'v1sm2,',
      'v1sm2,AAAA',
      'v1sm2,MAYCAQECAQE=',
      `v1sm2,${Buffer.alloc(300, 0x30).toString('base64')}`,
      `v1sm2,${Buffer.concat([good, Buffer.from([0])]).toString('base64')}`, // trailing byte
      `v1sm2,${Buffer.from([0x31, ...good.subarray(1)]).toString('base64')}`, // SET, not SEQUENCE
      `v1sm2,${good.subarray(0, good.length - 1).toString('base64')}`, // truncated
      `v1sm2,${Buffer.from(smCrypto.doSignature('x', field.privateKey, { hash: true, der: false }), 'hex').toString('base64')}`, // raw r‖s, not DER
    ];
    for (const h of cases) expect(verify(h)).toBe(false);
  });

  test('when DER carries a zero, negative or too large integer, then parsing refuses it', () => {
    const seq = (...ints: number[][]) => {
      const body = Buffer.from(ints.flatMap((i) => [0x02, i.length, ...i]));
      return Buffer.from([0x30, body.length, ...body]);
    };
    expect(parseDerSignature(seq([1], [2]))).toEqual({ r: 1n, s: 2n });
    expect(parseDerSignature(seq([0], [2]))).toBeUndefined();
    expect(parseDerSignature(seq([0x80], [2]))).toBeUndefined();
    expect(parseDerSignature(seq(new Array(32).fill(0xff), [2]))).toBeUndefined(); // ≥ n
    expect(parseDerSignature(seq([1]))).toBeUndefined();
  });

  test('when a header carries many SM2 entries, then only the first few are tried (each costs milliseconds before the client is proven)', () => {
    const many = Array.from({ length: 10 }, () => 'v1sm2,AAAA').join(' ');
    expect(parseSignatureHeader(many)).toHaveLength(MAX_SM2_ENTRIES);
  });

  test('when the gateway signs with its own key, then sm-crypto verifies it with the public key the gateway serves', () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const key = parseSm2PrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const entry = signWithSm2(key, id, Number(ts), body);
    const served = parseSm2PublicKeyPem(key.publicKey.pem);
    const sigHex = Buffer.from(entry.slice(6), 'base64').toString('hex');
    expect(
      smCrypto.doVerifySignature([...Buffer.from(`${id}.${ts}.`), ...body], sigHex, served.hex, {
        hash: true,
        der: true,
      }),
    ).toBe(true);
    expect(verify(entry, [served])).toBe(true);
    expect(SM2_DEFAULT_ID).toBe('1234567812345678');
  });

  test("when a PEM is made from sm-crypto's hex key, then parsing it gives the same point back", () => {
    expect(parseSm2PublicKeyPem(fieldKey.pem).hex).toBe(field.publicKey);
  });
});

describe('sm2_public_keys in the clients file', () => {
  const base = { client_id: 'h1', role: 'institution', scope: ['H53310200001'] };

  test('when a client has only SM2 keys, then the registry loads them', () => {
    const reg = ClientRegistry.fromJson([
      { ...base, sm2_public_keys: [fieldKey.pem, sm2PublicKeyFromHex(other.publicKey).pem] },
    ]);
    expect(reg.sm2Keys('h1').map((k) => k.hex)).toEqual([field.publicKey, other.publicKey]);
  });

  test('when a key is not an SM2 public key, then loading stops naming the client and the entry', () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p256 = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(() => ClientRegistry.fromJson([{ ...base, sm2_public_keys: [fieldKey.pem, p256] }])).toThrow(
      /client "h1" sm2_public_keys\[1\]: not an SM2 key/,
    );
    expect(() =>
      ClientRegistry.fromJson([
        { ...base, sm2_public_keys: ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'] },
      ]),
    ).toThrow(/sm2_public_keys\[0\]/);
    expect(() => ClientRegistry.fromJson([{ ...base, sm2_public_keys: ['04abcd'] }])).toThrow(/invalid clients file/);
  });
});

describe('the SM2 worked example of the integration guide (§9)', () => {
  const guide = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'integration-guide.md'), 'utf8');
  const sec = guide.slice(guide.indexOf('## 9. SM2 signatures'));

  test('when the printed signature is checked with the printed key, then it verifies, with sm-crypto and with the gateway', () => {
    const pubHex = /public\n`(04[0-9a-f]{128})`/.exec(sec)![1]!;
    const privHex = /private\n`([0-9a-f]{64})`/.exec(sec)![1]!;
    const pem = /```\n(-----BEGIN PUBLIC KEY-----\n[\s\S]+?-----END PUBLIC KEY-----\n)```/.exec(sec)![1]!;
    const id = /`webhook-id` `([^`]+)`/.exec(sec)![1]!;
    const ts = /`webhook-timestamp` `(\d+)`/.exec(sec)![1]!;
    const body = /```json\n(\{"batch_id"[^\n]+)\n```/.exec(sec)![1]!;
    const entry = /webhook-signature: (v1sm2,[A-Za-z0-9+/=]+)/.exec(sec)![1]!;
    expect(smCrypto.getPublicKeyFromPrivateKey(privHex)).toBe(pubHex);
    expect(parseSm2PublicKeyPem(pem).hex).toBe(pubHex);
    expect(sm2PublicKeyFromHex(pubHex).pem).toBe(pem);
    const derHex = Buffer.from(entry.slice(6), 'base64').toString('hex');
    expect(smCrypto.doVerifySignature(`${id}.${ts}.${body}`, derHex, pubHex, { hash: true, der: true })).toBe(true);
    const v = new SignatureVerifier([], parseSignatureHeader(entry), id, ts, [parseSm2PublicKeyPem(pem)]);
    v.update(Buffer.from(body));
    expect(v.verify()).toBe(true);
  });
});
