/**
 * Authentication and scope (spec §2). Writes are signed the Standard Webhooks way and verified over
 * the raw body bytes; reads take a bearer token whose SHA-256 is in the clients file; operator
 * actions take either. Every check that fails is a 401/403 problem with a stable code. A request
 * that proves its client is handed to the rate limiter under that client (rate-limit.ts).
 */
import type { Request, Response, NextFunction } from 'express';
import getRawBody from 'raw-body';
import * as contentType from 'content-type';
import type { Sql } from '../db/db';
import { recordWebhookId } from '../ingest/message-problems';
import { sha256Hex, type Client, type ClientRegistry, type Role } from './clients';
import { SignatureVerifier, TOLERANCE_SECONDS, parseSignatureHeader } from './signature';
import { badRequest, forbidden, langOf, tooLarge, unauthorized, unprocessable } from './problem';
import { parseStrictJson } from '../schemas/strict-json';
import type { Lang } from '../schemas/validator';
import { admitVerifiedClient } from './rate-limit';

export interface SignedWrite {
  client: Client;
  webhookId: string;
  verifier: SignatureVerifier;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Everything about a signed write that can be checked before the body is read: the client, its
 * role, the webhook-id, the timestamp window and the signature header's shape. The returned
 * verifier is fed the body and asked `verify()` at its end.
 */
export function beginSignedWrite(
  req: Request,
  clients: ClientRegistry,
  role: Role | readonly Role[],
  nowMs: number,
): SignedWrite {
  const signed = beginSigned(req, clients, nowMs);
  const client = signed.client;
  // Spec §8: some kinds have two senders (premium collections: tax or agency).
  const roles: readonly Role[] = typeof role === 'string' ? [role] : role;
  if (!roles.includes(client.role))
    throw forbidden({
      en: `this endpoint is for role ${roles.join(' or ')}; client ${client.client_id} has role ${client.role}`,
      zh: `该接口仅限 ${roles.join('或')} 角色；客户端 ${client.client_id} 的角色为 ${client.role}`,
    });
  return signed;
}

/** The checks of beginSignedWrite short of the role (operator actions check roles once the signature is verified). */
function beginSigned(req: Request, clients: ClientRegistry, nowMs: number): SignedWrite {
  const clientId = header(req, 'x-client-id');
  const webhookId = header(req, 'webhook-id');
  const ts = header(req, 'webhook-timestamp');
  const sigHeader = header(req, 'webhook-signature');
  if (!clientId || !webhookId || !ts || !sigHeader) {
    throw unauthorized('SIGNATURE_MISSING', {
      en: 'writes must carry x-client-id, webhook-id, webhook-timestamp and webhook-signature',
      zh: '写入请求须携带 x-client-id、webhook-id、webhook-timestamp 和 webhook-signature',
    });
  }
  const client = clients.get(clientId);
  const sm2Keys = client ? clients.sm2Keys(client.client_id) : [];
  if (!client || (client.signing_secrets.length === 0 && sm2Keys.length === 0))
    throw unauthorized('UNKNOWN_CLIENT', {
      en: 'unknown client or client without a signing secret or SM2 key',
      zh: '未知客户端或客户端未配置签名密钥或 SM2 公钥',
    });
  if (webhookId.length > 64 || !/^[\x21-\x7E]+$/.test(webhookId))
    throw unauthorized('BAD_WEBHOOK_ID', {
      en: 'webhook-id must be 1–64 printable ASCII characters',
      zh: 'webhook-id 应为 1–64 个可打印 ASCII 字符',
    });
  if (!/^\d{1,12}$/.test(ts) || Math.abs(nowMs / 1000 - Number(ts)) > TOLERANCE_SECONDS) {
    throw unauthorized('STALE_TIMESTAMP', {
      en: `webhook-timestamp must be Unix seconds within ±${TOLERANCE_SECONDS} s of the gateway's clock`,
      zh: `webhook-timestamp 应为与网关时钟相差不超过 ±${TOLERANCE_SECONDS} 秒的 Unix 秒数`,
    });
  }
  const expected = parseSignatureHeader(sigHeader);
  if (!expected.length)
    throw unauthorized('SIGNATURE_INVALID', {
      en: 'webhook-signature has no v1, v1sm3 or v1sm2 entry',
      zh: 'webhook-signature 中没有 v1、v1sm3 或 v1sm2 签名',
    });
  return {
    client,
    webhookId,
    verifier: new SignatureVerifier(client.signing_secrets, expected, webhookId, ts, sm2Keys),
  };
}

export function signatureMismatch() {
  return unauthorized('SIGNATURE_INVALID', {
    en: "no signature matches the body with any of the client's secrets",
    zh: '签名与请求体不符',
  });
}

/**
 * The end of a signed write's body: the signature must match (401), and the request now counts
 * against the client it proved (429 past its rate).
 */
export async function verifySignedWrite(signed: SignedWrite, res: Response): Promise<void> {
  if (!signed.verifier.verify()) throw signatureMismatch();
  await admitVerifiedClient(res, signed.client.client_id);
}

function bearerClient(req: Request, clients: ClientRegistry): Client {
  const auth = header(req, 'authorization');
  const m = auth ? /^Bearer ([\x21-\x7E]{8,512})$/.exec(auth) : null;
  const client = m ? clients.byToken(m[1]!) : undefined;
  if (!client)
    throw unauthorized('TOKEN_INVALID', {
      en: 'send Authorization: Bearer <token> with a token known to the gateway',
      zh: '请携带有效的 Authorization: Bearer <token>',
    });
  return client;
}

/** Bearer-token authentication for reads; sets `res.locals.client`. */
export function requireBearer(clients: ClientRegistry) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const client = bearerClient(req, clients);
    await admitVerifiedClient(res, client.client_id);
    res.locals.client = client;
    next();
  };
}

