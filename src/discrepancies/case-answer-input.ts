/**
 * The bodies of a party's answers on a case (spec §10), parsed without I/O: a comment `{note}`, a
 * dispute `{reason_code, note, attachments?}` and a decision `{decision, note}`. Every error names
 * its JSON Pointer path, so a client can tell which field to fix.
 */
import crypto from 'node:crypto';
import type { FieldError } from '../schemas/validator';

/** D01 paid outside the exchange (线下已付), D02 under audit (审核中), D03 the agency's record is wrong (经办记录有误), D04 declared correctly (申报无误), D99 other (note required). */
export const DISPUTE_REASON_CODES = ['D01', 'D02', 'D03', 'D04', 'D99'] as const;
export type DisputeReasonCode = (typeof DISPUTE_REASON_CODES)[number];

export const DISPUTE_REASON_ZH: Record<DisputeReasonCode, string> = {
  D01: '线下已付',
  D02: '审核中',
  D03: '经办记录有误',
  D04: '申报无误',
  D99: '其他',
};

/** Attachments of one dispute, decoded, in all (spec §10). */
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;
export const MAX_ATTACHMENTS = 20;
export const MAX_NOTE = 2000;
/** The JSON body of a dispute: 5 MiB as base64 is 6.67 MiB; the rest is room for the names and the note. */
export const DISPUTE_BODY_LIMIT = 8 * 1024 * 1024;

export type DisputeStatus = 'open' | 'upheld' | 'rejected';

export interface AttachmentMeta {
  id: string;
  filename: string;
  content_type: string;
  bytes: number;
  sha256: string;
}

/** The dispute in force on a case (the column `dispute`), as the API shows it. */
export interface CaseDispute {
  status: DisputeStatus;
  reason_code: DisputeReasonCode;
  note?: string;
  by: string;
  /** CST ISO 8601. */
  at: string;
  attachments?: AttachmentMeta[];
  decision_note?: string;
  decided_by?: string;
  decided_at?: string;
}

export interface NewAttachment {
  filename: string;
  content_type: string;
  content: Buffer;
  sha256: string;
}
export interface CommentInput {
  note: string;
}
export interface DisputeInput {
  reason_code: DisputeReasonCode;
  note?: string;
  attachments: NewAttachment[];
}
export interface DecisionInput {
  decision: 'upheld' | 'rejected';
  note: string;
}

export type Parsed<T> = { value: T; errors?: undefined } | { value?: undefined; errors: FieldError[] };

const isObject = (b: unknown): b is Record<string, unknown> => typeof b === 'object' && b !== null && !Array.isArray(b);

function unknownMembers(b: Record<string, unknown>, allowed: readonly string[], at = ''): FieldError[] {
  return Object.keys(b)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ path: `${at}/${k}`, code: 'additionalProperties', message: 'is not a member of this body' }));
}

function noteErrors(v: unknown, required: boolean, why = 'a note of 1–2000 characters is required'): FieldError[] {
  if (v === undefined) return required ? [{ path: '/note', code: 'required', message: why }] : [];
  if (typeof v !== 'string') return [{ path: '/note', code: 'type', message: 'must be a string' }];
  if (v.length > MAX_NOTE)
    return [{ path: '/note', code: 'maxLength', message: `must be at most ${MAX_NOTE} characters` }];
  if (required && !v.trim()) return [{ path: '/note', code: 'required', message: why }];
  return [];
}

const notAnObject = (): Parsed<never> => ({
  errors: [{ path: '', code: 'type', message: 'the body must be a JSON object' }],
});

export function parseComment(body: unknown): Parsed<CommentInput> {
  if (!isObject(body)) return notAnObject();
  const errors = [...unknownMembers(body, ['note']), ...noteErrors(body.note, true)];
  return errors.length ? { errors } : { value: { note: (body.note as string).trim() } };
}

