/**
 * SM2 signatures (国密, spec §9): SM2 with SM3 over `{webhook-id}.{webhook-timestamp}.{raw body}`,
 * with the GB/T 35276 default distinguishing ID `1234567812345678`, DER-encoded `(r, s)`.
 *
 * Why not Node's own `crypto.verify('sm3', …)`: OpenSSL verifies an SM2 key there without the
 * distinguishing ID (no Z value), so signatures made by `sm-crypto` — what agencies and hospital
 * systems use — fail it. The curve arithmetic is `sm-crypto-v2` (built on the audited @noble/curves);
 * the digest e = SM3(Z ‖ M) is Node's SM3, fed incrementally, so a streamed feed is verified without
 * holding its body, like the HMACs of signature.ts. The DER parsing is ours and strict about
 * structure (the library's decoder accepts any bytes), so a malformed signature is a mismatch.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sm2 } from 'sm-crypto-v2';

/** GB/T 35276-2017 §5.3: the default user ID when the parties agreed on none. */
export const SM2_DEFAULT_ID = '1234567812345678';

/** The SM2 curve order n (GB/T 32918.5): r and s must lie in [1, n-1]. */
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');

/** SubjectPublicKeyInfo of an uncompressed SM2 point, up to the point: id-ecPublicKey, curve sm2p256v1, BIT STRING. */
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');

type Point = ReturnType<typeof sm2.precomputePublicKey>;

export interface Sm2PublicKey {
  /** The uncompressed point `04‖x‖y`, hex (what sm-crypto calls the public key). */
  hex: string;
  /** SPKI PEM, as kept in the clients file and served at GET /v1/keys. */
  pem: string;
  /** kid: the first 16 hex of SHA-256 over the SPKI DER. */
  kid: string;
  /** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for the default ID. */
  z: Buffer;
  /** The curve point, precomputed for fast verification on first use. */
  readonly point: Point;
}

/**
 * Window 4: precomputing costs ~25 ms a key (window 8: ~250 ms, for 3.4 ms a verification instead
 * of 4) and is done on a key's first use, so a clients file of hundreds of keys starts at once.
 */
const PRECOMPUTE_WINDOW = 4;

function fromHex(hex: string): Sm2PublicKey {
  let valid = false;
  try {
    valid = sm2.verifyPublicKey(hex);
  } catch {
    /* not a point encoding */
  }
  if (!valid) throw new Error('not a point on the SM2 curve');
  let point: Point | undefined;
  const precomputed = () => (point ??= sm2.precomputePublicKey(hex, PRECOMPUTE_WINDOW));
  const full = hex.length === 130 ? hex : precomputed().toHex(false);
  const der = Buffer.concat([SPKI_PREFIX, Buffer.from(full, 'hex')]);
  const pem = `-----BEGIN PUBLIC KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END PUBLIC KEY-----\n`;
  return {
    hex: full,
    pem,
    kid: crypto.createHash('sha256').update(der).digest('hex').slice(0, 16),
    z: Buffer.from(sm2.getZ(full, SM2_DEFAULT_ID)),
    get point() {
      return precomputed();
    },
  };
}

/** One DER TLV at `at`: its tag, where its value starts and ends. Undefined past the buffer or for long lengths over 2 bytes. */
function tlv(der: Buffer, at: number): { tag: number; start: number; end: number } | undefined {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) return undefined;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 2 || start + n > der.length) return undefined;
    len = n === 1 ? der[start]! : der.readUInt16BE(start);
    start += n;
  }
  const end = start + len;
  return end <= der.length ? { tag, start, end } : undefined;
}

const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');
const SM2_CURVE_OID = Buffer.from('06082a811ccf5501822d', 'hex');

/** The AlgorithmIdentifier at `at` must be id-ecPublicKey on curve sm2p256v1 (1.2.156.10197.1.301). */
function isSm2Algorithm(der: Buffer, at: number): boolean {
  const alg = tlv(der, at);
  return (
    alg?.tag === 0x30 && der.subarray(alg.start, alg.end).equals(Buffer.concat([EC_PUBLIC_KEY_OID, SM2_CURVE_OID]))
  );
}