export interface OperatorAuthDeps {
  clients: ClientRegistry;
  db: Sql;
  now: () => number;
}

/** Operator actions carry small JSON bodies (a note, a run request, a subscriber). */
const OPERATOR_BODY_LIMIT = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Operator actions (spec §2: reconciliations, case handling, subscriber management) take either
 * credential: the Standard Webhooks signature headers, or the bearer token a console session rests
 * on. Signed: the raw body is read and verified before it is parsed, its webhook-id goes through the
 * same replay rule as the inbound messages' (recordWebhookId), and a JSON body is left parsed in
 * `req.body` (express.json after this finds the body read and keeps it). Either way
 * `res.locals.client` is set; the route's requireRole and scope checks follow as before.
 */
export function requireOperatorAuth(deps: OperatorAuthDeps, opts: { bodyLimit?: number } = {}) {
  const bearer = requireBearer(deps.clients);
  // A dispute carries its evidence (spec §10: up to 5 MiB of files, base64 in JSON): its route asks for more.
  const bodyLimit = opts.bodyLimit ?? OPERATOR_BODY_LIMIT;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (header(req, 'webhook-signature') === undefined) {
      if (
        header(req, 'authorization') === undefined &&
        header(req, 'x-client-id') === undefined &&
        header(req, 'webhook-id') === undefined
      ) {
        throw unauthorized('TOKEN_INVALID', {
          en: 'operator actions take the Standard Webhooks headers (x-client-id, webhook-id, webhook-timestamp, webhook-signature) or Authorization: Bearer <token>',
          zh: '运维操作须携带 Standard Webhooks 签名头（x-client-id、webhook-id、webhook-timestamp、webhook-signature）或 Authorization: Bearer <token>',
        });
      }
      if (header(req, 'authorization') !== undefined) return bearer(req, res, next);
      // x-client-id or webhook-id without a signature: a signed request gone wrong, and beginSigned says what is missing.
    }
    const signed = beginSigned(req, deps.clients, deps.now());
    let raw: Buffer;
    try {
      raw = await getRawBody(req, { limit: bodyLimit, length: req.headers['content-length'] });
    } catch (e) {
      if ((e as { type?: string }).type === 'entity.too.large') throw tooLarge(bodyLimit);
      throw badRequest({ en: 'the request body could not be read completely', zh: '请求体未能完整读取' });
    }
    signed.verifier.update(raw);
    await verifySignedWrite(signed, res);
    await recordWebhookId(deps.db, {
      clientId: signed.client.client_id,
      webhookId: signed.webhookId,
      bodySha256: sha256Hex(raw),
      rawBody: null,
      contentType: req.headers['content-type'] ?? '',
      bodyBytes: raw.length,
      requestId: res.locals.requestId,
      receivedAt: new Date(deps.now()),
    });
    req.body = raw.length && isJson(req) ? parseJsonBody(raw, langOf(req.headers['accept-language'])) : undefined;
    res.locals.client = signed.client;
    next();
  };
}

