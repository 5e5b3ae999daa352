/**
 * The platform's detail files (spec §9), pure: the bytes of a 9101 upload (`fsUploadIn.in`), the
 * zip around them, table 200 (an institution's settlements, one tab-separated UTF-8 line each) and
 * table 201 (the result of a 3202, one line per differing settlement). No I/O. Every refusal names
 * the field and, inside a file, the line (zh-CN), so the service answers infcode −1 with it.
 *
 * How `in` arrives: the national interface calls it 字节数组 (a byte array). Java clients serialising
 * byte[] with Gson send an array of numbers; C# clients send a base64 string — newtouch-cloud/openhis
 * (CommonYiBaoApp YiBaoController.FsUploadIn: `input.fsUploadIn.@in = Convert.ToBase64String(buffer)`
 * of the zipped .txt; the field is declared `object` in WinServiceAPI/YiBaoInterface/Models/Input/
 * Input_9101.cs). Both are taken; numbers must be integers 0–255. The same client zips a single .txt
 * and names the upload `….txt.zip`, which is the variant we follow: a zip holds exactly one file.
 *
 * Zip: fflate's streaming Unzip, fed 8 KiB at a time, counting what it inflates — no more than
 * MAX_ENTRIES entries, one file, output within maxBytes and MAX_RATIO × the archive, stopped as soon
 * as the count passes (declared sizes are not trusted: unzipSync inflates a lying entry to its end,
 * a CPU bomb). Streaming also reads zips whose sizes follow the data (data descriptors: Java's
 * ZipOutputStream).
 */
import { Unzip, UnzipInflate, zipSync } from 'fflate';

export interface DetailLimits {
  /** Uncompressed bytes of the file (plain, or inside the zip). */
  maxBytes: number;
  maxRows: number;
}

export const DETAIL_LIMITS: DetailLimits = { maxBytes: 64 * 1024 * 1024, maxRows: 500_000 };
export const MAX_ENTRIES = 16;
/** Uncompressed ÷ compressed of the whole archive: a TSV deflates 5–20×; 200× is a bomb. */
export const MAX_RATIO = 200;

/** Table 200 (the columns of a 9101 detail file, in order). */
export const TABLE_200 = ['setl_id', 'mdtrt_id', 'psn_no', 'medfee_sumamt', 'fund_pay_sumamt', 'acct_pay', 'refd_setl_flag'] as const;
/** Table 201 (the columns of a 3202 result file, in order). */
export const TABLE_201 = ['psn_no', 'mdtrt_id', 'setl_id', 'msgid', 'stmt_rslt', 'refd_setl_flag', 'memo', 'medfee_sumamt', 'fund_pay_sumamt', 'acct_pay'] as const;

/** One line of table 200: amounts as sent (text, at most 2 decimals, may be negative for a refund). */
export interface DetailRow {
  line: number;
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  medfee_sumamt: string;
  fund_pay_sumamt: string;
  acct_pay: string;
  refd_setl_flag: '0' | '1';
}

export type ResultRow = Record<(typeof TABLE_201)[number], string>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

const refuse = (field: string, message: string): { ok: false; field: string; message: string } => ({ ok: false, field, message });

const IN = 'input.fsUploadIn.in';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `fsUploadIn.in`: an array of byte values or a base64 string → the bytes. */
export function decodeUploadIn(v: unknown): Parsed<Buffer> {
  if (typeof v === 'string') {
    const s = v.replace(/\s+/g, '');
    if (s.length % 4 !== 0 || !BASE64.test(s)) return refuse(IN, '文件数据应为字节数组或 base64 字符串（base64 格式不正确）');
    return { ok: true, value: Buffer.from(s, 'base64') };
  }
  if (Array.isArray(v)) {
    const out = Buffer.allocUnsafe(v.length);
    for (let i = 0; i < v.length; i++) {
      const b = v[i];
      // Java's byte is signed: −128…−1 are the bytes 128…255.
      if (typeof b !== 'number' || !Number.isInteger(b) || b < -128 || b > 255) return refuse(`${IN}[${i}]`, '字节数组的元素应为 0–255（或 −128–127）的整数');
      out[i] = b & 0xff;
    }
    return { ok: true, value: out };
  }
  return refuse(IN, '缺少文件数据：应为字节数组或 base64 字符串');
}

export const isZipName = (filename: string) => /\.zip$/i.test(filename);

