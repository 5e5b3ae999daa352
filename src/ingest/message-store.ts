/**
 * The message log: the only module that sends SQL to `messages`, `message_bodies` (and its monthly
 * partitions) and `webhook_ids`. A message is written one way, `appendMessages`, in the transaction
 * that also writes its ledger rows and its outbox jobs (src/ingest/accept-messages.ts, the agency
 * feed and the agency pull), so a 202 always means "committed and will be processed". This module
 * runs SQL only: the HTTP answers its outcomes turn into are in message-problems.ts.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Db, Sql } from '../db/db';
import { enqueueMessageJobsCte } from '../queue/outbox';

/** The kinds of message the log holds (spec §3): the agency's feed and the five single documents (kinds.ts). */
export type MessageKind =
  | 'agency_settlements'
  | 'agency_disbursement'
  | 'settlement_batch'
  | 'insurer_payment'
  | 'spending_plan'
  | 'recovery'
  | 'premium_collection'
  | 'fund_transfer'
  | 'insurer_cost_report';

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

/** One message for appendMessages. */
export interface NewMessage {
  env: Envelope;
  /** The kind's business key (spec §3 idempotency); null for a feed, which has none. */
  businessKey: string | null;
  contentSha256: string | null;
  /** Records it holds: 1 for a document; 0 for a feed until its records are stored (finishMessage). */
  recordCount: number;
  /**
   * Check env.webhookId against a replay and record it in the same statement. false for a feed,
   * whose body hash is known only once it is read (noteWebhookId then).
   */
  checkWebhookId: boolean;
}

/**
 * `same_client`: whether the message already holding the business key was sent by the same client
 * (a 409 shows its message_id only then: another client's ids are never shown, issue 13).
 */
export type InsertOutcome =
  | { inserted: true; message_id: string }
  | { inserted: false; message_id: string; content_sha256: string | null; same_client: boolean };

/** `replayed`: the webhook-id was used in the last 24 h with another body; nothing was written. */
export type AcceptOutcome = InsertOutcome | { replayed: true };

const INPUT_COLUMNS =
  'i int, message_id uuid, client_id text, webhook_id text, body_sha256 text, content_sha256 text, business_key text, ' +
  'content_type text, body_bytes int, record_count int, received_at timestamptz, request_id text, check_webhook boolean, body_off int, body_len int';

/**
 * Append messages of one kind to the log as ONE statement (one round trip, one plan, whatever the
 * number): per message the Standard Webhooks replay check (`checkWebhookId`), the webhook-id, the
 * message row and its raw body. Each message gets the outcome it would get alone; the caller never
 * puts two messages with the same webhook-id or business key into one call (group-commit.ts), so no
 * message can collide with another of the same call. The messages stored get their jobs on `queues`
 * in the same statement (queue/outbox.ts enqueueMessageJobsCte). The replay check is a LATERAL index probe per
 * message whatever the planner thinks of the tables' sizes. Outcomes are in the order of `items`;
 * an Error stands for a message whose business key collided with a message that could not be read
 * back (the first may still be committing; its unique-index wait makes this rare).
 */
