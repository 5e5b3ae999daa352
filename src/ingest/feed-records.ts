/**
 * The agency feed's per-record work, one batch at a time: parse (NDJSON lines), validate against the
 * Settlement schema, normalise, check scope, hash, and serialise the accepted rows as the JSON array
 * the insert reads with json_to_recordset. Pure CPU and no I/O, so the NDJSON feed runs it in worker
 * threads (feed-workers.ts) while the main thread streams the body and talks to PostgreSQL; the JSON
 * feed and the agency pull run the same code in-thread. Each record is accepted for insertion or
 * rejected with its own errors, exactly as if the records were checked one by one.
 */
import crypto from 'node:crypto';
import type { Client } from '../http/clients';
import { inScope } from '../http/auth';
import type { FieldError, Lang } from '../schemas/validator';
import { normalize } from '../schemas/normalize';
import { parseStrictJson, strictJsonError, type StrictJsonFinding } from '../schemas/strict-json';
import Assembler from 'stream-json/Assembler';
import type { Settlement } from '../schemas/types';
import { SETTLEMENT_ROW_COLUMNS, type StoredSettlementKey } from '../ledger/settlement-store';

export interface Rejected {
  index: number;
  errors: FieldError[];
}
/** SchemaValidator.validate, bound; `fromText` is the line a record was parsed from (see there). */
export type ValidateSettlement = (
  n: 'settlement',
  d: unknown,
  l: Lang,
  basePath?: string,
  fromText?: string,
) => FieldError[];
/** What the scope check needs of a client (no secrets: this crosses to worker threads). */
export type FeedClient = Pick<Client, 'client_id' | 'role' | 'scope'>;

/** The settlement_records columns each row carries, in payload order (the ledger's settlement-store reads them so). */
export const FEED_COLUMNS = SETTLEMENT_ROW_COLUMNS;

/**
 * Separators of the `text` payload: rows, fields, and the NULL marker. A record whose values hold a
 * control character (the separators among them) sends its whole batch as JSON.
 */
export const ROW_SEP = '\x1e',
  FIELD_SEP = '\x1f',
  NULL_FIELD = '\x1d';

export interface PreparedBatch {
  /** Records seen (blank NDJSON lines are not records). */
  seen: number;
  /** Rows that passed the checks, to be inserted. */
  rows: number;
  /**
   * The rows (each the normalised record plus content_sha256 and record_index), '' when none: as
   * `text`, FEED_COLUMNS' values joined by FIELD_SEP and rows by ROW_SEP, which PostgreSQL splits for
   * a third of the cost of reading JSON; or as a JSON array when a value holds a separator.
   */
  format: 'text' | 'json';
  payload: string;
  /** Records that failed a check, in record order. */
  rejected: Rejected[];
}

export interface RowKey {
  index: number;
  setl_id: string;
  status: string;
  sha: string;
  insuplc_admdvs: string;
}

/** readline's line endings (the feed used node:readline with crlfDelay: Infinity), so record indexes stay the same. */
export const LINE_END = /\r?\n|\r(?!\n)/;

class BatchBuilder {
  private seen = 0;
  /** Each row's normalised JSON, content hash and index; its text form while the batch can be sent as text. */
  private readonly json: string[] = [];
  private readonly shas: string[] = [];
  private readonly indexes: number[] = [];
  private readonly text: string[] = [];
  private textSafe = true;
  private readonly rejected: Rejected[] = [];
  /** The region of each setl_id accepted so far in this batch: a later record of it must name the same one. */
  private readonly regions = new Map<string, string>();
  constructor(
    private readonly client: FeedClient,
    private readonly validate: ValidateSettlement,
    private readonly lang: Lang,
  ) {}

  /** A record refused before validation: not JSON, a duplicate member name, too deep (parseStrictJson). */
  refused(index: number, error: FieldError) {
    this.seen++;
    this.rejected.push({ index, errors: [error] });
  }

