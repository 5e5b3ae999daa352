/**
 * POST /v1/agency/settlements: the agency's settlement feed, JSON `{settlements:[…]}` or NDJSON, up to
 * 100,000 records a request. The body is streamed (never held whole): bytes are counted, hashed,
 * signature-verified and UTF-8-checked on the way; records are validated one by one and inserted
 * about 1,000 at a time inside one transaction, committed only when the whole body has arrived and its
 * signature matches. One bad record never sinks the rest: each is accepted, a duplicate, or rejected
 * with its own errors.
 *
 * NDJSON is cut into batches of whole lines that worker threads check (feed-workers.ts) while this
 * thread keeps reading the body and inserting the batches already checked, in order, one INSERT in
 * flight; JSON is parsed and checked on this thread by the same code (feed-records.ts).
 */
import type { Request, Response } from 'express';
import { pipeline, type Readable } from 'node:stream';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';
import type { Sql } from '../db/db';
import { beginSignedWrite, signatureMismatch } from '../http/auth';
import { badRequest, langOf, tooLarge, unprocessable, unsupportedMedia, type ProblemError } from '../http/problem';
import type { Lang } from '../schemas/validator';
import type { Client } from '../http/clients';
import { BENEFITS_QUEUE, INGEST_QUEUE, insertMessage, recordWebhookId, type Envelope } from './message-store';
import { mediaType, type IngestDeps } from './ingest-route';
import { FEED_COLUMNS, judgeStored, prepareLines, prepareValues, rowKeys, type FeedClient, type PreparedBatch, type Rejected, type StoredRow, type ValidateSettlement } from './feed-records';
import { feedWorkers } from './feed-workers';
import { BodyMeter } from './feed-body-meter';

export type { Rejected } from './feed-records';

export const MAX_FEED_RECORDS = 100_000;
const CHUNK = 1000;
/** An NDJSON batch ends at the first line end after CHUNK lines or BATCH_BYTES bytes. */
const BATCH_BYTES = 1 << 20;
/** Batches sent to the workers and not yet inserted: enough to keep them busy during an INSERT. */
const LOOKAHEAD = 6;

interface RawRecord { index: number; value: unknown }
/** A batch being checked (wrapped: an async generator would await a promise it yields). */
interface Pending { prepared: Promise<PreparedBatch> }

async function* jsonRecords(body: Readable): AsyncGenerator<RawRecord> {
  const out = streamArray();
  pipeline(body, parser(), pick({ filter: 'settlements' }), out, (err) => { if (err) out.destroy(err); });
  try {
    for await (const { key, value } of out as AsyncIterable<{ key: number; value: unknown }>) yield { index: key, value };
  } catch (e) {
    if ((e as ProblemError).status) throw e;
    throw badRequest({ en: `malformed JSON: ${(e as Error).message}`, zh: `JSON 格式错误：${(e as Error).message}` }, [{ path: '', code: 'malformed_json', message: (e as Error).message }]);
  }
}

/** JSON feed records checked on this thread, CHUNK at a time. */
async function* jsonBatches(body: Readable, client: FeedClient, validate: ValidateSettlement, lang: Lang): AsyncGenerator<Pending> {
  let recs: RawRecord[] = [];
  for await (const rec of jsonRecords(body)) {
    recs.push(rec);
    if (recs.length >= CHUNK) { yield { prepared: Promise.resolve(prepareValues(recs, client, validate, lang)) }; recs = []; }
  }
  if (recs.length) yield { prepared: Promise.resolve(prepareValues(recs, client, validate, lang)) };
}

/**
 * NDJSON cut into batches of whole lines, each with the index of its first line (the line ends are
 * readline's: \n, \r\n, or a lone \r), checked by the worker threads.
 */
async function* ndjsonBatches(body: Readable, client: FeedClient, validate: ValidateSettlement, lang: Lang, onWorkerError: (e: Error) => void): AsyncGenerator<Pending> {
  const workers = feedWorkers();
  let next = 0;
  const send = (bytes: Buffer, newlines: number) => {
    const start = next;
    next += newlines + loneReturns(bytes);
    return workers.run({ bytes, start, client, lang }, () => prepareLines(bytes.toString('utf8'), start, client, validate, lang), onWorkerError);
  };
  let parts: Buffer[] = [];
  let size = 0, newlines = 0;
  // Not destroyed when the feed stops early (TOO_MANY_RECORDS, a failed INSERT): its answer must still reach the client.
  for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, nl + 1)) {
      newlines++;
      if (newlines < CHUNK && size + nl + 1 - from < BATCH_BYTES) continue;
      parts.push(chunk.subarray(from, nl + 1));
      yield { prepared: send(Buffer.concat(parts), newlines) };
      parts = []; size = 0; newlines = 0; from = nl + 1;
    }
    if (from < chunk.length) { parts.push(chunk.subarray(from)); size += chunk.length - from; }
  }
  if (size) yield { prepared: send(Buffer.concat(parts), newlines) };
}

