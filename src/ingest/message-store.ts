/**
 * The message log: one row per accepted message, written in the same transaction as its parsed
 * rows and its outbox entry, so a 202 always means "committed and will be processed".
 */
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../db/db';
import { conflict, unauthorized } from '../http/problem';
import type { MessageKind, RowInsert } from './kinds';

export const INGEST_QUEUE = 'ingest';
/** Agency settlement feeds also go to the benefit audit (src/benefits), which works by person-year. */
export const BENEFITS_QUEUE = 'benefits';

export interface Envelope {
  clientId: string;
  webhookId: string;
  bodySha256: string;
  /** Kept in message_bodies (partitioned by month) for the raw-body retention period; null for the streamed feed (its records are kept row by row). */
  rawBody: Buffer | null;
  contentType: string;
  bodyBytes: number;
  requestId?: string;
  receivedAt: Date;
}

/**
 * Standard Webhooks replay protection: the same webhook-id from the same client within 24 h must
 * carry the same body (a retransmission); a different body is refused.
 */
export async function recordWebhookId(q: Sql, env: Envelope): Promise<void> {
  const ins = await q.query(
    `INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (client_id, webhook_id) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, seen_at = EXCLUDED.seen_at
       WHERE webhook_ids.seen_at < EXCLUDED.seen_at - interval '24 hours'
     RETURNING 1`,
    [env.clientId, env.webhookId, env.bodySha256, env.receivedAt],
  );
  if (ins.rowCount > 0) return;
  const { rows } = await q.query<{ body_sha256: string }>('SELECT body_sha256 FROM webhook_ids WHERE client_id = $1 AND webhook_id = $2', [env.clientId, env.webhookId]);
  if (rows[0] && rows[0].body_sha256 !== env.bodySha256) throw webhookReplayed();
}

export type InsertOutcome =
  | { inserted: true; message_id: string }
  | { inserted: false; message_id: string; content_sha256: string | null };

/** Insert the message and its outbox entry in one statement; on a business-key collision return the first. */
export async function insertMessage(q: Sql, env: Envelope, kind: MessageKind, businessKey: string | null, contentSha256: string | null, recordCount = 1, queues: string[] = [INGEST_QUEUE]): Promise<InsertOutcome> {
  const id = uuidv7();
  const { rows } = await q.query<{ message_id: string }>(
    `WITH m AS (
       INSERT INTO messages (message_id, kind, client_id, business_key, webhook_id, body_sha256, content_sha256, raw_body, content_type, body_bytes, record_count, received_at, request_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
       ON CONFLICT (kind, business_key) WHERE business_key IS NOT NULL DO NOTHING
       RETURNING message_id, kind),
     o AS (INSERT INTO outbox (message_id, queue, payload)
           SELECT message_id, qn, jsonb_build_object('message_id', message_id, 'kind', kind, 'request_id', $13::text) FROM m, unnest($14::text[]) AS qn)
     SELECT message_id FROM m`,
    [id, kind, env.clientId, businessKey, env.webhookId, env.bodySha256, contentSha256, env.rawBody, env.contentType, env.bodyBytes, recordCount, env.receivedAt, env.requestId ?? null, queues],
  );
  if (rows[0]) return { inserted: true, message_id: rows[0].message_id };
  const prev = await q.query<{ message_id: string; content_sha256: string | null }>(
    'SELECT message_id, content_sha256 FROM messages WHERE kind = $1 AND business_key = $2', [kind, businessKey],
  );
  const p = prev.rows[0]!;
  return { inserted: false, message_id: p.message_id, content_sha256: p.content_sha256 };
}

export type AcceptOutcome = InsertOutcome | { replayed: true };

/**
 * The whole write of a single-document message as ONE statement (so one round trip and atomic
 * without BEGIN/COMMIT): the webhook-id replay check, the message row, its outbox rows and its ledger
 * rows. Each ledger table's rows travel as one JSON parameter (jsonb_to_recordset). When the
 * webhook-id was used with another body in the last 24 h, or the business key exists, nothing is written.
 */
