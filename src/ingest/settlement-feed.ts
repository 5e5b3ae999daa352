/**
 * POST /v1/agency/settlements: the agency's settlement feed, JSON `{settlements:[…]}` or NDJSON, up to
 * 100,000 records a request. The body is streamed (never held whole): bytes are counted, hashed,
 * signature-verified and UTF-8-checked on the way; records are validated one by one and inserted
 * 1,000 at a time inside one transaction, committed only when the whole body has arrived and its
 * signature matches. One bad record never sinks the rest: each is accepted, a duplicate, or rejected
 * with its own errors.
 */
import type { Request, Response } from 'express';
import crypto from 'node:crypto';
import readline from 'node:readline';
import { Transform, pipeline, type Readable } from 'node:stream';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';
import type { Sql } from '../db/db';
import { beginSignedWrite, inScope, signatureMismatch } from '../http/auth';
import { badRequest, langOf, tooLarge, unprocessable, unsupportedMedia, type ProblemError } from '../http/problem';
import type { FieldError, Lang } from '../schemas/validator';
import { contentHash, normalize } from '../schemas/normalize';
import type { Settlement } from '../schemas/types';
import type { Client } from '../http/clients';
import { BENEFITS_QUEUE, INGEST_QUEUE, insertMessage, recordWebhookId, type Envelope } from './message-store';
import { mediaType, type IngestDeps } from './ingest-route';

export const MAX_FEED_RECORDS = 100_000;
const CHUNK = 1000;

interface RawRecord { index: number; value?: unknown; error?: string }
export interface Rejected { index: number; errors: FieldError[] }