  record(index: number, value: unknown, fromText?: string) {
    this.seen++;
    const errors = this.validate('settlement', value, this.lang, '', fromText);
    if (errors.length) {
      this.rejected.push({ index, errors });
      return;
    }
    const s = normalize<Settlement>('settlement', value);
    if (!inScope(this.client as Client, { admdvs: s.insuplc_admdvs })) {
      const message =
        this.lang === 'zh-CN'
          ? `统筹区 ${s.insuplc_admdvs} 不在授权范围内`
          : `pooling region ${s.insuplc_admdvs} is outside client ${this.client.client_id}'s scope`;
      this.rejected.push({ index, errors: [{ path: '/insuplc_admdvs', code: 'OUT_OF_SCOPE', message }] });
      return;
    }
    // A record never moves between regions, not even within one request (the stored rows are judged
    // by the insert, judgeStored below; this is the same rule for rows not yet stored).
    const earlier = this.regions.get(s.setl_id);
    if (earlier !== undefined && earlier !== s.insuplc_admdvs) {
      this.rejected.push({ index, errors: [regionMismatch(s.setl_id, earlier, this.lang)] });
      return;
    }
    this.regions.set(s.setl_id, s.insuplc_admdvs);
    // The normalised record's JSON text is canonical (schema key order): the same hash as
    // contentHash(), and the row itself when the batch goes as JSON; serialised once.
    const json = JSON.stringify(s);
    const sha = crypto.hash('sha256', json);
    this.json.push(json);
    this.shas.push(sha);
    this.indexes.push(index);
    // JSON.stringify writes \u escapes only for control characters (the separators among them) and
    // lone surrogates: such a batch goes as JSON, which PostgreSQL reads (or refuses) as it always did.
    if (this.textSafe && json.includes('\\u')) this.textSafe = false;
    if (this.textSafe) this.text.push(textRow(s as unknown as Record<string, unknown>, sha, index));
  }

  finish(): PreparedBatch {
    const rows = this.json.length;
    const format = this.textSafe ? 'text' : 'json';
    const payload = !rows
      ? ''
      : format === 'text'
        ? this.text.join(ROW_SEP)
        : `[${this.json.map((j, i) => `${j.slice(0, -1)},"content_sha256":"${this.shas[i]}","record_index":${this.indexes[i]}}`).join(',')}]`;
    return { seen: this.seen, rows, format, payload, rejected: this.rejected };
  }
}

function textRow(s: Record<string, unknown>, sha: string, index: number): string {
  const fields = new Array<string>(FEED_COLUMNS.length);
  for (let i = 0; i < FEED_COLUMNS.length; i++) {
    const c = FEED_COLUMNS[i]![0];
    const v = c === 'content_sha256' ? sha : c === 'record_index' ? index : s[c];
    fields[i] = v === undefined || v === null ? NULL_FIELD : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return fields.join(FIELD_SEP);
}

/** NDJSON text whose first line is record `start` (a batch ends at a line end, except the body's last). */
export function prepareLines(
  text: string,
  start: number,
  client: FeedClient,
  validate: ValidateSettlement,
  lang: Lang,
): PreparedBatch {
  const b = new BatchBuilder(client, validate, lang);
  // Splitting on one character is much cheaper than on the pattern; a body with no \r has no other line end.
  const lines = text.includes('\r') ? text.split(LINE_END) : text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    // Strict: a duplicate member name or nesting past MAX_JSON_DEPTH is this record's error.
    const parsed = parseStrictJson(line, lang);
    if (!parsed.ok) {
      b.refused(start + i, parsed.error);
      continue;
    }
    b.record(start + i, parsed.value, line);
  }
  return b.finish();
}

/**
 * Records already parsed (the JSON feed's array elements, the agency pull's records), with their
 * indexes; `refused` is what a StrictAssembler found in the record's text.
 */
export function prepareValues(
  records: readonly { index: number; value: unknown; refused?: StrictJsonFinding }[],
  client: FeedClient,
  validate: ValidateSettlement,
  lang: Lang,
): PreparedBatch {
  const b = new BatchBuilder(client, validate, lang);
  for (const r of records) {
    if (r.refused) b.refused(r.index, strictJsonError(r.refused, lang));
    else b.record(r.index, r.value);
  }
  return b.finish();
}

/**
 * stream-json's Assembler (the JSON feed builds each record with one), reading members as
 * JSON.parse does and noting the first duplicate member name (`refused`, with its path in the
 * record), which stream-json would let the later value silently replace. A `__proto__` member is
 * an own property, as JSON.parse makes it, not the record's prototype (whose members the schema
 * would otherwise see as the record's).
 */
export class StrictAssembler extends Assembler {
  refused: StrictJsonFinding | undefined;

  keyValue(key: string): void {
    const obj = this.current as Record<string, unknown>;
    if (Object.hasOwn(obj, key)) {
      if (!this.refused) {
        const at = [...(this.path as unknown as (string | number)[]), key];
        this.refused = {
          code: 'DUPLICATE_KEY',
          path: at.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
        };
      }
    } else if (key === '__proto__') {
      Object.defineProperty(obj, key, { value: undefined, writable: true, enumerable: true, configurable: true });
    }
    (Assembler.prototype as unknown as { keyValue(k: string): void }).keyValue.call(this, key);
  }
}

