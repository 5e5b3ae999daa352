/**
 * Subscribers (spec §6): an ops channel or an insurer's callback endpoint, with a format, a filter
 * and a Standard Webhooks signing secret. Created through the API or upserted from
 * `GATEWAY_SUBSCRIBERS_FILE` at start-up; deleted softly so the delivery log keeps naming them.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject } from 'ajv';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Db, Sql } from '../db/db';
import type { FieldError } from '../schemas/validator';
import type { Severity } from '../matching/rules';
import { toCstIso } from '../time';
import { createDestinationGuard, type DestinationGuard } from './destination-guard';
import { FORMATS, type Format } from './formats';

export interface SubscriberFilter {
  codes?: string[];
  severities?: Severity[];
  insurer_code?: string;
}

/** `v1`: HMAC of the subscriber's secret; `v1sm2` adds the gateway's SM2 signature (spec §9, key at GET /v1/keys). */
export type SignatureScheme = 'v1' | 'v1sm2';

export interface SubscriberInput {
  url: string;
  format: Format;
  filter: SubscriberFilter;
  enabled: boolean;
  description?: string;
  signature?: SignatureScheme;
  /** A DingTalk robot's 加签 secret (SEC…): each post's URL is signed with it (dingtalk-sign.ts). Never shown again. */
  robot_secret?: string;
}

export interface SubscriberRow {
  id: string;
  url: string;
  format: Format;
  filter: SubscriberFilter;
  secret: string;
  signature: SignatureScheme;
  owner_client_id: string | null;
  source: 'api' | 'file';
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  robot_secret: string | null;
}

const FILTER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    codes: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Z_]{3,40}$' },
    },
    severities: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['low', 'medium', 'high', 'critical'] },
    },
    insurer_code: { type: 'string', pattern: '^[A-Z0-9_]{2,20}$' },
  },
};
const SUBSCRIBER_SCHEMA = {
  type: 'object',
  required: ['url', 'format'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', minLength: 8, maxLength: 2000 },
    format: { enum: FORMATS },
    filter: FILTER_SCHEMA,
    enabled: { type: 'boolean' },
    description: { type: 'string', maxLength: 200 },
    signature: { enum: ['v1', 'v1sm2'] },
    // DingTalk shows the 加签 secret as `SEC` and 64 hex digits; a little room either way.
    robot_secret: { type: 'string', pattern: '^SEC[A-Za-z0-9]{16,200}$' },
  },
};
const FILE_SCHEMA = {
  type: 'array',
  items: {
    ...SUBSCRIBER_SCHEMA,
    required: ['id', 'url', 'format', 'secret'],
    properties: {
      ...SUBSCRIBER_SCHEMA.properties,
      // `sub_` is the API's namespace: a file entry can never overwrite an insurer's callback.
      id: { type: 'string', pattern: '^(?!sub_)[a-z0-9][a-z0-9_.-]{0,62}$' },
      secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]{32,}={0,2}$' },
    },
  },
};

const ajv = new Ajv2020({ allErrors: true });
const validateInput = ajv.compile(SUBSCRIBER_SCHEMA);
const validateFile = ajv.compile(FILE_SCHEMA);

function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const p = e.params as { missingProperty?: string; additionalProperty?: string };
    const extra = p.missingProperty ?? p.additionalProperty;
    return {
      path: extra ? `${e.instancePath}/${extra}` : e.instancePath || '/',
      code: e.keyword,
      message: e.message ?? 'invalid',
    };
  });
}

/**
 * http or https, no credentials in the URL (they would end up in logs and the delivery log), and a
 * host that is not a loopback, private or other special-use address unless ops allow it (SSRF; the
 * connect-time check in delivery-worker.ts covers names, which resolve only then).
 */
function urlErrors(url: unknown, path: string, guard: Pick<DestinationGuard, 'refusal'>): FieldError[] {
  if (typeof url !== 'string') return [];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [{ path, code: 'format', message: 'must be an absolute URL' }];
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return [{ path, code: 'format', message: 'must be an http or https URL' }];
  if (u.username || u.password)
    return [{ path, code: 'format', message: 'must not carry credentials; the signature authenticates the gateway' }];
  const refusal = guard.refusal(u);
  if (refusal) return [{ path, code: 'destination', message: `must point to a public address: ${refusal}` }];
  return [];
}

