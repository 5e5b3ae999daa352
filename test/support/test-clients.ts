/** The clients every e2e test uses: two insurers, two institutions, the Dehong agency, ops. */
import crypto from 'node:crypto';
import { sm2 as smCrypto } from 'sm-crypto';
import { ClientRegistry, type Client } from '../../src/http/clients';
import { sm2PublicKeyFromHex } from '../../src/http/sm2';

const secret = (seed: string) => `whsec_${crypto.createHash('sha256').update(seed).digest('base64')}`;
const hash = (t: string) => crypto.createHash('sha256').update(t).digest('hex');

export const TEST_CLIENTS = {
  insurerA: {
    client_id: 'picc-dh',
    role: 'insurer',
    scope: ['PICC_DH'],
    secret: secret('picc'),
    oldSecret: secret('picc-old'),
    token: 'tok-picc-dh-0001',
  },
  insurerB: {
    client_id: 'cpic-dh',
    role: 'insurer',
    scope: ['CPIC_DH'],
    secret: secret('cpic'),
    token: 'tok-cpic-dh-0001',
  },
  hospital1: {
    client_id: 'h1',
    role: 'institution',
    scope: ['H53310200001'],
    secret: secret('h1'),
    token: 'tok-hospital-0001',
  },
  hospital2: {
    client_id: 'h2',
    role: 'institution',
    scope: ['H53310200002'],
    secret: secret('h2'),
    token: 'tok-hospital-0002',
  },
  /** A second system of hospital 1 (another client with the same scope): its answers must never show hospital1's ids. */
  hospital1b: {
    client_id: 'h1-his2',
    role: 'institution',
    scope: ['H53310200001'],
    secret: secret('h1b'),
    token: 'tok-hospital-0001b',
  },
  agency: {
    client_id: 'dehong-agency',
    role: 'agency',
    scope: ['5331', '1509', '9999'],
    secret: secret('agency'),
    token: 'tok-agency-5331',
  },
  agencyOther: {
    client_id: 'jiaozuo-agency',
    role: 'agency',
    scope: ['4108'],
    secret: secret('jz'),
    token: 'tok-agency-4108',
  },
  /** Tax and finance of Ulanqab (spec §8), and a tax bureau of another region. */
  tax: { client_id: 'ulanqab-tax', role: 'tax', scope: ['1509'], secret: secret('tax'), token: 'tok-tax-1509-0001' },
  taxOther: {
    client_id: 'jiaozuo-tax',
    role: 'tax',
    scope: ['4108'],
    secret: secret('tax-jz'),
    token: 'tok-tax-4108-0001',
  },
  finance: {
    client_id: 'ulanqab-finance',
    role: 'finance',
    scope: ['1509'],
    secret: secret('finance'),
    token: 'tok-finance-1509-01',
  },
  ops: { client_id: 'ops', role: 'ops', scope: [], secret: secret('ops'), token: 'tok-ops-000001' },
  /**
   * A hospital system that signs with SM2 only (spec §9): two keys (rotation), no HMAC secret in the
   * registry (`secret` is there for the helpers' types and is refused by the gateway).
   */
  hospitalSm2: {
    client_id: 'h1-sm2',
    role: 'institution',
    scope: ['H53310200001'],
    secret: secret('h1-sm2'),
    token: 'tok-hospital-sm2-01',
    sm2Only: true,
  },
} as const;

/**
 * SM2 key pairs for tests, in sm-crypto's hex form (fixed, so failures reproduce). `current` and
 * `previous` are hospitalSm2's two registered keys; `stranger` is registered nowhere.
 */
const sm2Pair = (privateKey: string) => ({
  privateKey,
  publicKey: sm2PublicKeyFromHex(smCrypto.getPublicKeyFromPrivateKey(privateKey)).hex,
});
export const TEST_SM2_KEYS = {
  current: sm2Pair('66cb8a308125de1e2af87568d013ca39f3137eb9750bf7f93a9035c51603c6cf'),
  previous: sm2Pair('3a1f6c0d9e8b7a6954433221100ffeeddccbbaa99887766554433221100aabbc'),
  stranger: sm2Pair('0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0'),
};

/** A `v1sm2,<base64 DER>` entry made the way the field makes it: sm-crypto, `{hash: true, der: true}`, default ID. */
export function smCryptoSignature(
  privateKey: string,
  webhookId: string,
  timestamp: number,
  body: string | Buffer,
): string {
  const msg = [
    ...Buffer.concat([
      Buffer.from(`${webhookId}.${timestamp}.`),
      Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    ]),
  ];
  return `v1sm2,${Buffer.from(smCrypto.doSignature(msg, privateKey, { hash: true, der: true }), 'hex').toString('base64')}`;
}

export type TestClientName = keyof typeof TEST_CLIENTS;

export function testClientRegistry(): ClientRegistry {
  const list: Client[] = Object.values(TEST_CLIENTS).map((c) => ({
    client_id: c.client_id,
    role: c.role as Client['role'],
    scope: [...c.scope],
    signing_secrets: 'sm2Only' in c ? [] : 'oldSecret' in c ? [c.secret, c.oldSecret] : [c.secret],
    token_sha256: [hash(c.token)],
    ...('sm2Only' in c
      ? {
          sm2_public_keys: [TEST_SM2_KEYS.current, TEST_SM2_KEYS.previous].map(
            (k) => sm2PublicKeyFromHex(k.publicKey).pem,
          ),
        }
      : {}),
  }));
  return new ClientRegistry(list);
}