export async function appendMessages(
  q: Sql,
  kind: MessageKind,
  items: readonly NewMessage[],
  queues: readonly string[] = [],
): Promise<(AcceptOutcome | Error)[]> {
  const bodies: Buffer[] = [];
  let off = 0;
  const input = items.map((it, i) => {
    const raw = it.env.rawBody;
    const at = raw ? off : null;
    if (raw) {
      bodies.push(raw);
      off += raw.length;
    }
    return {
      i,
      message_id: uuidv7(),
      client_id: it.env.clientId,
      webhook_id: it.env.webhookId,
      body_sha256: it.env.bodySha256,
      content_sha256: it.contentSha256,
      business_key: it.businessKey,
      content_type: it.env.contentType,
      body_bytes: it.env.bodyBytes,
      record_count: it.recordCount,
      received_at: it.env.receivedAt,
      request_id: it.env.requestId ?? null,
      check_webhook: it.checkWebhookId,
      body_off: at,
      body_len: raw ? raw.length : null,
    };
  });
  const { rows } = await q.query<{ i: number; replayed: boolean; message_id: string | null }>(
    `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${INPUT_COLUMNS})),
     replay AS (
       SELECT x.i FROM x JOIN LATERAL (
         SELECT 1 FROM webhook_ids w WHERE w.client_id = x.client_id AND w.webhook_id = x.webhook_id
            AND w.body_sha256 <> x.body_sha256 AND w.seen_at > x.received_at - interval '24 hours' LIMIT 1) hit ON true
        WHERE x.check_webhook),
     ok AS (SELECT x.* FROM x WHERE x.i NOT IN (SELECT i FROM replay)),
     w AS (
       INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) SELECT client_id, webhook_id, body_sha256, received_at FROM ok WHERE check_webhook ORDER BY i
       ON CONFLICT (client_id, webhook_id) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, seen_at = EXCLUDED.seen_at
         WHERE webhook_ids.seen_at < EXCLUDED.seen_at - interval '24 hours'),
     m AS (
       INSERT INTO messages (message_id, kind, client_id, business_key, webhook_id, body_sha256, content_sha256, raw_body, content_type, body_bytes, record_count, received_at, request_id)
       SELECT message_id, $3, client_id, business_key, webhook_id, body_sha256, content_sha256, NULL, content_type, body_bytes, record_count, received_at, request_id FROM ok ORDER BY i
       ON CONFLICT (kind, business_key) WHERE business_key IS NOT NULL DO NOTHING
       RETURNING message_id, received_at),
     b AS (INSERT INTO message_bodies (message_id, received_at, raw_body)
           SELECT m.message_id, m.received_at, substring($2::bytea FROM x.body_off + 1 FOR x.body_len) FROM m JOIN x ON x.message_id = m.message_id WHERE x.body_len IS NOT NULL),
     stored AS (SELECT m.message_id, $3::text AS kind, x.request_id, x.i AS ord FROM m JOIN x ON x.message_id = m.message_id),
     ${enqueueMessageJobsCte('stored', '$4')}
     SELECT x.i, x.i IN (SELECT i FROM replay) AS replayed, m.message_id FROM x LEFT JOIN m ON m.message_id = x.message_id`,
    [JSON.stringify(input), Buffer.concat(bodies), kind, queues],
  );
  const out: (AcceptOutcome | Error)[] = new Array(items.length);
  const taken: number[] = [];
  for (const r of rows) {
    if (r.replayed) out[r.i] = { replayed: true };
    else if (r.message_id) out[r.i] = { inserted: true, message_id: r.message_id };
    else taken.push(r.i);
  }
  if (taken.length) {
    const prev = await q.query<{
      business_key: string;
      message_id: string;
      content_sha256: string | null;
      client_id: string;
    }>(
      'SELECT business_key, message_id, content_sha256, client_id FROM messages WHERE kind = $1 AND business_key = ANY($2::text[])',
      [kind, taken.map((i) => items[i]!.businessKey)],
    );
    const byKey = new Map(prev.rows.map((p) => [p.business_key, p]));
    for (const i of taken) {
      const key = items[i]!.businessKey;
      const p = byKey.get(key!);
      out[i] = p
        ? {
            inserted: false,
            message_id: p.message_id,
            content_sha256: p.content_sha256,
            same_client: p.client_id === items[i]!.env.clientId,
          }
        : new Error(`business key ${key} collided but no message holds it`);
    }
  }
  return out;
}

/** A single-document message (spec §3): one record, its webhook-id checked and recorded with it. */
export interface AcceptItem {
  env: Envelope;
  businessKey: string;
  contentSha256: string;
}

const asDocument = (it: AcceptItem): NewMessage => ({
  env: it.env,
  businessKey: it.businessKey,
  contentSha256: it.contentSha256,
  recordCount: 1,
  checkWebhookId: true,
});

/** appendMessages for single-document messages of one kind (group commit), their jobs on `queues`. */
export function acceptMessages(
  q: Sql,
  kind: MessageKind,
  items: readonly AcceptItem[],
  queues: readonly string[] = [],
): Promise<(AcceptOutcome | Error)[]> {
  return appendMessages(q, kind, items.map(asDocument), queues);
}

/** appendMessages for one single-document message; throws the Error appendMessages would return. */
export async function acceptMessage(
  q: Sql,
  env: Envelope,
  kind: MessageKind,
  businessKey: string,
  contentSha256: string,
  queues: readonly string[] = [],
): Promise<AcceptOutcome> {
  const [out] = await appendMessages(q, kind, [asDocument({ env, businessKey, contentSha256 })], queues);
  if (out instanceof Error) throw out;
  return out!;
}

