/**
 * The exchange schemas (`schemas/*.schema.json`, JSON Schema 2020-12) compiled once with ajv.
 * Errors come out as `{path, code, message}` with `path` a JSON Pointer into the body, in English
 * or Chinese (ajv-i18n) as the request asks.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import localizeZh from 'ajv-i18n/localize/zh';
import fs from 'node:fs';
import path from 'node:path';
import { isValidCertno } from './gb11643';
import { parseWireTime } from '../time';
import { MAX_JSON_DEPTH, strictJsonError } from './strict-json';
import type { FieldError, Lang } from './field-error';

export const SCHEMA_DIR = path.resolve(__dirname, '..', '..', 'schemas');
export const SCHEMA_BASE = 'https://schemas.hifob-gateway.org/v1/';

export type { FieldError, Lang } from './field-error';

export type SchemaName =
  | 'settlement' | 'settlement-feed' | 'settlement-batch' | 'insurer-payment'
  | 'recovery' | 'spending-plan' | 'disbursement' | 'problem'
  | 'premium-collection' | 'fund-transfer' | 'insurer-cost-report' | 'platform-envelope';

/** Every schema file, parsed (the OpenAPI document is generated from these). */
export function loadSchemaFiles(): Record<string, { $id: string } & Record<string, unknown>> {
  const out: Record<string, { $id: string } & Record<string, unknown>> = {};
  for (const f of fs.readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json')).sort()) {
    out[f.replace('.schema.json', '')] = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8'));
  }
  return out;
}

function numberHasFenPrecision(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const s = String(n);
  if (/e/i.test(s)) return n === 0; // 1e-7 or 1e+21: too small or too large for an amount
  const [int, frac = ''] = s.replace('-', '').split('.');
  const digits = (int!.replace(/^0+/, '') + frac).replace(/^0+/, '');
  return frac.length <= 2 && digits.length <= 15;
}

const FORMAT_MESSAGES: Record<string, { en: string; zh: string }> = {
  'wire-time': { en: 'must be ISO 8601 with an offset (2024-05-03T10:15:00+08:00) or yyyy-MM-dd HH:mm:ss (China Standard Time), and a real date', zh: '应为带时区的 ISO 8601 时间（如 2024-05-03T10:15:00+08:00）或 yyyy-MM-dd HH:mm:ss（北京时间），且为真实日期' },
  gb11643: { en: 'must be an 18-character ID number passing the GB 11643 check digit', zh: '应为通过 GB 11643 校验码的 18 位身份证号' },
};
const FEN_MESSAGE = { en: 'must be an amount with at most 2 decimals and 15 significant digits', zh: '金额最多两位小数、15 位有效数字' };

export class SchemaValidator {
  private readonly ajv: Ajv2020;
  private readonly fns = new Map<SchemaName, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, messages: true });
    addFormats(this.ajv, ['date', 'uri']);
    this.ajv.addFormat('wire-time', { type: 'string', validate: (s: string) => parseWireTime(s) !== undefined });
    this.ajv.addFormat('gb11643', { type: 'string', validate: isValidCertno });
    this.ajv.addKeyword({
      keyword: 'fenAmount',
      schemaType: 'boolean',
      validate: (on: boolean, data: unknown) => !on || typeof data !== 'number' || numberHasFenPrecision(data),
      errors: false,
    });
    for (const schema of Object.values(loadSchemaFiles())) this.ajv.addSchema(schema);
  }

  private fn(name: SchemaName): ValidateFunction {
    let f = this.fns.get(name);
    if (!f) {
      f = this.ajv.getSchema(`${SCHEMA_BASE}${name}.schema.json`);
      if (!f) throw new Error(`no schema ${name}`);
      this.fns.set(name, f);
    }
    return f;
  }

  /**
   * Validate; on failure return the errors with paths relative to `basePath` (a JSON Pointer).
   * `fromText`: the JSON text `data` was parsed from by parseStrictJson/scanJson (so its nesting is
   * already bounded): a text without a `\u` escape cannot hold text PostgreSQL refuses (a NUL must
   * be escaped in JSON, and UTF-8 decodes to no lone surrogate), so the walk for it is skipped.
   */
  validate(name: SchemaName, data: unknown, lang: Lang = 'en', basePath = '', fromText?: string): FieldError[] {
    const f = this.fn(name);
    // ajv looks only at the schema's properties, so a deep value in an unknown one is not walked
    // here (measured: a 100,000-level array in an unknown property validates).
    if (!f(data)) return toFieldErrors(f.errors ?? [], lang, basePath);
    if (fromText !== undefined && !fromText.includes('\\u')) return [];
    return unstorableText(data, lang, basePath);
  }
}