export function parseDecision(body: unknown): Parsed<DecisionInput> {
  if (!isObject(body)) return notAnObject();
  const errors = unknownMembers(body, ['decision', 'note']);
  if (body.decision !== 'upheld' && body.decision !== 'rejected')
    errors.push({
      path: '/decision',
      code: body.decision === undefined ? 'required' : 'enum',
      message: 'must be upheld or rejected',
    });
  errors.push(...noteErrors(body.note, true, 'the decision needs a note of 1–2000 characters: the party is told why'));
  return errors.length
    ? { errors }
    : { value: { decision: body.decision as 'upheld' | 'rejected', note: (body.note as string).trim() } };
}

// Standard padded base64 (RFC 4648 §4): Buffer.from would silently skip anything else. A flat
// character class and a length check, not a repeated group: a 7 MB string must not recurse.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string) => s.length % 4 === 0 && BASE64_CHARS.test(s);
// A file's name as the party's system knows it: no folders, no control characters.
const FILENAME = /^[^/\\\u0000-\u001f\u007f]{1,200}$/;

const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  xml: 'application/xml',
  zip: 'application/zip',
  ofd: 'application/ofd',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
export const contentTypeOf = (filename: string): string =>
  TYPES[/\.([A-Za-z0-9]{1,8})$/.exec(filename)?.[1]?.toLowerCase() ?? ''] ?? 'application/octet-stream';

export function parseDispute(body: unknown): Parsed<DisputeInput> {
  if (!isObject(body)) return notAnObject();
  const errors = unknownMembers(body, ['reason_code', 'note', 'attachments']);
  const code = body.reason_code;
  const known = typeof code === 'string' && (DISPUTE_REASON_CODES as readonly string[]).includes(code);
  if (!known)
    errors.push({
      path: '/reason_code',
      code: code === undefined ? 'required' : 'enum',
      message: `must be one of ${DISPUTE_REASON_CODES.join(', ')}`,
    });
  errors.push(...noteErrors(body.note, code === 'D99', 'reason D99 (other) needs a note saying what is wrong'));
  const attachments: NewAttachment[] = [];
  if (body.attachments !== undefined) {
    if (!Array.isArray(body.attachments))
      errors.push({ path: '/attachments', code: 'type', message: 'must be an array' });
    else if (body.attachments.length > MAX_ATTACHMENTS)
      errors.push({ path: '/attachments', code: 'maxItems', message: `at most ${MAX_ATTACHMENTS} files` });
    else {
      let total = 0;
      body.attachments.forEach((a: unknown, i) => {
        const at = `/attachments/${i}`;
        if (!isObject(a)) {
          errors.push({ path: at, code: 'type', message: 'must be an object {filename, content_base64}' });
          return;
        }
        errors.push(...unknownMembers(a, ['filename', 'content_base64'], at));
        const nameOk = typeof a.filename === 'string' && FILENAME.test(a.filename) && a.filename.trim() === a.filename;
        if (!nameOk)
          errors.push({
            path: `${at}/filename`,
            code: a.filename === undefined ? 'required' : 'pattern',
            message: 'a file name of 1–200 characters, without folders or control characters',
          });
        const b64 = a.content_base64;
        if (typeof b64 !== 'string' || !b64.length || !isBase64(b64)) {
          errors.push({
            path: `${at}/content_base64`,
            code: b64 === undefined ? 'required' : 'contentEncoding',
            message: "the file's bytes as standard padded base64 (RFC 4648 §4), not empty",
          });
          return;
        }
        // Counted from the text before decoding, so an oversized body is refused without holding it twice.
        total += (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
        if (total > MAX_ATTACHMENT_BYTES || !nameOk) return;
        const content = Buffer.from(b64, 'base64');
        attachments.push({
          filename: a.filename as string,
          content_type: contentTypeOf(a.filename as string),
          content,
          sha256: crypto.createHash('sha256').update(content).digest('hex'),
        });
      });
      if (total > MAX_ATTACHMENT_BYTES)
        errors.push({
          path: '/attachments',
          code: 'maxBytes',
          message: `the files may hold ${MAX_ATTACHMENT_BYTES} bytes (5 MiB) in all; these hold ${total}`,
        });
    }
  }
  if (errors.length) return { errors };
  const note = typeof body.note === 'string' && body.note.trim() ? body.note.trim() : undefined;
  return { value: { reason_code: code as DisputeReasonCode, ...(note ? { note } : {}), attachments } };
}