export function parseSubscriberInput(
  body: unknown,
  guard: Pick<DestinationGuard, 'refusal'>,
): { value?: SubscriberInput; errors: FieldError[] } {
  const errors = validateInput(body) ? [] : fieldErrors(validateInput.errors);
  errors.push(...urlErrors((body as { url?: unknown } | null)?.url, '/url', guard));
  errors.push(...robotSecretErrors(body, ''));
  if (errors.length) return { errors };
  const b = body as {
    url: string;
    format: Format;
    filter?: SubscriberFilter;
    enabled?: boolean;
    description?: string;
    signature?: SignatureScheme;
    robot_secret?: string;
  };
  return {
    value: {
      url: b.url,
      format: b.format,
      filter: b.filter ?? {},
      enabled: b.enabled ?? true,
      description: b.description,
      signature: b.signature ?? 'v1',
      ...(b.robot_secret ? { robot_secret: b.robot_secret } : {}),
    },
    errors,
  };
}

/** Only DingTalk robots have the 加签 setting; WeCom robots and JSON receivers are signed as before. */
function robotSecretErrors(entry: unknown, at: string): FieldError[] {
  const e = entry as { format?: unknown; robot_secret?: unknown } | null;
  return e && e.robot_secret !== undefined && e.format !== 'dingtalk'
    ? [
        {
          path: `${at}/robot_secret`,
          code: 'format',
          message: 'a robot secret is for DingTalk robots (format dingtalk) only',
        },
      ]
    : [];
}

export function newSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

/** Whether a case passes a subscriber's filter (absent parts of the filter match everything). */
export function matchesFilter(
  f: SubscriberFilter,
  d: { code: string; severity: string; insurer_code: string },
): boolean {
  if (f.codes && !f.codes.includes(d.code)) return false;
  if (f.severities && !(f.severities as string[]).includes(d.severity)) return false;
  if (f.insurer_code && f.insurer_code !== d.insurer_code) return false;
  return true;
}

export async function createSubscriber(
  q: Sql,
  input: SubscriberInput,
  owner: string | null,
  at: Date,
): Promise<SubscriberRow> {
  const { rows } = await q.query<SubscriberRow>(
    `INSERT INTO subscribers (id, url, format, filter, secret, owner_client_id, source, enabled, created_at, updated_at, signature, robot_secret)
     VALUES ($1,$2,$3,$4,$5,$6,'api',$7,$8,$8,$9,$10) RETURNING *`,
    [
      `sub_${crypto.randomUUID()}`,
      input.url,
      input.format,
      JSON.stringify(input.filter),
      newSecret(),
      owner,
      input.enabled,
      at,
      input.signature ?? 'v1',
      input.robot_secret ?? null,
    ],
  );
  return rows[0]!;
}

export async function listSubscribers(q: Sql, owner?: string): Promise<SubscriberRow[]> {
  const { rows } = await q.query<SubscriberRow>(
    `SELECT * FROM subscribers WHERE deleted_at IS NULL ${owner !== undefined ? 'AND owner_client_id = $1' : ''} ORDER BY created_at, id`,
    owner !== undefined ? [owner] : [],
  );
  return rows;
}

export async function getSubscriber(q: Sql, id: string): Promise<SubscriberRow | undefined> {
  const { rows } = await q.query<SubscriberRow>('SELECT * FROM subscribers WHERE id = $1 AND deleted_at IS NULL', [id]);
  return rows[0];
}

/** The enabled subscribers (not deleted), in id order. */
export async function enabledSubscribers(q: Sql): Promise<SubscriberRow[]> {
  const { rows } = await q.query<SubscriberRow>(
    'SELECT * FROM subscribers WHERE enabled AND deleted_at IS NULL ORDER BY id',
  );
  return rows;
}

/** The enabled subscribers whose filter the case passes. */
export async function matchingSubscribers(
  q: Sql,
  d: { code: string; severity: string; insurer_code: string },
): Promise<SubscriberRow[]> {
  return (await enabledSubscribers(q)).filter((s) => matchesFilter(s.filter, d));
}

/** Soft delete; deliveries not yet made are cancelled (nobody is listening for them any more). */
export async function deleteSubscriber(q: Sql, id: string, at: Date): Promise<boolean> {
  const r = await q.query(
    `UPDATE subscribers SET deleted_at = $2, enabled = false, disabled_reason = 'deleted', updated_at = $2 WHERE id = $1 AND deleted_at IS NULL`,
    [id, at],
  );
  if (!r.rowCount) return false;
  await cancelOpenDeliveries(q, id, 'subscriber deleted', at);
  return true;
}