/**
 * An SM2 public key from a PEM (SPKI, as `openssl`, GmSSL or a CA hand out; an X.509 certificate
 * works too). Node parses the PEM, but OpenSSL 3 turns an SM2 key into a key type Node does not
 * name (no asymmetricKeyType, no JWK export), so the point is read from the SPKI DER Node
 * re-exports. Throws with a reason on anything that is not an SM2 public key.
 */
export function parseSm2PublicKeyPem(pem: string): Sm2PublicKey {
  let der: Buffer;
  try {
    der = crypto.createPublicKey({ key: pem, format: 'pem' }).export({ format: 'der', type: 'spki' });
  } catch (e) {
    throw new Error(`not a PEM public key (${(e as Error).message})`, { cause: e });
  }
  // SEQUENCE { AlgorithmIdentifier, BIT STRING (0 unused bits) 04‖x‖y or 02/03‖x }
  const outer = tlv(der, 0);
  const alg = outer?.tag === 0x30 ? tlv(der, outer.start) : undefined;
  if (!outer || !alg || !isSm2Algorithm(der, outer.start))
    throw new Error('not an SM2 key (the algorithm is not id-ecPublicKey on curve sm2p256v1)');
  const bits = tlv(der, alg.end);
  if (bits?.tag !== 0x03 || der[bits.start] !== 0) throw new Error('not an SM2 key (no public point)');
  try {
    return fromHex(der.subarray(bits.start + 1, bits.end).toString('hex'));
  } catch (e) {
    throw new Error(`not an SM2 key (${(e as Error).message})`, { cause: e });
  }
}

/** An SM2 public key from sm-crypto's hex form (`04‖x‖y`, or 128 hex without the 04). */
export function sm2PublicKeyFromHex(hex: string): Sm2PublicKey {
  const h = hex.trim().toLowerCase();
  if (!/^(04)?[0-9a-f]{128}$|^0[23][0-9a-f]{64}$/.test(h))
    throw new Error('not an SM2 public key in hex (04 + 128 hex digits)');
  return fromHex(h.length === 128 ? `04${h}` : h);
}

/**
 * A signature's (r, s) from DER `SEQUENCE { INTEGER r, INTEGER s }`; undefined for anything else
 * (wrong tags or lengths, trailing bytes, negative or zero or ≥ n values).
 */
export function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30) return undefined;
  // Short-form length only: the largest SM2 signature is 72 bytes.
  if (der[1]! >= 0x80 || der[1] !== der.length - 2) return undefined;
  let at = 2;
  const int = (): bigint | undefined => {
    if (der[at] !== 0x02) return undefined;
    const len = der[at + 1];
    if (len === undefined || len === 0 || len > 33 || at + 2 + len > der.length) return undefined;
    const bytes = der.subarray(at + 2, at + 2 + len);
    at += 2 + len;
    if (bytes[0]! & 0x80) return undefined; // negative
    const v = BigInt(`0x${bytes.toString('hex')}`);
    return v >= 1n && v < N ? v : undefined;
  };
  const r = int();
  const s = int();
  if (r === undefined || s === undefined || at !== der.length) return undefined;
  return { r, s };
}

/** SM3(Z ‖ message) fed in pieces, then checked against signatures: one per key. */
export class Sm2Digest {
  private readonly hash: crypto.Hash;

  constructor(readonly key: Sm2PublicKey) {
    this.hash = crypto.createHash('sm3').update(key.z);
  }

  update(chunk: Buffer | string): this {
    this.hash.update(chunk);
    return this;
  }

