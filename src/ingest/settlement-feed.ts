/**
 * POST /v1/agency/settlements: the agency's settlement feed, JSON `{settlements:[…]}` or NDJSON, up to
 * 100,000 records a request. Authenticate before spending (issue 13): the body is first spooled
 * (feed-spool.ts: in memory while small, else an unlinked temporary file) while it is counted, hashed
 * and signature-checked as it streams; only a body whose signature matches is parsed, checked and
 * inserted, read back from the spool. A request whose signature does not match never takes the feed
 * lock, a pooled connection or a worker thread, and holds no more than 64 KiB of memory however large
 * or slow it is. One client's feeds past that check are limited (GATEWAY_FEED_CONCURRENCY_PER_CLIENT).
 *
 * Records are validated one by one and inserted about 1,000 at a time inside one transaction. One bad
 * record never sinks the rest: each is accepted, a duplicate, or rejected with its own errors — a
 * record longer than GATEWAY_FEED_MAX_RECORD_BYTES included (RECORD_TOO_LARGE), so that no record is
 * ever held whole in memory past that size.
 *
 * NDJSON is cut into batches of whole lines that worker threads check (feed-workers.ts) while this
 * thread keeps reading the spool and inserting the batches already checked, in order, one INSERT in
 * flight; JSON is parsed and checked on this thread by the same code (feed-records.ts).
 */
import type { Request, Response } from 'express';
import os from 'node:os';
import { pipeline, Transform, type Readable } from 'node:stream';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import Assembler from 'stream-json/Assembler';
import type { Sql } from '../db/db';
import { beginSignedWrite, signatureMismatch } from '../http/auth';
import { admitVerifiedClient } from '../http/rate-limit';
import { ProblemError, badRequest, langOf, tooLarge, unprocessable, unsupportedMedia } from '../http/problem';
import type { Lang } from '../schemas/validator';
import type { Client } from '../http/clients';
import { finishMessage, insertFeedMessage, type Envelope } from './message-store';
import { recordWebhookId } from './message-problems';
import { enqueueMessageJobs } from '../queue/outbox';
import { BENEFITS_QUEUE, INGEST_QUEUE } from '../queue/queue-names';
import { mediaType } from '../http/request-body';
import type { IngestDeps } from './ingest-service';
import type { StrictJsonFinding } from '../schemas/strict-json';
import {
  StrictAssembler,
  judgeStored,
  prepareLines,
  prepareValues,
  rowKeys,
  type FeedClient,
  type PreparedBatch,
  type Rejected,
  type ValidateSettlement,
} from './feed-records';
import { insertSettlementRows, storedSettlementKeys } from '../ledger/settlement-store';
import { feedWorkers } from './feed-workers';
import { BodyMeter } from './feed-body-meter';
import { FeedSpool } from './feed-spool';

export type { Rejected } from './feed-records';

export const MAX_FEED_RECORDS = 100_000;
const CHUNK = 1000;
/** An NDJSON batch ends at the first line end after CHUNK lines or BATCH_BYTES bytes. */
const BATCH_BYTES = 1 << 20;
/** Batches sent to the workers and not yet inserted: enough to keep them busy during an INSERT. */
const LOOKAHEAD = 6;

/** The feed's limits (GATEWAY_FEED_* settings). */
export interface FeedSettings {
  /** Longest record: an NDJSON line's bytes, or a JSON element's text (its keys, strings and numbers). */
  maxRecordBytes: number;
  /** A client's feeds past the signature check at once; 429 beyond. */
  concurrencyPerClient: number;
  /** Where spooled bodies larger than SPOOL_MEMORY_BYTES go. */
  spoolDir: string;
}

const DEFAULT_SETTINGS: FeedSettings = { maxRecordBytes: 1 << 20, concurrencyPerClient: 2, spoolDir: os.tmpdir() };
/**
 * A body up to this waits in memory for its signature check; a larger one on disk. Small, because
 * every unsigned request may hold this much: a thousand of them hold 64 MiB.
 */
const SPOOL_MEMORY_BYTES = 64 * 1024;

/** A record, or the index of one that was longer than the limit (never assembled). */
type RawRecord = { index: number; value: unknown; refused?: StrictJsonFinding } | { index: number; tooLarge: true };
/** A batch being checked (wrapped: an async generator would await a promise it yields). */
interface Pending {
  prepared: Promise<PreparedBatch>;
}

function tooLargeRecord(index: number, limit: number, lang: Lang): PreparedBatch {
  const message = lang === 'zh-CN' ? `单条记录超过 ${limit} 字节` : `the record is longer than ${limit} bytes`;
  return {
    seen: 1,
    rows: 0,
    format: 'text',
    payload: '',
    rejected: [{ index, errors: [{ path: '', code: 'RECORD_TOO_LARGE', message }] }],
  };
}