/** Counts, hashes and signature-checks bytes as they pass; refuses more than `limit` and invalid UTF-8. */
class BodyMeter extends Transform {
  bytes = 0;
  readonly sha = crypto.createHash('sha256');
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  constructor(private readonly limit: number, private readonly onChunk: (b: Buffer) => void) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void) {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(tooLarge(this.limit));
    try {
      this.utf8.decode(chunk, { stream: true });
    } catch {
      return cb(badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' }));
    }
    this.sha.update(chunk);
    this.onChunk(chunk);
    cb(null, chunk);
  }
  override _flush(cb: (e?: Error | null) => void) {
    try { this.utf8.decode(); cb(); } catch { cb(badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' })); }
  }
}

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

async function* ndjsonRecords(body: Readable): AsyncGenerator<RawRecord> {
  const rl = readline.createInterface({ input: body, crlfDelay: Infinity });
  let index = -1;
  let streamError: unknown;
  body.on('error', (e) => { streamError = e; rl.close(); });
  for await (const line of rl) {
    index++;
    if (!line.trim()) continue;
    try { yield { index, value: JSON.parse(line) }; } catch (e) { yield { index, error: (e as Error).message }; }
  }
  if (streamError) throw streamError;
}

const COLS = ['setl_id', 'status', 'content_sha256', 'record_index', 'mdtrt_id', 'psn_no', 'psn_name', 'certno', 'insutype', 'insuplc_admdvs', 'mdtrtarea_admvs', 'fixmedins_code', 'med_type', 'setl_time', 'medfee_sumamt', 'inscp_scp_amt', 'hifp_pay', 'hifob_pay', 'hifmi_pay', 'cvlserv_pay', 'maf_pay', 'oth_pay', 'fund_pay_sumamt', 'acct_pay', 'psn_cash_pay', 'setldetail', 'insurer_code', 'setl_mode', 'referral'] as const;
const TYPES: Record<string, string> = { record_index: 'int', setl_time: 'timestamptz', setldetail: 'jsonb', referral: 'boolean' };
const AMOUNT_COLS = new Set(['medfee_sumamt', 'inscp_scp_amt', 'hifp_pay', 'hifob_pay', 'hifmi_pay', 'cvlserv_pay', 'maf_pay', 'oth_pay', 'fund_pay_sumamt', 'acct_pay', 'psn_cash_pay']);
// One JSON parameter per chunk (jsonb_to_recordset) rather than 30 array parameters: PostgreSQL
// parses JSON in C, where node-pg would escape every array element in JavaScript.
const INSERT_SQL = `INSERT INTO settlement_records (${COLS.join(', ')}, message_id, received_at, period)
  SELECT ${COLS.join(', ')}, $2::uuid, $3::timestamptz, to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')
  FROM jsonb_to_recordset($1::jsonb) AS x(${COLS.map((c) => `${c} ${TYPES[c] ?? (AMOUNT_COLS.has(c) ? 'numeric' : 'text')}`).join(', ')})
  ON CONFLICT (setl_id, status) DO NOTHING RETURNING record_index`;

interface Row { index: number; setl_id: string; status: string; sha: string; rec: Record<string, unknown>; messageId: string; receivedAt: Date }

function toRow(s: Settlement, index: number, messageId: string, receivedAt: Date): Row {
  const sha = contentHash(s);
  return { index, setl_id: s.setl_id, status: s.status, sha, rec: { ...s, content_sha256: sha, record_index: index }, messageId, receivedAt };
}

/** Insert one chunk; classify the rows that were already there as duplicates or conflicts. */
async function insertChunk(q: Sql, rows: Row[], rejected: Rejected[], lang: Lang): Promise<{ accepted: number; duplicates: number; firstDuplicateOf?: string }> {
  const ins = await q.query<{ record_index: number }>(INSERT_SQL, [JSON.stringify(rows.map((r) => r.rec)), rows[0]!.messageId, rows[0]!.receivedAt]);
  const inserted = new Set(ins.rows.map((r) => Number(r.record_index)));
  const rest = rows.filter((r) => !inserted.has(r.index));
  if (!rest.length) return { accepted: inserted.size, duplicates: 0 };
  const prev = await q.query<{ setl_id: string; status: string; content_sha256: string; message_id: string }>(
    `SELECT s.setl_id, s.status, s.content_sha256, s.message_id FROM settlement_records s
      JOIN unnest($1::text[], $2::text[]) AS k(setl_id, status) USING (setl_id, status)`,
    [rest.map((r) => r.setl_id), rest.map((r) => r.status)],
  );
  const byKey = new Map(prev.rows.map((p) => [`${p.setl_id}\u0000${p.status}`, p]));
  let duplicates = 0;
  let firstDuplicateOf: string | undefined;
  for (const r of rest) {
    const p = byKey.get(`${r.setl_id}\u0000${r.status}`)!;
    if (p.content_sha256 === r.sha) { duplicates++; firstDuplicateOf ??= p.message_id; continue; }
    rejected.push({ index: r.index, errors: [{ path: '/setl_id', code: 'IDEMPOTENCY_CONFLICT', message: lang === 'zh-CN' ? `setl_id ${r.setl_id}（${r.status}）已以不同内容受理` : `setl_id ${r.setl_id} (${r.status}) was accepted before with a different body` }] });
  }
  return { accepted: inserted.size, duplicates, firstDuplicateOf };
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
  o: { client: Client; validate: (n: 'settlement', d: unknown, l: Lang) => FieldError[]; lang: Lang; messageId: string; receivedAt: Date },
): Promise<{ accepted: number; duplicates: number; rejected: Rejected[] }> {
  const rejected: Rejected[] = [];
  let accepted = 0, duplicates = 0;
  for (let start = 0; start < records.length; start += CHUNK) {
    const rows: Row[] = [];
    records.slice(start, start + CHUNK).forEach((value, k) => {
      const row = checkRecord({ index: start + k, value }, o.client, o.validate, o.lang, o.messageId, o.receivedAt, rejected);
      if (row) rows.push(row);
    });
    if (!rows.length) continue;
    const r = await insertChunk(q, rows, rejected, o.lang);
    accepted += r.accepted; duplicates += r.duplicates;
  }
  return { accepted, duplicates, rejected };
}

class NothingAccepted extends Error {}

export function settlementFeedHandler(deps: IngestDeps) {
  return async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    const type = mediaType(req);
    if (type !== 'application/json' && type !== 'application/x-ndjson') throw unsupportedMedia(['application/json', 'application/x-ndjson']);
    const signed = beginSignedWrite(req, deps.clients, 'agency', deps.now());
    const declared = Number(req.headers['content-length']);
    if (declared > deps.maxFeedBytes) throw tooLarge(deps.maxFeedBytes);
    const meter = new BodyMeter(deps.maxFeedBytes, (b) => signed.verifier.update(b));
    pipeline(req, meter, () => undefined);
    const records = type === 'application/x-ndjson' ? ndjsonRecords(meter) : jsonRecords(meter);
    const receivedAt = new Date(deps.now());
    const validator = deps.validator;
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
        let batch: Row[] = [];
        // One chunk is inserted while the next is parsed and validated; never more than one in flight.
        let inflight: Promise<void> = Promise.resolve();
        let failure: unknown;
        const settle = async () => { await inflight; if (failure) throw failure; };
        const flush = async () => {
          await settle();
          if (!batch.length) return;
          const chunk = batch;
          batch = [];
          inflight = insertChunk(q, chunk, rejected, lang).then(
            (r) => { accepted += r.accepted; duplicates += r.duplicates; firstDuplicateOf ??= r.firstDuplicateOf; },
            (e) => { failure = e; },
          );
        };
        for await (const rec of records) {
          if (++seen > MAX_FEED_RECORDS) throw unprocessable([{ path: type === 'application/json' ? '/settlements' : '', code: 'TOO_MANY_RECORDS', message: lang === 'zh-CN' ? `每次请求最多 ${MAX_FEED_RECORDS} 条记录` : `at most ${MAX_FEED_RECORDS} records a request` }]);
          const row = checkRecord(rec, signed.client, validator.validate.bind(validator), lang, messageId, receivedAt, rejected);
          if (row) batch.push(row);
          if (batch.length >= CHUNK) await flush();
        }
        await flush();
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

function checkRecord(rec: RawRecord, client: Client, validate: (n: 'settlement', d: unknown, l: Lang) => FieldError[], lang: Lang, messageId: string, receivedAt: Date, rejected: Rejected[]): Row | undefined {
  if (rec.error !== undefined) {
    rejected.push({ index: rec.index, errors: [{ path: '', code: 'malformed_json', message: rec.error }] });
    return undefined;
  }
  const errors = validate('settlement', rec.value, lang);
  if (errors.length) { rejected.push({ index: rec.index, errors }); return undefined; }
  const s = normalize<Settlement>('settlement', rec.value);
  if (!inScope(client, { admdvs: s.insuplc_admdvs })) {
    rejected.push({ index: rec.index, errors: [{ path: '/insuplc_admdvs', code: 'OUT_OF_SCOPE', message: lang === 'zh-CN' ? `统筹区 ${s.insuplc_admdvs} 不在授权范围内` : `pooling region ${s.insuplc_admdvs} is outside client ${client.client_id}'s scope` }] });
    return undefined;
  }
  return toRow(s, rec.index, messageId, receivedAt);
}
