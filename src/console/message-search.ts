/**
 * GET /v1/messages — search the message log (the console's "Messages" tab; also useful to any client
 * that lost a message_id).
 *
 * Query: `kind` (agency_settlements | agency_disbursement | settlement_batch | insurer_payment |
 * spending_plan | recovery), `status` (accepted | processing | processed | failed), `client_id`,
 * `from` / `to` (received_at ≥ from and < to; ISO 8601 with an offset or `yyyy-MM-dd HH:mm:ss` CST),
 * `limit` (1–1000, default 100), `cursor` (next_cursor of the previous page).
 * Answer: `{items: [{message_id, kind, client_id, status, received_at, processed_at?, record_count,
 * error_count}], next_cursor}`, newest first. Errors themselves are read one message at a time with
 * GET /v1/messages/{id}: a rejected feed can carry thousands of them.
 *
 * Scope: ops sees every client's messages; any other client only its own (a `client_id` naming
 * someone else gives an empty page, as filters outside a scope do for discrepancies).
 * The OpenAPI row for this endpoint is in src/openapi/endpoints.ts ("Reads added beyond the spec's list").
 */
import { Router, type Request } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { requireBearer } from '../http/auth';
import { badRequest } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { parseWireTime, toCstIso } from '../time';
import { searchMessageLog } from '../ingest/message-store';

const KINDS = [
  'agency_settlements',
  'agency_disbursement',
  'settlement_batch',
  'insurer_payment',
  'spending_plan',
  'recovery',
  'premium_collection',
  'fund_transfer',
  'insurer_cost_report',
];
const STATUSES = ['accepted', 'processing', 'processed', 'failed'];
const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface MessageSearch {
  kind?: string;
  status?: string;
  client_id?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset position: the received_at (µs text, UTC) and message_id of the last row of the previous page. */
  after?: { at: string; id: string };
}

function one(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parseMessageSearch(req: Request): MessageSearch {
  const errors: FieldError[] = [];
  const s: MessageSearch = { limit: 100 };
  for (const name of ['kind', 'status', 'client_id', 'from', 'to', 'limit', 'cursor']) {
    if (Array.isArray(req.query[name]))
      errors.push({ path: `?${name}`, code: 'type', message: 'give the parameter once' });
  }
  const kind = one(req, 'kind'),
    status = one(req, 'status'),
    clientId = one(req, 'client_id');
  if (kind !== undefined) {
    if (KINDS.includes(kind)) s.kind = kind;
    else errors.push({ path: '?kind', code: 'enum', message: `must be one of ${KINDS.join(', ')}` });
  }
  if (status !== undefined) {
    if (STATUSES.includes(status)) s.status = status;
    else errors.push({ path: '?status', code: 'enum', message: `must be one of ${STATUSES.join(', ')}` });
  }
  if (clientId !== undefined) {
    if (CLIENT_ID.test(clientId)) s.client_id = clientId;
    else errors.push({ path: '?client_id', code: 'pattern', message: `must match ${CLIENT_ID.source}` });
  }
  for (const k of ['from', 'to'] as const) {
    const v = one(req, k);
    if (v === undefined) continue;
    const t = parseWireTime(v);
    if (t) s[k] = t;
    else
      errors.push({
        path: `?${k}`,
        code: 'format',
        message: 'must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss (China Standard Time)',
      });
  }
  const rawLimit = one(req, 'limit');
  if (rawLimit !== undefined) {
    const n = Number(rawLimit);
    if (Number.isInteger(n) && n >= 1 && n <= 1000) s.limit = n;
    else errors.push({ path: '?limit', code: 'range', message: 'must be a whole number from 1 to 1000' });
  }
  const cursor = one(req, 'cursor');
  if (cursor !== undefined) {
    const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
    if (at && id && UUID.test(id) && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/.test(at)) s.after = { at, id };
    else errors.push({ path: '?cursor', code: 'cursor', message: 'not a cursor this API returned' });
  }
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return s;
}

export async function searchMessages(
  db: Db,
  s: MessageSearch,
  caller: Client,
): Promise<{ items: Record<string, unknown>[]; next_cursor: string | null }> {
  const rows = await searchMessageLog(
    db,
    {
      ...(caller.role !== 'ops' ? { own_client_id: caller.client_id } : {}),
      client_id: s.client_id,
      kind: s.kind,
      status: s.status,
      from: s.from,
      to: s.to,
      after: s.after,
    },
    s.limit + 1,
  );
  const more = rows.length > s.limit;
  const page = more ? rows.slice(0, s.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map((m) => ({
      message_id: m.message_id,
      kind: m.kind,
      client_id: m.client_id,
      status: m.status,
      received_at: toCstIso(m.received_at),
      ...(m.processed_at ? { processed_at: toCstIso(m.processed_at) } : {}),
      record_count: Number(m.record_count),
      error_count: Number(m.error_count),
    })),
    next_cursor: more && last ? Buffer.from(`${last.at_key}|${last.message_id}`).toString('base64url') : null,
  };
}

export function messageSearchRouter(deps: { db: Db; clients: ClientRegistry }): Router {
  const r = Router();
  r.get('/v1/messages', requireBearer(deps.clients), async (req, res) => {
    res.json(await searchMessages(deps.db, parseMessageSearch(req), res.locals.client as Client));
  });
  return r;
}