function loneReturns(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(13); i >= 0; i = b.indexOf(13, i + 1)) if (b[i + 1] !== 10) n++;
  return n;
}

const COLS = FEED_COLUMNS.map(([c]) => c).join(', ');
// One parameter per chunk rather than 30 array parameters (node-pg would escape every array element
// in JavaScript). The text form is split by string_to_array and cast column by column; the JSON form
// (json, not jsonb: read once, it needs no binary tree) is for batches whose values hold a separator.
const FROM_TEXT = `(SELECT ${FEED_COLUMNS.map(([c, t], i) => `a[${i + 1}]::${t} AS ${c}`).join(', ')}
  FROM unnest(string_to_array($1::text, E'\\x1e')) AS line, LATERAL string_to_array(line, E'\\x1f', E'\\x1d') AS a) AS x`;
const FROM_JSON = `json_to_recordset($1::json) AS x(${FEED_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;
const insertSql = (from: string) => `INSERT INTO settlement_records (${COLS}, message_id, received_at, period)
  SELECT ${COLS}, $2::uuid, $3::timestamptz, to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')
  FROM ${from}
  -- A setl_id stored under another region is never added to (issue 13: a reversal or a second
  -- record claiming the sender's own region must not touch, or move, another region's record).
  WHERE NOT EXISTS (SELECT 1 FROM settlement_records e WHERE e.setl_id = x.setl_id AND e.insuplc_admdvs <> x.insuplc_admdvs)
  ON CONFLICT (setl_id, status) DO NOTHING RETURNING record_index`;
const INSERT_SQL = { text: insertSql(FROM_TEXT), json: insertSql(FROM_JSON) };

/** Insert one batch's rows; judge the rows not stored against what is stored (judgeStored: scope by the stored region, duplicates, conflicts). */
async function insertChunk(q: Sql, batch: PreparedBatch, messageId: string, receivedAt: Date, rejected: Rejected[], lang: Lang, client: FeedClient): Promise<{ accepted: number; duplicates: number; firstDuplicateOf?: string }> {
  const ins = await q.query<{ record_index: number }>(INSERT_SQL[batch.format], [batch.payload, messageId, receivedAt]);
  if (ins.rows.length === batch.rows) return { accepted: ins.rows.length, duplicates: 0 };
  const inserted = new Set(ins.rows.map((r) => Number(r.record_index)));
  const rest = rowKeys(batch).filter((r) => !inserted.has(r.index));
  const prev = await q.query<StoredRow>(
    'SELECT setl_id, status, content_sha256, message_id, insuplc_admdvs FROM settlement_records WHERE setl_id = ANY($1::text[])',
    [[...new Set(rest.map((r) => r.setl_id))]],
  );
  const judged = judgeStored(rest, prev.rows, client, lang);
  for (const r of judged.rejected) rejected.push(r);
  return { accepted: inserted.size, duplicates: judged.duplicates, firstDuplicateOf: judged.firstDuplicateOf };
}

/** Feeds are serialised under this lock: overlapping setl_ids inserted in different orders could deadlock. */
export const FEED_LOCK_KEY = 7340113;

/**
 * The feed's own validation (Settlement schema, scope) and insert path, for records that reach the
 * gateway another way (the agency pull, src/agency-pull). Call inside the transaction that holds the
 * records' message row and FEED_LOCK_KEY; outcomes are the feed's: accepted, duplicate or rejected.
 */
export async function storeSettlementRecords(
  q: Sql, records: readonly unknown[],
  o: { client: Client; validate: ValidateSettlement; lang: Lang; messageId: string; receivedAt: Date },
): Promise<{ accepted: number; duplicates: number; rejected: Rejected[] }> {
  const rejected: Rejected[] = [];
  let accepted = 0, duplicates = 0;
  for (let start = 0; start < records.length; start += CHUNK) {
    const batch = prepareValues(records.slice(start, start + CHUNK).map((value, k) => ({ index: start + k, value })), o.client, o.validate, o.lang);
    rejected.push(...batch.rejected);
    if (!batch.rows) continue;
    const r = await insertChunk(q, batch, o.messageId, o.receivedAt, rejected, o.lang, o.client);
    accepted += r.accepted; duplicates += r.duplicates;
  }
  return { accepted, duplicates, rejected };
}

class NothingAccepted extends Error {}

export function settlementFeedHandler(deps: IngestDeps) {
  // Their start (tsx, compiling the schemas) should not delay the first feed.
  feedWorkers().warm();
  return async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    const type = mediaType(req);
    if (type !== 'application/json' && type !== 'application/x-ndjson') throw unsupportedMedia(['application/json', 'application/x-ndjson']);
    const signed = beginSignedWrite(req, deps.clients, 'agency', deps.now());
    const declared = Number(req.headers['content-length']);
    if (declared > deps.maxFeedBytes) throw tooLarge(deps.maxFeedBytes);
    const meter = new BodyMeter(deps.maxFeedBytes, (b) => signed.verifier.update(b));
    pipeline(req, meter, () => undefined);
    const validator = deps.validator;
    const validate: ValidateSettlement = validator.validate.bind(validator);
    const client: FeedClient = { client_id: signed.client.client_id, role: signed.client.role, scope: signed.client.scope };
    const onWorkerError = (err: Error) => req.log?.warn({ err }, 'feed worker failed; its batches were checked on the main thread');
    const batches = type === 'application/x-ndjson' ? ndjsonBatches(meter, client, validate, lang, onWorkerError) : jsonBatches(meter, client, validate, lang);
    const receivedAt = new Date(deps.now());
    const rejected: Rejected[] = [];
    let accepted = 0, duplicates = 0, seen = 0;
    let firstDuplicateOf: string | undefined;
    try {
      const messageId = await deps.db.tx(async (q) => {
        // Feeds are serialised: two feeds inserting overlapping setl_ids in different orders would
        // otherwise be able to deadlock.
        await q.query('SELECT pg_advisory_xact_lock(7340113)');
        const env: Envelope = { clientId: signed.client.client_id, webhookId: signed.webhookId, bodySha256: 'pending', rawBody: null, contentType: type, bodyBytes: 0, requestId: res.locals.requestId, receivedAt };
        const msg = await insertMessage(q, env, 'agency_settlements', null, null, 0, [INGEST_QUEUE, BENEFITS_QUEUE]);
        const messageId = msg.message_id;
        // Batches are taken in the order of the body; one is inserted while the next are read and
        // checked, never more than one INSERT in flight.
        const waiting: Promise<PreparedBatch>[] = [];
        let inflight: Promise<void> = Promise.resolve();
        let failure: unknown;
        const settle = async () => { await inflight; if (failure) throw failure; };
        const insertNext = async () => {
          const batch = await waiting.shift()!;
          await settle();
          seen += batch.seen;
          if (seen > MAX_FEED_RECORDS) throw unprocessable([{ path: type === 'application/json' ? '/settlements' : '', code: 'TOO_MANY_RECORDS', message: lang === 'zh-CN' ? `每次请求最多 ${MAX_FEED_RECORDS} 条记录` : `at most ${MAX_FEED_RECORDS} records a request` }]);
          for (const r of batch.rejected) rejected.push(r);
          if (!batch.rows) return;
          inflight = insertChunk(q, batch, messageId, receivedAt, rejected, lang, client).then(
            (r) => { accepted += r.accepted; duplicates += r.duplicates; firstDuplicateOf ??= r.firstDuplicateOf; },
            (e) => { failure = e; },
          );
        };
        try {
          for await (const { prepared } of batches) {
            // Not awaited until its turn: a batch that fails while an earlier one is still inserting
            // must not be an unhandled rejection.
            prepared.catch(() => undefined);
            waiting.push(prepared);
            if (waiting.length >= LOOKAHEAD) await insertNext();
          }
          while (waiting.length) await insertNext();
        } finally {
          await inflight;
        }
        await settle();
        if (!signed.verifier.verify()) throw signatureMismatch();
        env.bodySha256 = meter.sha.digest('hex');
        await recordWebhookId(q, env);
        if (accepted === 0) throw new NothingAccepted();
        await q.query('UPDATE messages SET record_count = $2, body_bytes = $3, body_sha256 = $4 WHERE message_id = $1', [messageId, accepted, meter.bytes, env.bodySha256]);
        return messageId;
      });
      deps.onOutcome?.('agency_settlements', 'accepted');
      res.status(202).json({ message_id: messageId, status: 'accepted', accepted, duplicates, rejected });
      deps.onCommitted();
    } catch (e) {
      if (!(e instanceof NothingAccepted)) throw e;
      if (duplicates > 0) {
        deps.onOutcome?.('agency_settlements', 'duplicate');
        res.status(200).json({ message_id: firstDuplicateOf, status: 'accepted', duplicate: true, accepted: 0, duplicates, rejected });
        return;
      }
      deps.onOutcome?.('agency_settlements', 'rejected');
      if (seen === 0) throw unprocessable([{ path: type === 'application/json' ? '/settlements' : '', code: 'NO_RECORDS', message: lang === 'zh-CN' ? '请求中没有结算记录' : 'the request carries no settlement records' }]);
      throw unprocessable(
        rejected.flatMap((r) => r.errors.map((er) => ({ ...er, path: `${type === 'application/json' ? '/settlements' : ''}/${r.index}${er.path}` }))).slice(0, 100),
        { en: 'no record of the feed was accepted', zh: '本次推送没有任何记录被受理' },
        { accepted: 0, duplicates: 0, rejected },
      );
    }
  };
}