/** Text PostgreSQL cannot store (text and jsonb refuse U+0000; UTF-8 has no unpaired surrogate). */
const UNSTORABLE = /\u0000|[\uD800-\uDFFF]/u;
const UNSTORABLE_MESSAGE = { en: 'must not contain the NUL character (U+0000) or an unpaired surrogate', zh: '不得包含 NUL 字符（U+0000）或不成对的代理项' };

/**
 * Strings and property names the database could not store, wherever they are (found by the long
 * fuzzing run: a NUL in `med_type` reached the INSERT and answered 500), and nesting deeper than
 * MAX_JSON_DEPTH (NESTING_TOO_DEEP, as parseStrictJson reports it: a record of the JSON feed or
 * of the agency pull was parsed without our scanner).
 *
 * Iterative, with its own stack: a recursive walk overflowed the call stack on a 20,000-level
 * object in an unknown property (answered 500). The path is built only for a hit: this runs on
 * every record of a 100,000-record feed.
 */
export function unstorableText(data: unknown, lang: Lang, basePath = ''): FieldError[] {
  const out: FieldError[] = [];
  const message = lang === 'zh-CN' ? UNSTORABLE_MESSAGE.zh : UNSTORABLE_MESSAGE.en;
  // Open containers: the container, its keys (objects) and the position of the child being visited.
  const containers: unknown[] = [];
  const keys: (string[] | undefined)[] = [];
  const pos: number[] = [];
  let top = 0;
  const pathTo = (extra?: string) => {
    let p = basePath;
    for (let d = 0; d < top; d++) {
      const ks = keys[d];
      p += `/${ks ? escapePointer(ks[pos[d]! - 1]!) : pos[d]! - 1}`;
    }
    return extra === undefined ? p : `${p}/${escapePointer(extra)}`;
  };
  let v: unknown = data;
  for (;;) {
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) out.push({ path: pathTo(), code: 'unstorableText', message });
    } else if (v !== null && typeof v === 'object') {
      if (top >= MAX_JSON_DEPTH) {
        out.push(strictJsonError({ code: 'NESTING_TOO_DEEP', path: '' }, lang, pathTo()));
      } else {
        const ks = Array.isArray(v) ? undefined : Object.keys(v);
        if (ks) for (const k of ks) if (UNSTORABLE.test(k)) out.push({ path: pathTo(k), code: 'unstorableText', message });
        containers[top] = v; keys[top] = ks; pos[top] = 0; top++;
      }
    }
    if (out.length >= 100) break;
    // The next value: the following child of the innermost container that has one.
    for (;;) {
      if (top === 0) return out;
      const d = top - 1;
      const ks = keys[d], c = containers[d], p = pos[d]!;
      if (p < (ks ? ks.length : (c as unknown[]).length)) {
        pos[d] = p + 1;
        v = ks ? (c as Record<string, unknown>)[ks[p]!] : (c as unknown[])[p];
        break;
      }
      top--;
    }
  }
  return out.slice(0, 100);
}

/** ajv errors → our field errors; `required` points at the missing property itself. */
export function toFieldErrors(errors: ErrorObject[], lang: Lang, basePath = ''): FieldError[] {
  const list = errors.map((e) => ({ ...e, params: { ...e.params } }));
  if (lang === 'zh-CN') localizeZh(list);
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of list) {
    // Amount is `type: [string, number]` with a string-only pattern; don't report the same field twice.
    let p = basePath + e.instancePath;
    if (e.keyword === 'required') p += `/${escapePointer(String((e.params as { missingProperty: string }).missingProperty))}`;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'format') {
      const m = FORMAT_MESSAGES[String((e.params as { format: string }).format)];
      if (m) message = lang === 'zh-CN' ? m.zh : m.en;
    }
    if (e.keyword === 'fenAmount') message = lang === 'zh-CN' ? FEN_MESSAGE.zh : FEN_MESSAGE.en;
    if (e.keyword === 'pattern' && /Amount$/.test(e.schemaPath.split('/').slice(-2)[0] ?? '')) message = lang === 'zh-CN' ? FEN_MESSAGE.zh : FEN_MESSAGE.en;
    const key = `${p}|${e.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: p, code: e.keyword, message });
  }
  return out.slice(0, 100);
}

export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