interface Token {
  name: string;
  value?: string | boolean | null;
}

/**
 * Packs the parser's streamed keys, strings and numbers into values (the parser itself would build
 * each whole, however long), keeping at most `limit` + 1 characters: a value cut short is longer
 * than the limit, so the record holding it is refused by RecordStreamer anyway.
 */
function packCapped(limit: number): Transform {
  let acc = '';
  let full = false;
  const packed: Record<string, string> = { endKey: 'keyValue', endString: 'stringValue', endNumber: 'numberValue' };
  return new Transform({
    objectMode: true,
    transform(t: Token, _enc, cb) {
      switch (t.name) {
        case 'startKey':
        case 'startString':
        case 'startNumber':
          acc = '';
          full = false;
          return cb();
        case 'stringChunk':
        case 'numberChunk':
          if (!full) {
            acc += t.value as string;
            if (acc.length > limit) {
              acc = acc.slice(0, limit + 1);
              full = true;
            }
          }
          return cb();
        case 'endKey':
        case 'endString':
        case 'endNumber':
          this.push({ name: packed[t.name], value: acc });
          acc = '';
          return cb();
        default:
          return cb(null, t);
      }
    },
  });
}

/**
 * The elements of the `settlements` array as records, assembled one at a time the way stream-json's
 * StreamArray does, except that an element whose text passes `limit` stops being assembled and comes
 * out as `{tooLarge}` with its index.
 */
function recordStreamer(limit: number): Transform {
  let depth = 0; // 0: before the array; 1: inside it, between elements; more: inside an element
  let index = 0;
  let size = 0;
  let asm: StrictAssembler | undefined = new StrictAssembler();
  return new Transform({
    objectMode: true,
    transform(t: Token, _enc, cb) {
      if (depth === 0) {
        if (t.name !== 'startArray') return cb(new Error('Top-level object should be an array.'));
        depth = 1;
        return cb();
      }
      if (depth === 1 && t.name === 'endArray') {
        depth = 0;
        return cb();
      }
      if (t.name === 'startObject' || t.name === 'startArray') depth++;
      else if (t.name === 'endObject' || t.name === 'endArray') depth--;
      size += typeof t.value === 'string' ? t.value.length + 2 : 1;
      if (asm && size > limit) asm = undefined;
      asm?.consume(t as Parameters<Assembler['consume']>[0]);
      if (depth > 1) return cb();
      const rec: RawRecord = asm ? { index, value: asm.current, refused: asm.refused } : { index, tooLarge: true };
      index++;
      size = 0;
      asm = new StrictAssembler();
      cb(null, rec);
    },
  });
}

async function* jsonRecords(body: Readable, limit: number): AsyncGenerator<RawRecord> {
  const out = recordStreamer(limit);
  // packValues false: the parser streams every key and string in pieces, packCapped packs them capped.
  pipeline(body, parser({ packValues: false }), packCapped(limit), pick({ filter: 'settlements' }), out, (err) => {
    if (err) out.destroy(err);
  });
  try {
    for await (const rec of out as AsyncIterable<RawRecord>) yield rec;
  } catch (e) {
    if ((e as ProblemError).status) throw e;
    throw badRequest({ en: `malformed JSON: ${(e as Error).message}`, zh: `JSON 格式错误：${(e as Error).message}` }, [
      { path: '', code: 'malformed_json', message: (e as Error).message },
    ]);
  }
}

/** JSON feed records checked on this thread, CHUNK at a time. */
async function* jsonBatches(
  body: Readable,
  client: FeedClient,
  validate: ValidateSettlement,
  lang: Lang,
  limit: number,
): AsyncGenerator<Pending> {
  let recs: { index: number; value: unknown; refused?: StrictJsonFinding }[] = [];
  const flush = () => {
    const b = prepareValues(recs, client, validate, lang);
    recs = [];
    return { prepared: Promise.resolve(b) };
  };
  for await (const rec of jsonRecords(body, limit)) {
    if ('tooLarge' in rec) {
      if (recs.length) yield flush();
      yield { prepared: Promise.resolve(tooLargeRecord(rec.index, limit, lang)) };
      continue;
    }
    recs.push(rec);
    if (recs.length >= CHUNK) yield flush();
  }
  if (recs.length) yield flush();
}

/**
 * NDJSON cut into batches of whole lines, each with the index of its first line (the line ends are
 * readline's: \n, \r\n, or a lone \r), checked by the worker threads. A line longer than `limit`
 * bytes is not kept: its bytes are skipped up to its end and it is that record's RECORD_TOO_LARGE.
 */