/**
 * A feed's message (the agency's push, spec §3, and the agency pull): no business key, its records
 * counted once stored (finishMessage), its webhook-id recorded once its body is read (noteWebhookId).
 */
export async function insertFeedMessage(q: Sql, env: Envelope): Promise<string> {
  const [out] = await appendMessages(q, 'agency_settlements', [
    { env, businessKey: null, contentSha256: null, recordCount: 0, checkWebhookId: false },
  ]);
  if (!out || out instanceof Error || !('inserted' in out) || !out.inserted)
    throw new Error('a feed message has no business key and is always stored');
  return out.message_id;
}

/**
 * Standard Webhooks replay protection on its own (a feed once its body is read, an operator action):
 * the same webhook-id from the same client within 24 h must carry the same body (a retransmission).
 * Records it and returns true, or returns false when it was used with a different body.
 */
export async function noteWebhookId(
  q: Sql,
  env: Pick<Envelope, 'clientId' | 'webhookId' | 'bodySha256' | 'receivedAt'>,
): Promise<boolean> {
  const ins = await q.query(
    `INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (client_id, webhook_id) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, seen_at = EXCLUDED.seen_at
       WHERE webhook_ids.seen_at < EXCLUDED.seen_at - interval '24 hours'
     RETURNING 1`,
    [env.clientId, env.webhookId, env.bodySha256, env.receivedAt],
  );
  if (ins.rowCount > 0) return true;
  const { rows } = await q.query<{ body_sha256: string }>(
    'SELECT body_sha256 FROM webhook_ids WHERE client_id = $1 AND webhook_id = $2',
    [env.clientId, env.webhookId],
  );
  return !(rows[0] && rows[0].body_sha256 !== env.bodySha256);
}

/** What a feed learns once its records are stored: how many, and (streamed) its size and hash, or the records it refused. */
export async function finishMessage(
  q: Sql,
  messageId: string,
  f: { recordCount: number; bodyBytes?: number; bodySha256?: string; errors?: unknown },
): Promise<void> {
  await q.query(
    `UPDATE messages SET record_count = $2, body_bytes = coalesce($3, body_bytes), body_sha256 = coalesce($4, body_sha256),
            errors = CASE WHEN $5::boolean THEN $6::jsonb ELSE errors END WHERE message_id = $1`,
    [
      messageId,
      f.recordCount,
      f.bodyBytes ?? null,
      f.bodySha256 ?? null,
      f.errors !== undefined,
      f.errors === undefined || f.errors === null ? null : JSON.stringify(f.errors),
    ],
  );
}

/** Remove a message written in the caller's transaction that turned out to hold nothing to process. */
export async function deleteMessage(q: Sql, messageId: string): Promise<void> {
  await q.query('DELETE FROM messages WHERE message_id = $1', [messageId]);
}

export interface MessageView {
  message_id: string;
  kind: string;
  status: string;
  received_at: Date;
  processed_at: Date | null;
  errors: unknown;
  client_id: string;
  record_count: number;
}

export async function getMessage(q: Sql, id: string): Promise<MessageView | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  const { rows } = await q.query<MessageView>(
    'SELECT message_id, kind, status, received_at, processed_at, errors, client_id, record_count FROM messages WHERE message_id = $1',
    [id],
  );
  return rows[0];
}

// ---- Processing status (the ingest worker) -------------------------------------------------------

export interface StoredMessage {
  message_id: string;
  kind: MessageKind;
  status: string;
  received_at: Date;
  request_id: string | null;
}

/**
 * One statement: the rows of `ids`, and the ones not yet processed marked 'processing'. Its commit
 * does not wait for the WAL flush (synchronous_commit off, for this statement's transaction): a
 * 'processing' lost in a crash leaves the message 'accepted', which is applied all the same, and the
 * flush was a disk sync on every batch's way to its loops.
 */
export async function claimMessages(q: Sql, ids: readonly string[]): Promise<StoredMessage[]> {
  const { rows } = await q.query<StoredMessage>(
    `WITH m AS (SELECT message_id, kind, status, received_at, request_id FROM messages WHERE message_id = ANY($1::uuid[])),
          u AS (UPDATE messages SET status = 'processing' WHERE message_id IN (SELECT message_id FROM m WHERE status <> 'processed') AND status <> 'processed'
                  AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off')
     SELECT * FROM m`,
    [ids],
  );
  return rows;
}