function isJson(req: Request): boolean {
  try {
    return contentType.parse(req.headers['content-type'] ?? '').type === 'application/json';
  } catch {
    return false;
  }
}

/** Strict, as every signed body (src/schemas/strict-json.ts): a member named twice or nesting past 64 levels is 422. */
function parseJsonBody(raw: Buffer, lang: Lang): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' });
  }
  const parsed = parseStrictJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, lang);
  if (parsed.ok) return parsed.value;
  if (!parsed.malformed) throw unprocessable([parsed.error]);
  const message = parsed.error.message;
  throw badRequest({ en: `malformed JSON: ${message}`, zh: `JSON 格式错误：${message}` }, [parsed.error]);
}

export function requireRole(...roles: Role[]) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const c = res.locals.client as Client;
    if (!roles.includes(c.role))
      return next(
        forbidden({
          en: `role ${c.role} may not do this (allowed: ${roles.join(', ')})`,
          zh: `角色 ${c.role} 无此权限（允许：${roles.join('、')}）`,
        }),
      );
    next();
  };
}

/** What a client may see: a filter the stores turn into SQL conditions. */
export interface ScopeFilter {
  insurer_codes?: string[];
  fixmedins_codes?: string[];
  admdvs_prefixes?: string[];
  /** The discrepancy codes a client may read (tax and finance: the premium chain's); absent: all. */
  codes?: string[];
}

/**
 * The roles that read the loop's data: settlements, their cases, runs and reports. `tax` and
 * `finance` (spec §8) are parties to the premium chain only — collections and transfers — so of a
 * region they read the premium chain's cases (PREMIUM_CHAIN_CODES) and their own messages, not the
 * people's settlements, the institutions' and insurers' cases or the reconciliation reports.
 */
export const LOOP_READERS: readonly Role[] = ['agency', 'ops', 'insurer', 'institution'];

/** The cases about what tax and finance send (spec §8): account-region-periods and collections. */
export const PREMIUM_CHAIN_CODES: readonly string[] = [
  'PREMIUM_TRANSFER_SHORT',
  'TRANSFER_UNFUNDED',
  'PREMIUM_RATE_MISMATCH',
];

/** Whether `c` may read a discrepancy of this code (scopeFilter's `codes`, for one case). */
export function readsCode(c: Client, code: string): boolean {
  const codes = scopeFilter(c).codes;
  return !codes || codes.includes(code);
}

export function scopeFilter(c: Client): ScopeFilter {
  switch (c.role) {
    case 'insurer':
      return { insurer_codes: c.scope };
    case 'institution':
      return { fixmedins_codes: c.scope };
    case 'agency':
      return { admdvs_prefixes: c.scope };
    case 'tax':
    case 'finance':
      return { admdvs_prefixes: c.scope, codes: [...PREMIUM_CHAIN_CODES] };
    default:
      return {};
  }
}

/** An operator action on a region (a run, a statement) outside the client's scope: 403 naming `/admdvs`. */
export function requireRegionInScope(c: Client, admdvs: string): void {
  if (inScope(c, { admdvs })) return;
  throw forbidden(
    {
      en: `region ${admdvs} is outside client ${c.client_id}'s scope`,
      zh: `统筹区 ${admdvs} 不在授权范围内`,
    },
    [{ path: '/admdvs', code: 'OUT_OF_SCOPE', message: 'outside your scope' }],
  );
}

/** Whether a record with these attributes is inside the client's scope. */
export function inScope(c: Client, rec: { insurer_code?: string; fixmedins_code?: string; admdvs?: string }): boolean {
  switch (c.role) {
    case 'ops':
      return true;
    case 'insurer':
      return rec.insurer_code !== undefined && c.scope.includes(rec.insurer_code);
    case 'institution':
      return rec.fixmedins_code !== undefined && c.scope.includes(rec.fixmedins_code);
    case 'agency':
    case 'tax':
    case 'finance':
      return rec.admdvs !== undefined && c.scope.some((p) => rec.admdvs!.startsWith(p));
  }
}