async function* ndjsonBatches(
  body: Readable,
  client: FeedClient,
  validate: ValidateSettlement,
  lang: Lang,
  limit: number,
  onWorkerError: (e: Error) => void,
): AsyncGenerator<Pending> {
  const workers = feedWorkers();
  let next = 0;
  const send = (bytes: Buffer, newlines: number) => {
    const start = next;
    next += newlines + loneReturns(bytes);
    return workers.run(
      { bytes, start, client, lang },
      () => prepareLines(bytes.toString('utf8'), start, client, validate, lang),
      onWorkerError,
    );
  };
  let parts: Buffer[] = [];
  let size = 0,
    newlines = 0;
  /** Bytes of the line being read so far (since the last \n). */
  let line = 0;
  /** Skipping a line longer than the limit: its \r so far (lone ones are line ends to readline), and whether its last byte was one. */
  let skipping = false,
    returns = 0,
    endsInReturn = false;
  const skipped = (seg: Buffer) => {
    for (let i = seg.indexOf(13); i >= 0; i = seg.indexOf(13, i + 1)) returns++;
    if (seg.length) endsInReturn = seg[seg.length - 1] === 13;
  };
  const tooLong = () => {
    const index = next;
    // A \r right before the line's \n is part of its line end, not a line of its own.
    next += 1 + returns - (endsInReturn ? 1 : 0);
    skipping = false;
    returns = 0;
    endsInReturn = false;
    return { prepared: Promise.resolve(tooLargeRecord(index, limit, lang)) };
  };
  // Not destroyed when the feed stops early (TOO_MANY_RECORDS, a failed INSERT): its answer must still reach the client.
  for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    let from = 0; // start of this chunk's bytes not yet in `parts` (nor skipped)
    let pos = 0; // start of the current line's bytes in this chunk
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (skipping) {
        skipped(chunk.subarray(pos, end));
        if (nl < 0) {
          from = chunk.length;
          break;
        }
        yield tooLong();
        pos = from = nl + 1;
        line = 0;
        continue;
      }
      if (line + (end - pos) > limit) {
        // The complete lines before this one go as a batch; this line's bytes so far are dropped.
        const carried = line;
        const held = Buffer.concat([...parts, chunk.subarray(from, pos)]);
        if (newlines) yield { prepared: send(held.subarray(0, held.length - carried), newlines) };
        skipping = true;
        skipped(held.subarray(held.length - carried));
        parts = [];
        size = 0;
        newlines = 0;
        line = 0;
        from = pos;
        continue;
      }
      if (nl < 0) {
        line += end - pos;
        break;
      }
      newlines++;
      line = 0;
      pos = nl + 1;
      if (newlines < CHUNK && size + nl + 1 - from < BATCH_BYTES) continue;
      parts.push(chunk.subarray(from, nl + 1));
      yield { prepared: send(Buffer.concat(parts), newlines) };
      parts = [];
      size = 0;
      newlines = 0;
      from = nl + 1;
    }
    if (!skipping && from < chunk.length) {
      parts.push(chunk.subarray(from));
      size += chunk.length - from;
    }
  }
  if (skipping) yield tooLong();
  else if (size) yield { prepared: send(Buffer.concat(parts), newlines) };
}

function loneReturns(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(13); i >= 0; i = b.indexOf(13, i + 1)) if (b[i + 1] !== 10) n++;
  return n;
}

/** Insert one batch's rows; judge the rows not stored against what is stored (judgeStored: scope by the stored region, duplicates, conflicts). */
async function insertChunk(
  q: Sql,
  batch: PreparedBatch,
  messageId: string,
  receivedAt: Date,
  rejected: Rejected[],
  lang: Lang,
  client: FeedClient,
): Promise<{ accepted: number; duplicates: number; firstDuplicateOf?: string }> {
  const stored = await insertSettlementRows(q, batch, messageId, receivedAt);
  if (stored.length === batch.rows) return { accepted: stored.length, duplicates: 0 };
  const inserted = new Set(stored);
  const rest = rowKeys(batch).filter((r) => !inserted.has(r.index));
  const prev = await storedSettlementKeys(q, [...new Set(rest.map((r) => r.setl_id))]);
  const judged = judgeStored(rest, prev, client, lang);
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
  q: Sql,
  records: readonly unknown[],
  o: { client: Client; validate: ValidateSettlement; lang: Lang; messageId: string; receivedAt: Date },
): Promise<{ accepted: number; duplicates: number; rejected: Rejected[] }> {
  const rejected: Rejected[] = [];
  let accepted = 0,
    duplicates = 0;
  for (let start = 0; start < records.length; start += CHUNK) {
    const batch = prepareValues(
      records.slice(start, start + CHUNK).map((value, k) => ({ index: start + k, value })),
      o.client,
      o.validate,
      o.lang,
    );
    rejected.push(...batch.rejected);
    if (!batch.rows) continue;
    const r = await insertChunk(q, batch, o.messageId, o.receivedAt, rejected, o.lang, o.client);
    accepted += r.accepted;
    duplicates += r.duplicates;
  }
  return { accepted, duplicates, rejected };
}