/**
 * processed_at is the statement's time, not the transaction's start (now()): a handler marks its
 * messages in its last transaction, just before the commit that makes the loops visible.
 */
export async function markProcessed(q: Sql, ids: readonly string[]): Promise<void> {
  await q.query(
    `UPDATE messages SET status = 'processed', processed_at = clock_timestamp(), errors = NULL WHERE message_id = ANY($1::uuid[])`,
    [ids],
  );
}

/** A message that failed for good (unless it was processed meanwhile). */
export async function markFailed(q: Sql, messageId: string, errors: unknown): Promise<void> {
  await q.query(`UPDATE messages SET status = 'failed', errors = $2 WHERE message_id = $1 AND status <> 'processed'`, [
    messageId,
    JSON.stringify(errors),
  ]);
}

/** Accepted or processing (the index messages_unmatched, less its few failed rows), in message_id order after `after`: the relay re-queues the stuck ones. */
export async function unfinishedMessageIds(q: Sql, after: string | null, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ message_id: string }>(
    `SELECT message_id FROM messages WHERE status IN ('accepted','processing') AND ($1::uuid IS NULL OR message_id > $1::uuid) ORDER BY message_id LIMIT $2`,
    [after, limit],
  );
  return rows.map((r) => r.message_id);
}

/** Every message whose facts matching may not have applied yet: status other than 'processed' (the index messages_unmatched, migration 080). */
export async function unmatchedMessageIds(q: Sql): Promise<string[]> {
  const { rows } = await q.query<{ message_id: string }>(`SELECT message_id FROM messages WHERE status <> 'processed'`);
  return rows.map((r) => r.message_id);
}

/** Messages accepted or being processed (the demo waits for none). */
export async function countUnfinished(q: Sql): Promise<number> {
  const { rows } = await q.query<{ n: string }>(
    `SELECT count(*) AS n FROM messages WHERE status IN ('accepted','processing')`,
  );
  return Number(rows[0]!.n);
}

// ---- Search (GET /v1/messages) -------------------------------------------------------------------

export interface MessageLogFilter {
  /** Only this client's messages (a caller other than ops). */
  own_client_id?: string;
  client_id?: string;
  kind?: string;
  status?: string;
  from?: Date;
  to?: Date;
  /** Keyset: rows before (received_at as UTC text to the microsecond, message_id). */
  after?: { at: string; id: string };
}

export interface MessageLogRow {
  message_id: string;
  kind: string;
  client_id: string;
  status: string;
  received_at: Date;
  processed_at: Date | null;
  record_count: number;
  error_count: number;
  /** received_at in UTC to the microsecond, as text: the cursor key (paging never skips or repeats a row). */
  at_key: string;
}

/** Newest first, at most `limit` rows. */
export async function searchMessageLog(q: Sql, f: MessageLogFilter, limit: number): Promise<MessageLogRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (f.own_client_id !== undefined) add((p) => `client_id = ${p}`, f.own_client_id);
  if (f.client_id) add((p) => `client_id = ${p}`, f.client_id);
  if (f.kind) add((p) => `kind = ${p}`, f.kind);
  if (f.status) add((p) => `status = ${p}`, f.status);
  if (f.from) add((p) => `received_at >= ${p}`, f.from);
  if (f.to) add((p) => `received_at < ${p}`, f.to);
  if (f.after) {
    params.push(f.after.at, f.after.id);
    where.push(
      `(received_at, message_id) < (($${params.length - 1}::timestamp AT TIME ZONE 'UTC'), $${params.length}::uuid)`,
    );
  }
  params.push(limit);
  const { rows } = await q.query<MessageLogRow>(
    `SELECT message_id, kind, client_id, status, received_at, processed_at, record_count,
            CASE WHEN jsonb_typeof(errors) = 'array' THEN jsonb_array_length(errors) WHEN errors IS NULL THEN 0 ELSE 1 END AS error_count,
            to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at_key
       FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY received_at DESC, message_id DESC LIMIT $${params.length}`,
    params,
  );
  return rows;
}

// ---- Raw-body partitions and the purge (src/lifecycle) ------------------------------------------

/** Months created ahead of the month of `at` (the month before it is created too). */
export const MONTHS_AHEAD = 3;

/**
 * Monthly partitions of `message_bodies` (migration 060): created ahead by a maintenance function in
 * the database, so a month's raw bodies always land in their own partition and can be dropped whole.
 * Creates them from the month before `at` to MONTHS_AHEAD months after it; returns how many were new.
 */