const at = (c: string) => FEED_COLUMNS.findIndex(([name]) => name === c);
const SETL_ID = at('setl_id'),
  STATUS = at('status'),
  SHA = at('content_sha256'),
  INDEX = at('record_index'),
  ADMDVS = at('insuplc_admdvs');

/** The keys of a batch's rows, read back from its payload (needed only when some row was not inserted). */
export function rowKeys(batch: PreparedBatch): RowKey[] {
  if (!batch.payload) return [];
  if (batch.format === 'json') {
    return (JSON.parse(batch.payload) as Record<string, string>[]).map((r) => ({
      index: Number(r.record_index),
      setl_id: r.setl_id!,
      status: r.status!,
      sha: r.content_sha256!,
      insuplc_admdvs: r.insuplc_admdvs!,
    }));
  }
  return batch.payload.split(ROW_SEP).map((row) => {
    const f = row.split(FIELD_SEP);
    return {
      index: Number(f[INDEX]),
      setl_id: f[SETL_ID]!,
      status: f[STATUS]!,
      sha: f[SHA]!,
      insuplc_admdvs: f[ADMDVS]!,
    };
  });
}

/** A stored row of a setl_id (either status), as judgeStored needs it. */
export type StoredRow = StoredSettlementKey;

function regionMismatch(setlId: string, stored: string, lang: Lang): FieldError {
  return {
    path: '/insuplc_admdvs',
    code: 'REGION_MISMATCH',
    message:
      lang === 'zh-CN'
        ? `setl_id ${setlId} 已记录在统筹区 ${stored}，结算记录不能改到其他统筹区`
        : `setl_id ${setlId} is recorded under pooling region ${stored}; a record cannot move to another region`,
  };
}

/**
 * The rows of a batch that the insert did not store, judged against what is stored under their
 * setl_id (the insert stores a row only when no row of its setl_id lies in another region). A setl_id
 * stored under a region outside the sender's scope is OUT_OF_SCOPE — one answer whatever that record
 * holds (valid or reversed, the same body or another), so it reveals nothing of it but that the id is
 * taken; under another region inside the scope, REGION_MISMATCH (a record never moves between
 * regions); otherwise the same (setl_id, status) with the same body is a duplicate, with another body
 * an IDEMPOTENCY_CONFLICT.
 */
export function judgeStored(
  rest: readonly RowKey[],
  stored: readonly StoredRow[],
  client: FeedClient,
  lang: Lang,
): { duplicates: number; firstDuplicateOf?: string; rejected: Rejected[] } {
  const bySetlId = new Map<string, StoredRow[]>();
  for (const p of stored) bySetlId.set(p.setl_id, [...(bySetlId.get(p.setl_id) ?? []), p]);
  const rejected: Rejected[] = [];
  let duplicates = 0;
  let firstDuplicateOf: string | undefined;
  for (const r of rest) {
    const rows = bySetlId.get(r.setl_id) ?? [];
    const elsewhere = rows.filter((p) => p.insuplc_admdvs !== r.insuplc_admdvs);
    if (elsewhere.some((p) => !inScope(client as Client, { admdvs: p.insuplc_admdvs }))) {
      const message =
        lang === 'zh-CN'
          ? `setl_id ${r.setl_id} 属于授权范围以外的统筹区`
          : `setl_id ${r.setl_id} belongs to a pooling region outside client ${client.client_id}'s scope`;
      rejected.push({ index: r.index, errors: [{ path: '/setl_id', code: 'OUT_OF_SCOPE', message }] });
      continue;
    }
    if (elsewhere[0]) {
      rejected.push({ index: r.index, errors: [regionMismatch(r.setl_id, elsewhere[0].insuplc_admdvs, lang)] });
      continue;
    }
    const same = rows.find((p) => p.status === r.status);
    if (same && same.content_sha256 === r.sha) {
      duplicates++;
      firstDuplicateOf ??= same.message_id;
      continue;
    }
    rejected.push({
      index: r.index,
      errors: [
        {
          path: '/setl_id',
          code: 'IDEMPOTENCY_CONFLICT',
          message:
            lang === 'zh-CN'
              ? `setl_id ${r.setl_id}（${r.status}）已以不同内容受理`
              : `setl_id ${r.setl_id} (${r.status}) was accepted before with a different body`,
        },
      ],
    });
  }
  return { duplicates, ...(firstDuplicateOf ? { firstDuplicateOf } : {}), rejected };
}
