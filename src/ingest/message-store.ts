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

/**
 * `same_client`: whether the message already holding the business key was sent by the same client
 * (a 409 shows its message_id only then: another client's ids are never shown, issue 13).
 */
export type InsertOutcome =
  | { inserted: true; message_id: string }
  | { inserted: false; message_id: string; content_sha256: string | null; same_client: boolean };

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
  const prev = await q.query<{ message_id: string; content_sha256: string | null; client_id: string }>(
    'SELECT message_id, content_sha256, client_id FROM messages WHERE kind = $1 AND business_key = $2', [kind, businessKey],
  );
  const p = prev.rows[0]!;
  return { inserted: false, message_id: p.message_id, content_sha256: p.content_sha256, same_client: p.client_id === env.clientId };
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
  const prev = await q.query<{ message_id: string; content_sha256: string | null; client_id: string }>(
    'SELECT message_id, content_sha256, client_id FROM messages WHERE kind = $1 AND business_key = $2', [kind, businessKey],
  );
  const p = prev.rows[0];
  // The first message with this key may still be committing; its unique-index wait makes this rare.
  if (!p) throw new Error(`business key ${businessKey} collided but no message holds it`);
  return { inserted: false, message_id: p.message_id, content_sha256: p.content_sha256, same_client: p.client_id === env.clientId };
}

/** One message of a group for acceptMessages: what acceptMessage takes, one message at a time. */
export interface AcceptItem { env: Envelope; businessKey: string; contentSha256: string; inserts: RowInsert[] }

const INPUT_COLUMNS = 'i int, message_id uuid, client_id text, webhook_id text, body_sha256 text, content_sha256 text, business_key text, '
  + 'content_type text, body_bytes int, received_at timestamptz, request_id text, body_off int, body_len int';

/**
 * Group commit: acceptMessage for several messages of one kind as ONE statement, so one round trip,
 * one plan and one commit (one WAL flush) serve them all. Each message gets the outcome it would get
 * from acceptMessage alone; the caller (group-commit.ts) never puts two messages with the same
 * webhook-id or business key into one group, so no message of a group can collide with another.
 * The replay check is a LATERAL index probe per message whatever the planner thinks of the tables' sizes.
 * Outcomes are in the order of `items`; an Error stands for a message whose key collided with a message
 * that could not be read back (acceptMessage throws the same error).
 */