export async function setSubscriberEnabled(
  q: Sql,
  id: string,
  enabled: boolean,
  reason: string | null,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE subscribers SET enabled = $2, disabled_reason = $3, disabled_at = CASE WHEN $2 THEN NULL ELSE $4::timestamptz END,
       failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END, updated_at = $4 WHERE id = $1`,
    [id, enabled, enabled ? null : reason, at],
  );
  if (!enabled) await cancelOpenDeliveries(q, id, reason ?? 'subscriber disabled', at);
}

async function cancelOpenDeliveries(q: Sql, subscriberId: string, reason: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE deliveries SET status = 'cancelled', last_error = $2, updated_at = $3 WHERE subscriber_id = $1 AND status IN ('pending','failed')`,
    [subscriberId, reason, at],
  );
}

/** The API form: never the secret (it is shown once, on create). */
export function subscriberView(s: SubscriberRow): Record<string, unknown> {
  return {
    id: s.id,
    url: s.url,
    format: s.format,
    filter: s.filter,
    enabled: s.enabled,
    source: s.source,
    signature: s.signature,
    ...(s.owner_client_id ? { owner_client_id: s.owner_client_id } : {}),
    ...(s.disabled_reason ? { disabled_reason: s.disabled_reason } : {}),
    ...(s.disabled_at ? { disabled_at: toCstIso(s.disabled_at) } : {}),
    ...(s.failing_since ? { failing_since: toCstIso(s.failing_since) } : {}),
    // Whether posts are signed for DingTalk's 加签, never the robot secret itself (like `secret`).
    ...(s.format === 'dingtalk' ? { robot_secret_set: s.robot_secret !== null } : {}),
    created_at: toCstIso(s.created_at),
    updated_at: toCstIso(s.updated_at),
  };
}

/**
 * Upsert the subscribers file. The file owns url, format, filter and secret; it can disable an
 * entry (`enabled: false`) but does not silently re-enable one the gateway disabled after a 410 or
 * days of failure — ops re-enable through the API once the receiver is fixed.
 */
export async function loadSubscribersFile(
  db: Db,
  file: string | undefined,
  at: Date,
  allowHosts: readonly string[] = [],
): Promise<number> {
  if (!file) return 0;
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`GATEWAY_SUBSCRIBERS_FILE ${file}: ${(e as Error).message}`, { cause: e });
  }
  const errors = validateFile(data) ? [] : fieldErrors(validateFile.errors);
  const guard = createDestinationGuard(allowHosts);
  (Array.isArray(data) ? data : []).forEach((s: { url?: unknown }, i) =>
    errors.push(...urlErrors(s?.url, `/${i}/url`, guard), ...robotSecretErrors(s, `/${i}`)),
  );
  if (errors.length)
    throw new Error(`GATEWAY_SUBSCRIBERS_FILE ${file}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  const list = data as (SubscriberInput & { id: string; secret: string; enabled?: boolean })[];
  await db.tx(async (q) => {
    for (const s of list) {
      await q.query(
        `INSERT INTO subscribers (id, url, format, filter, secret, source, enabled, disabled_reason, created_at, updated_at, signature, robot_secret)
         VALUES ($1,$2,$3,$4,$5,'file',$6,$7,$8,$8,$9,$10)
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, format = EXCLUDED.format, filter = EXCLUDED.filter, secret = EXCLUDED.secret, signature = EXCLUDED.signature,
           robot_secret = EXCLUDED.robot_secret,
           source = 'file', deleted_at = NULL, updated_at = EXCLUDED.updated_at,
           -- an entry deleted through the API and listed again in the file starts afresh
           enabled = CASE WHEN subscribers.deleted_at IS NOT NULL THEN EXCLUDED.enabled ELSE subscribers.enabled AND EXCLUDED.enabled END,
           disabled_reason = CASE WHEN NOT EXCLUDED.enabled THEN EXCLUDED.disabled_reason
                                  WHEN subscribers.deleted_at IS NOT NULL THEN NULL ELSE subscribers.disabled_reason END`,
        [
          s.id,
          s.url,
          s.format,
          JSON.stringify(s.filter ?? {}),
          s.secret,
          s.enabled ?? true,
          s.enabled === false ? 'disabled in the subscribers file' : null,
          at,
          s.signature ?? 'v1',
          s.robot_secret ?? null,
        ],
      );
    }
  });
  return list.length;
}