export async function ensureBodyPartitions(q: Sql, at: Date, monthsAhead = MONTHS_AHEAD): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT message_bodies_ensure_partitions($1, $2) AS n', [
    at,
    monthsAhead,
  ]);
  return Number(rows[0]?.n ?? 0);
}

export interface BodyPartition {
  name: string;
  from: Date;
  to: Date;
}

/** The monthly partitions of message_bodies with their bounds (the default partition is not listed). */
export async function listBodyPartitions(q: Sql): Promise<BodyPartition[]> {
  const { rows } = await q.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'message_bodies'::regclass ORDER BY c.relname`,
  );
  const out: BodyPartition[] = [];
  for (const r of rows) {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound);
    if (m) out.push({ name: r.name, from: new Date(m[1]!), to: new Date(m[2]!) });
  }
  return out;
}

export interface MessageLogPurge {
  /** Monthly partitions of message_bodies dropped (or that would be), with their row counts. */
  droppedPartitions: { name: string; from: string; to: string; rows: number }[];
  /** Expired raw bodies removed from the default partition. */
  defaultPartitionRows: number;
  webhookIds: number;
}

/**
 * `gateway purge`, the message log's part (never the messages themselves): whole monthly partitions
 * of raw bodies whose upper bound is before `bodyCutoff` are DETACHed and DROPped (no long DELETE
 * blocking live traffic); the expired raw bodies of the default partition and webhook ids seen
 * before `webhookCutoff` go in batches of `batch`, each its own short statement, at most `maxBatches`.
 * `dryRun` counts and changes nothing.
 */
export async function purgeMessageLog(
  db: Db,
  o: { bodyCutoff: Date; webhookCutoff: Date; dryRun: boolean; batch: number; maxBatches: number },
): Promise<MessageLogPurge> {
  const out: MessageLogPurge = { droppedPartitions: [], defaultPartitionRows: 0, webhookIds: 0 };
  for (const p of await listBodyPartitions(db)) {
    if (p.to.getTime() > o.bodyCutoff.getTime()) continue;
    const n = await count(db, `SELECT count(*) AS n FROM ${partitionIdent(p.name)}`);
    out.droppedPartitions.push({ name: p.name, from: p.from.toISOString(), to: p.to.toISOString(), rows: n });
    if (!o.dryRun) {
      await db.tx(async (q) => {
        await q.query(`ALTER TABLE message_bodies DETACH PARTITION ${partitionIdent(p.name)}`);
        await q.query(`DROP TABLE ${partitionIdent(p.name)}`);
      });
    }
  }
  if (o.dryRun) {
    out.defaultPartitionRows = await count(
      db,
      'SELECT count(*) AS n FROM message_bodies_default WHERE received_at < $1',
      [o.bodyCutoff],
    );
    out.webhookIds = await count(db, 'SELECT count(*) AS n FROM webhook_ids WHERE seen_at < $1', [o.webhookCutoff]);
    return out;
  }
  out.defaultPartitionRows = await inBatches(
    db,
    o,
    'DELETE FROM message_bodies_default WHERE (message_id, received_at) IN (SELECT message_id, received_at FROM message_bodies_default WHERE received_at < $1 LIMIT $2)',
    o.bodyCutoff,
  );
  out.webhookIds = await inBatches(
    db,
    o,
    'DELETE FROM webhook_ids WHERE (client_id, webhook_id) IN (SELECT client_id, webhook_id FROM webhook_ids WHERE seen_at < $1 LIMIT $2)',
    o.webhookCutoff,
  );
  return out;
}

async function count(q: Sql, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await q.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

/** Repeat a bounded DELETE ($1 the cutoff, $2 the batch) until it removes fewer than a batch. */
async function inBatches(q: Sql, o: { batch: number; maxBatches: number }, sql: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (let i = 0; i < o.maxBatches; i++) {
    const r = await q.query(sql, [cutoff, o.batch]);
    total += r.rowCount;
    if (r.rowCount < o.batch) break;
  }
  return total;
}

/** Partition names come from the catalog and match message_bodies_yYYYYmMM; quote them anyway. */
function partitionIdent(name: string): string {
  if (!/^message_bodies_y\d{4}m\d{2}$/.test(name)) throw new Error(`unexpected partition name ${name}`);
  return `"${name}"`;
}