class NothingAccepted extends Error {}

/** A client's feeds past the signature check, and the limit; `enter` refuses one beyond it with 429. */
class FeedsInProgress {
  private readonly count = new Map<string, number>();
  constructor(private readonly limit: number) {}
  enter(clientId: string): () => void {
    const n = this.count.get(clientId) ?? 0;
    if (n >= this.limit) {
      // Refused rather than queued: feeds are serialised by the feed lock, so a queued feed would only
      // wait holding its spool and its connection, and the client could not tell waiting from hanging.
      const detail = {
        en: `client ${clientId} already has ${n} feed(s) in progress (at most ${this.limit}); send this one when one of them has been answered`,
        zh: `客户端 ${clientId} 已有 ${n} 个推送正在处理（上限 ${this.limit}），请在其中一个返回后再发送`,
      };
      throw new ProblemError(429, 'TOO_MANY_FEEDS', { en: 'Too many requests', zh: '请求过于频繁' }, detail, [], {
        'Retry-After': '5',
      });
    }
    this.count.set(clientId, n + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const m = (this.count.get(clientId) ?? 1) - 1;
      if (m > 0) this.count.set(clientId, m);
      else this.count.delete(clientId);
    };
  }
}

/**
 * Reads the request body into `spool` through `meter`. The request is not destroyed when the meter
 * refuses it (413): the error handler must still be able to answer on its connection.
 */
function spoolBody(req: Request, meter: BodyMeter, spool: FeedSpool): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pipeline(meter, spool, (err) => (err ? reject(err) : resolve()));
    const abort = (e?: Error) => {
      req.unpipe(meter);
      meter.destroy(e ?? badRequest({ en: 'the request body could not be read completely', zh: '请求体未能完整读取' }));
    };
    req.once('error', () => abort());
    req.once('close', () => {
      if (!req.complete) abort();
    });
    meter.once('error', () => req.unpipe(meter));
    req.pipe(meter);
  });
}

export function settlementFeedHandler(deps: IngestDeps & { feed?: Partial<FeedSettings> }) {
  const settings: FeedSettings = { ...DEFAULT_SETTINGS, ...deps.feed };
  const inProgress = new FeedsInProgress(settings.concurrencyPerClient);
  // Their start (tsx, compiling the schemas) should not delay the first feed.
  feedWorkers().warm();
  return async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    const type = mediaType(req);
    if (type !== 'application/json' && type !== 'application/x-ndjson')
      throw unsupportedMedia(['application/json', 'application/x-ndjson']);
    const signed = beginSignedWrite(req, deps.clients, 'agency', deps.now());
    const declared = Number(req.headers['content-length']);
    if (declared > deps.maxFeedBytes) throw tooLarge(deps.maxFeedBytes);
    // Authenticate before spending: the whole body is spooled and its signature checked before any
    // lock, pooled connection or worker thread is taken, or any record parsed.
    const spool = new FeedSpool(settings.spoolDir, SPOOL_MEMORY_BYTES);
    let leave: (() => void) | undefined;
    try {
      const meter = new BodyMeter(deps.maxFeedBytes, (b) => signed.verifier.update(b), { deferUtf8: true });
      await spoolBody(req, meter, spool);
      if (!signed.verifier.verify()) throw signatureMismatch();
      await admitVerifiedClient(res, signed.client.client_id);
      if (meter.utf8Error) throw meter.utf8Error;
      leave = inProgress.enter(signed.client.client_id);
      await storeFeed(deps, req, res, { type, lang, signed, meter, spool, settings });
    } finally {
      leave?.();
      await spool.dispose();
    }
  };
}

interface FeedRequest {
  type: 'application/json' | 'application/x-ndjson';
  lang: Lang;
  signed: ReturnType<typeof beginSignedWrite>;
  meter: BodyMeter;
  spool: FeedSpool;
  settings: FeedSettings;
}

