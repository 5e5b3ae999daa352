/**
 * Standard Webhooks signatures (spec §2): `v1,<base64>` is HMAC-SHA256 and `v1sm3,<base64>` is
 * HMAC-SM3 (国密, from Node's OpenSSL), keyed with the base64-decoded `whsec_` secret, over
 * `{webhook-id}.{webhook-timestamp}.{raw body}`. `v1sm2,<base64 DER>` (spec §9) is an SM2 signature
 * over the same bytes, checked against the client's public keys (sm2.ts). The verifier is
 * incremental so a streamed feed is verified without holding its body, and compares in constant time.
 */
import crypto from 'node:crypto';
import { Sm2Digest, signSm2, type Sm2PrivateKey, type Sm2PublicKey } from './sm2';

export const TOLERANCE_SECONDS = 300;
const ALGORITHMS: Record<string, string> = { v1: 'sha256', v1sm3: 'sm3' };
const SM2 = 'v1sm2';
/**
 * At most this many v1sm2 entries are tried, each against each of the client's keys: an SM2
 * verification costs ~4 ms where an HMAC costs µs, and it runs before the client is proven (only the
 * per-address rate limit stands before it). Two cover a sender in the middle of a key rotation.
 */
export const MAX_SM2_ENTRIES = 2;

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/** Parse the `webhook-signature` header into (version, signature bytes) pairs; unknown versions are skipped. */
export function parseSignatureHeader(header: string): { version: string; sig: Buffer }[] {
  const out: { version: string; sig: Buffer }[] = [];
  for (const part of header.split(' ')) {
    const i = part.indexOf(',');
    if (i <= 0) continue;
    const version = part.slice(0, i);
    if (!ALGORITHMS[version] && version !== SM2) continue;
    const b64 = part.slice(i + 1);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    if (version === SM2 && out.filter((e) => e.version === SM2).length >= MAX_SM2_ENTRIES) continue;
    out.push({ version, sig: Buffer.from(b64, 'base64') });
  }
  return out.slice(0, 16);
}

export class SignatureVerifier {
  private readonly hmacs: { version: string; hmac: crypto.Hmac }[] = [];
  private readonly sm2: Sm2Digest[] = [];

  constructor(
    secrets: string[],
    private readonly expected: { version: string; sig: Buffer }[],
    webhookId: string,
    timestamp: string,
    sm2Keys: readonly Sm2PublicKey[] = [],
  ) {
    const versions = new Set(expected.map((e) => e.version));
    for (const secret of secrets) {
      for (const version of versions) {
        if (version === SM2) continue;
        const hmac = crypto.createHmac(ALGORITHMS[version]!, secretKey(secret));
        hmac.update(`${webhookId}.${timestamp}.`);
        this.hmacs.push({ version, hmac });
      }
    }
    if (versions.has(SM2))
      for (const key of sm2Keys) this.sm2.push(new Sm2Digest(key).update(`${webhookId}.${timestamp}.`));
  }

  update(chunk: Buffer): void {
    for (const h of this.hmacs) h.hmac.update(chunk);
    for (const d of this.sm2) d.update(chunk);
  }

  /** True when any expected signature matches any secret's HMAC. Call once, at the end of the body. */
  verify(): boolean {
    let ok = false;
    for (const { version, hmac } of this.hmacs) {
      const mac = hmac.digest();
      for (const e of this.expected) {
        // timingSafeEqual needs equal lengths; a length mismatch is a mismatch, not an exception.
        if (e.version === version && e.sig.length === mac.length && crypto.timingSafeEqual(e.sig, mac)) ok = true;
      }
    }
    if (this.sm2.length) {
      // Key rotation: any of the client's keys verifying any v1sm2 entry is enough.
      const sm2Sigs = this.expected.filter((e) => e.version === SM2).map((e) => e.sig);
      for (const d of this.sm2) if (d.verifyAny(sm2Sigs)) ok = true;
    }
    return ok;
  }
}

/** Sign as a Standard Webhooks sender would (outbound notifications, tests, the CLI). */
export function sign(
  secret: string,
  webhookId: string,
  timestamp: number,
  body: string | Buffer,
  version: 'v1' | 'v1sm3' = 'v1',
): string {
  const mac = crypto
    .createHmac(ALGORITHMS[version]!, secretKey(secret))
    .update(`${webhookId}.${timestamp}.`)
    .update(body)
    .digest('base64');
  return `${version},${mac}`;
}

/** An SM2 signature entry `v1sm2,<base64 DER>` (SM2-signed deliveries, tests). */
export function signWithSm2(key: Sm2PrivateKey, webhookId: string, timestamp: number, body: string | Buffer): string {
  const msg = Buffer.concat([
    Buffer.from(`${webhookId}.${timestamp}.`),
    typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  ]);
  return `${SM2},${signSm2(msg, key).toString('base64')}`;
}