export async function acceptMessage(q: Sql, env: Envelope, kind: MessageKind, businessKey: string, contentSha256: string, inserts: RowInsert[], queues: string[] = [INGEST_QUEUE]): Promise<AcceptOutcome> {
  const id = uuidv7();
  const params: unknown[] = [id, kind, env.clientId, businessKey, env.webhookId, env.bodySha256, contentSha256, env.rawBody, env.contentType, env.bodyBytes, env.receivedAt, env.requestId ?? null, queues];
  const rowCtes = inserts.filter((ins) => ins.rows.length).map((ins, i) => {
    params.push(JSON.stringify(ins.rows));
    const cols = Object.keys(ins.columns);
    const def = cols.map((c) => `${c} ${ins.columns[c]}`).join(', ');
    return ins.withMessage
      ? `r${i} AS (INSERT INTO ${ins.table} (message_id, received_at, ${cols.join(', ')}) SELECT m.message_id, m.received_at, ${cols.map((c) => `x.${c}`).join(', ')} FROM m, jsonb_to_recordset($${params.length}::jsonb) AS x(${def}))`
      : `r${i} AS (INSERT INTO ${ins.table} (${cols.join(', ')}) SELECT ${cols.map((c) => `x.${c}`).join(', ')} FROM m, jsonb_to_recordset($${params.length}::jsonb) AS x(${def}))`;
  });
  const { rows } = await q.query<{ message_id: string | null; replayed: boolean }>(
    `WITH replay AS (
       SELECT 1 FROM webhook_ids WHERE client_id = $3 AND webhook_id = $5 AND body_sha256 <> $6 AND seen_at > $11::timestamptz - interval '24 hours'),
     w AS (
       INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) SELECT $3, $5, $6, $11 WHERE NOT EXISTS (SELECT 1 FROM replay)
       ON CONFLICT (client_id, webhook_id) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, seen_at = EXCLUDED.seen_at
         WHERE webhook_ids.seen_at < EXCLUDED.seen_at - interval '24 hours'),
     m AS (
       INSERT INTO messages (message_id, kind, client_id, business_key, webhook_id, body_sha256, content_sha256, raw_body, content_type, body_bytes, record_count, received_at, request_id)
       SELECT $1, $2, $3, $4, $5, $6, $7, NULL, $9, $10, 1, $11, $12 WHERE NOT EXISTS (SELECT 1 FROM replay)
       ON CONFLICT (kind, business_key) WHERE business_key IS NOT NULL DO NOTHING
       RETURNING message_id, kind, received_at),
     b AS (INSERT INTO message_bodies (message_id, received_at, raw_body) SELECT message_id, received_at, $8::bytea FROM m WHERE $8::bytea IS NOT NULL),
     o AS (INSERT INTO outbox (message_id, queue, payload)
           SELECT message_id, qn, jsonb_build_object('message_id', message_id, 'kind', kind, 'request_id', $12::text) FROM m, unnest($13::text[]) AS qn)
     ${rowCtes.map((c) => `, ${c}`).join('\n     ')}
     SELECT (SELECT message_id FROM m) AS message_id, EXISTS (SELECT 1 FROM replay) AS replayed`,
    params,
  );
  if (rows[0]!.replayed) return { replayed: true };
  if (rows[0]!.message_id) return { inserted: true, message_id: rows[0]!.message_id };
  const prev = await q.query<{ message_id: string; content_sha256: string | null }>(
    'SELECT message_id, content_sha256 FROM messages WHERE kind = $1 AND business_key = $2', [kind, businessKey],
  );
  const p = prev.rows[0];
  // The first message with this key may still be committing; its unique-index wait makes this rare.
  if (!p) throw new Error(`business key ${businessKey} collided but no message holds it`);
  return { inserted: false, message_id: p.message_id, content_sha256: p.content_sha256 };
}

export function webhookReplayed() {
  return unauthorized('WEBHOOK_ID_REPLAYED', { en: 'this webhook-id was used within the last 24 h with a different body', zh: '该 webhook-id 在 24 小时内已用于不同的请求体' });
}

/** 200 duplicate or 409 for a business key seen before. */
export function duplicateOrConflict(outcome: Extract<InsertOutcome, { inserted: false }>, contentSha256: string, businessKey: string) {
  if (outcome.content_sha256 === contentSha256) return { message_id: outcome.message_id, status: 'accepted' as const, duplicate: true as const };
  throw conflict(
    { en: `business key ${businessKey} was accepted before with a different body (message ${outcome.message_id})`, zh: `业务键 ${businessKey} 已以不同内容受理（消息 ${outcome.message_id}）` },
    { message_id: outcome.message_id },
  );
}

export interface MessageView {
  message_id: string; kind: string; status: string; received_at: Date; processed_at: Date | null; errors: unknown; client_id: string; record_count: number;
}

export async function getMessage(q: Sql, id: string): Promise<MessageView | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  const { rows } = await q.query<MessageView>(
    'SELECT message_id, kind, status, received_at, processed_at, errors, client_id, record_count FROM messages WHERE message_id = $1', [id],
  );
  return rows[0];
}