export async function acceptMessages(q: Sql, kind: MessageKind, items: AcceptItem[], queues: string[] = [INGEST_QUEUE]): Promise<(AcceptOutcome | Error)[]> {
  const bodies: Buffer[] = [];
  let off = 0;
  const input = items.map((it, i) => {
    const raw = it.env.rawBody;
    const at = raw ? off : null;
    if (raw) { bodies.push(raw); off += raw.length; }
    return {
      i, message_id: uuidv7(), client_id: it.env.clientId, webhook_id: it.env.webhookId, body_sha256: it.env.bodySha256, content_sha256: it.contentSha256,
      business_key: it.businessKey, content_type: it.env.contentType, body_bytes: it.env.bodyBytes, received_at: it.env.receivedAt, request_id: it.env.requestId ?? null,
      body_off: at, body_len: raw ? raw.length : null,
    };
  });
  const params: unknown[] = [JSON.stringify(input), Buffer.concat(bodies), kind, queues];
  // Every message of a kind has the same ledger tables in the same order (KindSpec.rows). Each
  // table's rows travel as one JSON parameter: an array holding, at each message's index, the
  // array of its rows.
  const rowCtes = items[0]!.inserts.map((ins, t) => {
    const perMessage = items.map((it) => {
      const own = it.inserts[t];
      if (!own || own.table !== ins.table) throw new Error(`acceptMessages: messages of kind ${kind} differ in their ledger tables`);
      return own.rows;
    });
    if (!perMessage.some((r) => r.length)) return undefined;
    params.push(`[${perMessage.map((r) => JSON.stringify(r)).join(',')}]`);
    const cols = Object.keys(ins.columns);
    const def = cols.map((c) => `${c} ${ins.columns[c]}`).join(', ');
    const source = `FROM m JOIN x ON x.message_id = m.message_id CROSS JOIN LATERAL jsonb_to_recordset(($${params.length}::jsonb) -> x.i) AS y(${def})`;
    return ins.withMessage
      ? `r${t} AS (INSERT INTO ${ins.table} (message_id, received_at, ${cols.join(', ')}) SELECT m.message_id, m.received_at, ${cols.map((c) => `y.${c}`).join(', ')} ${source})`
      : `r${t} AS (INSERT INTO ${ins.table} (${cols.join(', ')}) SELECT ${cols.map((c) => `y.${c}`).join(', ')} ${source})`;
  }).filter((c): c is string => c !== undefined);
  const { rows } = await q.query<{ i: number; replayed: boolean; message_id: string | null }>(
    `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${INPUT_COLUMNS})),
     replay AS (
       SELECT x.i FROM x JOIN LATERAL (
         SELECT 1 FROM webhook_ids w WHERE w.client_id = x.client_id AND w.webhook_id = x.webhook_id
            AND w.body_sha256 <> x.body_sha256 AND w.seen_at > x.received_at - interval '24 hours' LIMIT 1) hit ON true),
     ok AS (SELECT x.* FROM x WHERE x.i NOT IN (SELECT i FROM replay)),
     w AS (
       INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) SELECT client_id, webhook_id, body_sha256, received_at FROM ok ORDER BY i
       ON CONFLICT (client_id, webhook_id) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, seen_at = EXCLUDED.seen_at
         WHERE webhook_ids.seen_at < EXCLUDED.seen_at - interval '24 hours'),
     m AS (
       INSERT INTO messages (message_id, kind, client_id, business_key, webhook_id, body_sha256, content_sha256, raw_body, content_type, body_bytes, record_count, received_at, request_id)
       SELECT message_id, $3, client_id, business_key, webhook_id, body_sha256, content_sha256, NULL, content_type, body_bytes, 1, received_at, request_id FROM ok ORDER BY i
       ON CONFLICT (kind, business_key) WHERE business_key IS NOT NULL DO NOTHING
       RETURNING message_id, kind, received_at, request_id),
     b AS (INSERT INTO message_bodies (message_id, received_at, raw_body)
           SELECT m.message_id, m.received_at, substring($2::bytea FROM x.body_off + 1 FOR x.body_len) FROM m JOIN x ON x.message_id = m.message_id WHERE x.body_len IS NOT NULL),
     o AS (INSERT INTO outbox (message_id, queue, payload)
           SELECT m.message_id, qn.name, jsonb_build_object('message_id', m.message_id, 'kind', m.kind, 'request_id', m.request_id)
             FROM m JOIN x ON x.message_id = m.message_id, unnest($4::text[]) WITH ORDINALITY AS qn(name, ord) ORDER BY x.i, qn.ord)
     ${rowCtes.map((c) => `, ${c}`).join('\n     ')}
     SELECT x.i, x.i IN (SELECT i FROM replay) AS replayed, m.message_id FROM x LEFT JOIN m ON m.message_id = x.message_id`,
    params,
  );
  const out: (AcceptOutcome | Error)[] = new Array(items.length);
  const taken: number[] = [];
  for (const r of rows) {
    if (r.replayed) out[r.i] = { replayed: true };
    else if (r.message_id) out[r.i] = { inserted: true, message_id: r.message_id };
    else taken.push(r.i);
  }
  if (taken.length) {
    const prev = await q.query<{ business_key: string; message_id: string; content_sha256: string | null; client_id: string }>(
      'SELECT business_key, message_id, content_sha256, client_id FROM messages WHERE kind = $1 AND business_key = ANY($2::text[])', [kind, taken.map((i) => items[i]!.businessKey)],
    );
    const byKey = new Map(prev.rows.map((p) => [p.business_key, p]));
    for (const i of taken) {
      const key = items[i]!.businessKey;
      const p = byKey.get(key);
      out[i] = p ? { inserted: false, message_id: p.message_id, content_sha256: p.content_sha256, same_client: p.client_id === items[i]!.env.clientId } : new Error(`business key ${key} collided but no message holds it`);
    }
  }
  return out;
}

export function webhookReplayed() {
  return unauthorized('WEBHOOK_ID_REPLAYED', { en: 'this webhook-id was used within the last 24 h with a different body', zh: '该 webhook-id 在 24 小时内已用于不同的请求体' });
}

/**
 * 200 duplicate or 409 for a business key seen before. The 409 names the first message only to the
 * client that sent it: to another client (a second system of the same institution or insurer) it
 * says that the key is taken and nothing else.
 */
export function duplicateOrConflict(outcome: Extract<InsertOutcome, { inserted: false }>, contentSha256: string, businessKey: string) {
  if (outcome.content_sha256 === contentSha256) return { message_id: outcome.message_id, status: 'accepted' as const, duplicate: true as const };
  if (!outcome.same_client) {
    throw conflict({ en: `business key ${businessKey} was accepted before with a different body`, zh: `业务键 ${businessKey} 已以不同内容受理` });
  }
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