/** The authenticated feed, read back from its spool: checked, inserted under the feed lock, answered. */
async function storeFeed(deps: IngestDeps, req: Request, res: Response, f: FeedRequest): Promise<void> {
  const { type, lang, signed, meter } = f;
  const body = f.spool.reader();
  const validator = deps.validator;
  const validate: ValidateSettlement = validator.validate.bind(validator);
  const client: FeedClient = {
    client_id: signed.client.client_id,
    role: signed.client.role,
    scope: signed.client.scope,
  };
  const onWorkerError = (err: Error) =>
    req.log?.warn({ err }, 'feed worker failed; its batches were checked on the main thread');
  const limit = f.settings.maxRecordBytes;
  const batches =
    type === 'application/x-ndjson'
      ? ndjsonBatches(body, client, validate, lang, limit, onWorkerError)
      : jsonBatches(body, client, validate, lang, limit);
  const receivedAt = new Date(deps.now());
  const rejected: Rejected[] = [];
  let accepted = 0,
    duplicates = 0,
    seen = 0;
  let firstDuplicateOf: string | undefined;
  try {
    const messageId = await deps.db.tx(async (q) => {
      // Feeds are serialised: two feeds inserting overlapping setl_ids in different orders would
      // otherwise be able to deadlock.
      await q.query('SELECT pg_advisory_xact_lock(7340113)');
      const env: Envelope = {
        clientId: signed.client.client_id,
        webhookId: signed.webhookId,
        bodySha256: 'pending',
        rawBody: null,
        contentType: type,
        bodyBytes: 0,
        requestId: res.locals.requestId,
        receivedAt,
      };
      const messageId = await insertFeedMessage(q, env);
      await enqueueMessageJobs(
        q,
        [{ message_id: messageId, kind: 'agency_settlements', request_id: env.requestId ?? null }],
        [INGEST_QUEUE, BENEFITS_QUEUE],
      );
      // Batches are taken in the order of the body; one is inserted while the next are read and
      // checked, never more than one INSERT in flight.
      const waiting: Promise<PreparedBatch>[] = [];
      let inflight: Promise<void> = Promise.resolve();
      let failure: unknown;
      const settle = async () => {
        await inflight;
        if (failure) throw failure;
      };
      const insertNext = async () => {
        const batch = await waiting.shift()!;
        await settle();
        seen += batch.seen;
        if (seen > MAX_FEED_RECORDS)
          throw unprocessable([
            {
              path: type === 'application/json' ? '/settlements' : '',
              code: 'TOO_MANY_RECORDS',
              message:
                lang === 'zh-CN'
                  ? `每次请求最多 ${MAX_FEED_RECORDS} 条记录`
                  : `at most ${MAX_FEED_RECORDS} records a request`,
            },
          ]);
        for (const r of batch.rejected) rejected.push(r);
        if (!batch.rows) return;
        inflight = insertChunk(q, batch, messageId, receivedAt, rejected, lang, client).then(
          (r) => {
            accepted += r.accepted;
            duplicates += r.duplicates;
            firstDuplicateOf ??= r.firstDuplicateOf;
          },
          (e) => {
            failure = e;
          },
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
      env.bodySha256 = meter.sha.digest('hex');
      await recordWebhookId(q, env);
      if (accepted === 0) throw new NothingAccepted();
      await finishMessage(q, messageId, { recordCount: accepted, bodyBytes: meter.bytes, bodySha256: env.bodySha256 });
      return messageId;
    });
    deps.onOutcome?.('agency_settlements', 'accepted');
    res.status(202).json({ message_id: messageId, status: 'accepted', accepted, duplicates, rejected });
    deps.onCommitted();
  } catch (e) {
    if (!(e instanceof NothingAccepted)) throw e;
    if (duplicates > 0) {
      deps.onOutcome?.('agency_settlements', 'duplicate');
      res
        .status(200)
        .json({ message_id: firstDuplicateOf, status: 'accepted', duplicate: true, accepted: 0, duplicates, rejected });
      return;
    }
    deps.onOutcome?.('agency_settlements', 'rejected');
    if (seen === 0)
      throw unprocessable([
        {
          path: type === 'application/json' ? '/settlements' : '',
          code: 'NO_RECORDS',
          message: lang === 'zh-CN' ? '请求中没有结算记录' : 'the request carries no settlement records',
        },
      ]);
    throw unprocessable(
      rejected
        .flatMap((r) =>
          r.errors.map((er) => ({
            ...er,
            path: `${type === 'application/json' ? '/settlements' : ''}/${r.index}${er.path}`,
          })),
        )
        .slice(0, 100),
      { en: 'no record of the feed was accepted', zh: '本次推送没有任何记录被受理' },
      { accepted: 0, duplicates: 0, rejected },
    );
  }
}