  /** Whether any of the DER signatures verifies; call once, at the end of the message. */
  verifyAny(signatures: Buffer[]): boolean {
    const e = this.hash.digest();
    let ok = false;
    for (const der of signatures) {
      const rs = parseDerSignature(der);
      if (!rs) continue;
      const sigHex = rs.r.toString(16).padStart(64, '0') + rs.s.toString(16).padStart(64, '0');
      // hash: false → the library takes the message as e itself; e is SM3(Z ‖ M) computed above.
      if (sm2.doVerifySignature(new Uint8Array(e), sigHex, this.key.point, { der: false, hash: false })) ok = true;
    }
    return ok;
  }
}

/** One-shot verification of a DER signature over a whole message (tests, the docs example). */
export function verifySm2(message: Buffer | string, der: Buffer, key: Sm2PublicKey): boolean {
  return new Sm2Digest(key).update(message).verifyAny([der]);
}

/** A signing key: the private scalar (hex, as sm-crypto takes it) and its public key. */
export interface Sm2PrivateKey {
  privateHex: string;
  publicKey: Sm2PublicKey;
}

/** Sign a message (default ID, SM3), DER-encoded, as `doSignature(msg, key, {hash: true, der: true})` does. */
export function signSm2(message: Buffer | string, key: Sm2PrivateKey): Buffer {
  const msg = typeof message === 'string' ? new Uint8Array(Buffer.from(message, 'utf8')) : new Uint8Array(message);
  const hex = sm2.doSignature(msg, key.privateHex, {
    hash: true,
    der: true,
    publicKey: key.publicKey.hex,
    userId: SM2_DEFAULT_ID,
  });
  return Buffer.from(hex, 'hex');
}

/**
 * An SM2 private key from PEM (PKCS#8 or SEC1 `EC PRIVATE KEY`, as openssl or GmSSL write it).
 * Node re-exports it as PKCS#8 (its SEC1 export of an SM2 key aborts the process), and the scalar
 * is read from the ECPrivateKey inside.
 */
export function parseSm2PrivateKeyPem(pem: string): Sm2PrivateKey {
  let der: Buffer;
  try {
    der = crypto.createPrivateKey({ key: pem, format: 'pem' }).export({ format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new Error(`not a PEM private key (${(e as Error).message})`, { cause: e });
  }
  // PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { ECPrivateKey SEQUENCE { INTEGER 1, OCTET STRING d, … } } }
  const outer = tlv(der, 0);
  const version = outer?.tag === 0x30 ? tlv(der, outer.start) : undefined;
  const alg = version?.tag === 0x02 ? tlv(der, version.end) : undefined;
  if (!version || !alg || !isSm2Algorithm(der, version.end)) throw new Error('not an SM2 private key');
  const wrapped = tlv(der, alg.end);
  const ec = wrapped?.tag === 0x04 ? tlv(der, wrapped.start) : undefined;
  const ecVersion = ec?.tag === 0x30 ? tlv(der, ec.start) : undefined;
  const d = ecVersion?.tag === 0x02 ? tlv(der, ecVersion.end) : undefined;
  if (d?.tag !== 0x04 || d.end - d.start !== 32) throw new Error('unexpected SM2 private key encoding');
  const privateHex = der.subarray(d.start, d.end).toString('hex');
  return { privateHex, publicKey: fromHex(sm2.getPublicKeyFromPrivateKey(privateHex)) };
}

/**
 * The gateway's own signing key (SM2-signed deliveries, GET /v1/keys): read from `file`, or, when
 * `create` (the default place in the data directory), made there on first start (PKCS#8 PEM, mode
 * 0600). Two processes starting at once on one data directory agree: only one hard link succeeds
 * and the other reads what the first wrote.
 */
export function loadOrCreateGatewaySm2Key(o: { file: string; create: boolean }): Sm2PrivateKey {
  const { file } = o;
  if (o.create && !fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.unlinkSync(tmp);
    }
  }
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`GATEWAY_SM2_PRIVATE_KEY_FILE ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return parseSm2PrivateKeyPem(pem);
  } catch (e) {
    throw new Error(`GATEWAY_SM2_PRIVATE_KEY_FILE ${file}: ${(e as Error).message}`, { cause: e });
  }
}