/** The file's own bytes: unzipped (one entry, within the limits) when the name ends in .zip. */
export function fileContent(bytes: Uint8Array, filename: string, limits: DetailLimits = DETAIL_LIMITS): Parsed<Uint8Array> {
  if (!isZipName(filename)) {
    if (bytes.length > limits.maxBytes) return refuse(IN, `文件过大：${bytes.length} 字节，上限 ${limits.maxBytes} 字节`);
    return { ok: true, value: bytes };
  }
  // Output allowed: the size limit, and no more than MAX_RATIO times the archive (1 MiB at least).
  const allowed = Math.min(limits.maxBytes, Math.max(1024 * 1024, MAX_RATIO * bytes.length));
  let entries = 0;
  let files = 0;
  let total = 0;
  let problem: string | undefined;
  const chunks: Uint8Array[] = [];
  const uz = new Unzip();
  uz.register(UnzipInflate);
  uz.onfile = (f) => {
    entries++;
    if (problem) return;
    if (entries > MAX_ENTRIES) { problem = `zip 文件条目过多：超过 ${MAX_ENTRIES} 个`; return; }
    if (f.name.endsWith('/') || f.name.startsWith('__MACOSX/')) return;
    if (++files > 1) { problem = 'zip 文件应只含一个明细文件（.txt）'; return; }
    f.ondata = (err, chunk) => {
      if (problem) return;
      if (err) { problem = `zip 文件无法解压：${err.message || '数据损坏'}`; return; }
      total += chunk.length;
      if (total > allowed) {
        problem = total > limits.maxBytes
          ? `zip 解压后过大：超过 ${limits.maxBytes} 字节`
          : `zip 压缩比异常（超过 ${MAX_RATIO} 倍），疑为压缩炸弹`;
        f.terminate();
        return;
      }
      chunks.push(chunk);
    };
    f.start();
  };
  try {
    // Small pushes: one push inflates at most ~1032× its size before the count above can stop it.
    for (let i = 0; i < bytes.length && !problem; i += PUSH_BYTES) uz.push(bytes.subarray(i, i + PUSH_BYTES), i + PUSH_BYTES >= bytes.length);
  } catch (e) {
    problem ??= `zip 文件无法解压：${(e as Error).message || '格式不正确'}`;
  }
  if (problem) return refuse(IN, problem);
  if (!files) return refuse(IN, 'zip 文件中没有明细文件（或不是 zip 格式）');
  return { ok: true, value: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}

const PUSH_BYTES = 8192;

const AMOUNT = /^-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$/;
const ID = /^[^\t\r\n\u0000-\u001f]{1,30}$/;

/** Table 200 from the file's bytes: UTF-8 (a BOM is dropped), 7 tab-separated columns a line; blank lines skipped. */
export function parseTable200(content: Uint8Array, limits: DetailLimits = DETAIL_LIMITS): Parsed<DetailRow[]> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return refuse(`${IN} 第 ${lineOfBadUtf8(content)} 行`, '文件不是有效的 UTF-8 文本（可能是 GBK 编码）：请以 UTF-8 保存');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const rows: DetailRow[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() === '') continue;
    const n = i + 1;
    const cols = l.split('\t');
    if (rows.length === 0 && cols[0] === 'setl_id') continue; // a header line naming the columns
    const at = (c: string) => `${IN} 第 ${n} 行 ${c}`;
    if (cols.length !== TABLE_200.length) {
      return refuse(`${IN} 第 ${n} 行`, `应有 ${TABLE_200.length} 列（${TABLE_200.join('、')}，以制表符分隔），实有 ${cols.length} 列`);
    }
    const [setl_id, mdtrt_id, psn_no, medfee, fund, acct, flag] = cols.map((c) => c.trim()) as [string, string, string, string, string, string, string];
    for (const [name, v] of [['setl_id', setl_id], ['mdtrt_id', mdtrt_id], ['psn_no', psn_no]] as const) {
      if (!ID.test(v)) return refuse(at(name), '应为 1–30 个字符的编号');
    }
    for (const [name, v] of [['medfee_sumamt', medfee], ['fund_pay_sumamt', fund], ['acct_pay', acct]] as const) {
      if (!AMOUNT.test(v)) return refuse(at(name), `金额格式不正确：${v.slice(0, 20)}（元，最多两位小数）`);
    }
    if (flag !== '0' && flag !== '1') return refuse(at('refd_setl_flag'), `退费结算标志应为 0 或 1，实为 ${flag.slice(0, 10)}`);
    const key = `${setl_id}\t${flag}`;
    const before = seen.get(key);
    if (before !== undefined) return refuse(at('setl_id'), `结算 ${setl_id}（退费结算标志 ${flag}）与第 ${before} 行重复`);
    seen.set(key, n);
    if (rows.length >= limits.maxRows) return refuse(`${IN} 第 ${n} 行`, `明细超过 ${limits.maxRows} 行`);
    rows.push({ line: n, setl_id, mdtrt_id, psn_no, medfee_sumamt: medfee, fund_pay_sumamt: fund, acct_pay: acct, refd_setl_flag: flag });
  }
  if (!rows.length) return refuse(IN, '文件没有明细行');
  return { ok: true, value: rows };
}

/** The 1-based line holding the first byte that is not valid UTF-8. */
function lineOfBadUtf8(b: Uint8Array): number {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) { line++; lineStart = i + 1; continue; }
    if (b[i]! < 0x80) continue;
    // Decode the line so far: the first line that fails is the answer.
    let end = b.indexOf(0x0a, i);
    if (end < 0) end = b.length;
    try { new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(lineStart, end)); } catch { return line; }
    i = end - 1;
  }
  return line;
}

/** Table 201 as bytes: one tab-separated UTF-8 line per row, each ending in \n. */
export function writeTable201(rows: readonly ResultRow[]): Uint8Array {
  const clean = (v: string) => v.replace(/[\t\r\n]/g, ' ');
  return Buffer.from(rows.map((r) => `${TABLE_201.map((c) => clean(r[c])).join('\t')}\n`).join(''), 'utf8');
}

/** A zip holding one file (the result of a zipped upload is zipped too). */
export function zipOne(name: string, content: Uint8Array): Uint8Array {
  return zipSync({ [name]: content }, { level: 6 });
}
