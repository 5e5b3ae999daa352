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
 * Zip: fflate's streaming Unzip reads the archive (no more than MAX_ENTRIES entries, one file; it
 * also reads zips whose sizes follow the data — data descriptors: Java's ZipOutputStream), and the
 * entry is inflated by Node's zlib (native: 4–5× fflate's JavaScript inflate, 50 ms of a 100,000-line
 * file) with its output limited to maxBytes and MAX_RATIO × the archive: zlib stops as soon as its
 * output passes the limit (maxOutputLength), so declared sizes are not trusted and a lying entry
 * costs no more than the limit (unzipSync would inflate it to its end, a CPU bomb).
 */
import zlib from 'node:zlib';
import { Unzip, zipSync, type FlateError, type UnzipDecoder } from 'fflate';

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
export const TABLE_200 = [
  'setl_id',
  'mdtrt_id',
  'psn_no',
  'medfee_sumamt',
  'fund_pay_sumamt',
  'acct_pay',
  'refd_setl_flag',
] as const;
/** Table 201 (the columns of a 3202 result file, in order). */
export const TABLE_201 = [
  'psn_no',
  'mdtrt_id',
  'setl_id',
  'msgid',
  'stmt_rslt',
  'refd_setl_flag',
  'memo',
  'medfee_sumamt',
  'fund_pay_sumamt',
  'acct_pay',
] as const;

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

const refuse = (field: string, message: string): { ok: false; field: string; message: string } => ({
  ok: false,
  field,
  message,
});

const IN = 'input.fsUploadIn.in';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `fsUploadIn.in`: an array of byte values or a base64 string → the bytes. */
export function decodeUploadIn(v: unknown): Parsed<Buffer> {
  if (typeof v === 'string') {
    const s = v.replace(/\s+/g, '');
    if (s.length % 4 !== 0 || !BASE64.test(s))
      return refuse(IN, '文件数据应为字节数组或 base64 字符串（base64 格式不正确）');
    return { ok: true, value: Buffer.from(s, 'base64') };
  }
  if (Array.isArray(v)) {
    const out = Buffer.allocUnsafe(v.length);
    for (let i = 0; i < v.length; i++) {
      const b = v[i];
      // Java's byte is signed: −128…−1 are the bytes 128…255.
      if (typeof b !== 'number' || !Number.isInteger(b) || b < -128 || b > 255)
        return refuse(`${IN}[${i}]`, '字节数组的元素应为 0–255（或 −128–127）的整数');
      out[i] = b & 0xff;
    }
    return { ok: true, value: out };
  }
  return refuse(IN, '缺少文件数据：应为字节数组或 base64 字符串');
}

export const isZipName = (filename: string) => /\.zip$/i.test(filename);

/** The file's own bytes: unzipped (one entry, within the limits) when the name ends in .zip. */
export function fileContent(
  bytes: Uint8Array,
  filename: string,
  limits: DetailLimits = DETAIL_LIMITS,
): Parsed<Uint8Array> {
  if (!isZipName(filename)) {
    if (bytes.length > limits.maxBytes)
      return refuse(IN, `文件过大：${bytes.length} 字节，上限 ${limits.maxBytes} 字节`);
    return { ok: true, value: bytes };
  }
  // Output allowed: the size limit, and no more than MAX_RATIO times the archive (1 MiB at least).
  const allowed = Math.min(limits.maxBytes, Math.max(1024 * 1024, MAX_RATIO * bytes.length));
  const tooLarge =
    allowed < limits.maxBytes
      ? `zip 压缩比异常（超过 ${MAX_RATIO} 倍），疑为压缩炸弹`
      : `zip 解压后过大：超过 ${limits.maxBytes} 字节`;
  let entries = 0;
  let files = 0;
  let problem: string | undefined;
  let content: Uint8Array | undefined;
  const uz = new Unzip();
  uz.register(nativeInflate(allowed));
  uz.onfile = (f) => {
    entries++;
    if (problem) return;
    if (entries > MAX_ENTRIES) {
      problem = `zip 文件条目过多：超过 ${MAX_ENTRIES} 个`;
      return;
    }
    if (f.name.endsWith('/') || f.name.startsWith('__MACOSX/')) return;
    if (++files > 1) {
      problem = 'zip 文件应只含一个明细文件（.txt）';
      return;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    f.ondata = (err, chunk, final) => {
      if (problem) return;
      if (err) {
        problem = err.code === TOO_LARGE ? tooLarge : `zip 文件无法解压：${err.message || '数据损坏'}`;
        return;
      }
      total += chunk.length;
      // A stored (uncompressed) entry comes as it is, in pieces: counted here.
      if (total > allowed) {
        problem = tooLarge;
        f.terminate();
        return;
      }
      if (chunk.length) chunks.push(chunk);
      if (final) content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    };
    f.start();
  };
  try {
    // The archive in pieces: the entry's compressed bytes are handed to the decoder as they come.
    for (let i = 0; i < bytes.length && !problem; i += PUSH_BYTES)
      uz.push(bytes.subarray(i, i + PUSH_BYTES), i + PUSH_BYTES >= bytes.length);
  } catch (e) {
    problem ??= `zip 文件无法解压：${(e as Error).message || '格式不正确'}`;
  }
  if (problem) return refuse(IN, problem);
  if (!files) return refuse(IN, 'zip 文件中没有明细文件（或不是 zip 格式）');
  if (!content) return refuse(IN, 'zip 文件无法解压：数据不完整');
  return { ok: true, value: content };
}

const PUSH_BYTES = 64 * 1024;
const TOO_LARGE = 1000;

/**
 * fflate's decoder for deflate (method 8) backed by zlib: it keeps the compressed pieces and
 * inflates them at the entry's end in one call, its output limited to `limit` bytes — past it
 * zlib stops and throws (ERR_BUFFER_TOO_LARGE), answered as an error of code TOO_LARGE.
 */
function nativeInflate(limit: number) {
  return class NativeInflate implements UnzipDecoder {
    static readonly compression = 8;
    ondata: (err: FlateError | null, data: Uint8Array, final: boolean) => void = () => undefined;
    private readonly parts: Uint8Array[] = [];
    private done = false;
    // fflate constructs it with (filename, compressed size, size); the declared sizes are not used.
    push(chunk: Uint8Array, final: boolean): void {
      if (this.done) return;
      if (chunk.length) this.parts.push(chunk);
      if (!final) return;
      this.done = true;
      let out: Buffer;
      try {
        out = zlib.inflateRawSync(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts), {
          maxOutputLength: limit + 1,
        });
      } catch (e) {
        const err = Object.assign(new Error((e as Error).message), {
          code: (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? TOO_LARGE : 1,
        }) as FlateError;
        this.ondata(err, new Uint8Array(0), true);
        return;
      }
      this.ondata(null, out, true);
    }
    terminate(): void {
      this.done = true;
      this.parts.length = 0;
    }
  };
}

/**
 * An amount: `-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?` (yuan, at most two decimals), checked by hand:
 * the parser runs over every line of a file of up to 500,000, so no regex, split or array per line.
 */
function isAmount(v: string): boolean {
  const n = v.length;
  let i = v.charCodeAt(0) === 0x2d ? 1 : 0;
  const first = i;
  while (i < n && isDigit(v.charCodeAt(i))) i++;
  const digits = i - first;
  if (digits === 0 || digits > 14 || (digits > 1 && v.charCodeAt(first) === 0x30)) return false;
  if (i === n) return true;
  if (v.charCodeAt(i) !== 0x2e) return false;
  const decimals = n - i - 1;
  if (decimals < 1 || decimals > 2) return false;
  for (i++; i < n; i++) if (!isDigit(v.charCodeAt(i))) return false;
  return true;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** An id: 1–30 UTF-16 units, none a control character (U+0000–U+001F: tab, CR and LF among them). */
function isId(v: string): boolean {
  if (v.length < 1 || v.length > 30) return false;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) < 0x20) return false;
  return true;
}

/** May `trim()` change a text that starts or ends with this unit? (ASCII space and controls; any non-ASCII unit, to be exact.) */
const mayTrim = (c: number) => c <= 0x20 || c >= 0x80;

/** text.slice(from, to).trim(), without the trim's copy for a field that has nothing to trim. */
function field(text: string, from: number, to: number): string {
  const v = text.slice(from, to);
  return v.length && (mayTrim(v.charCodeAt(0)) || mayTrim(v.charCodeAt(v.length - 1))) ? v.trim() : v;
}

/** Whether text[from, to) is only whitespace, as `trim() === ''` says. */
function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
    if (c < 0x80) return false;
    return text.slice(i, to).trim() === '';
  }
  return true;
}

const COLUMNS = TABLE_200.length;
const lineField = (n: number, c: string) => `${IN} 第 ${n} 行 ${c}`;
const badAmount = (n: number, c: string, v: string) =>
  refuse(lineField(n, c), `金额格式不正确：${v.slice(0, 20)}（元，最多两位小数）`);

/**
 * Table 200 from the file's bytes: UTF-8 (a BOM is dropped), 7 tab-separated columns a line (CRLF
 * or LF), blank lines skipped, a first line naming the columns (setl_id …) skipped; each field
 * trimmed. One pass over the text: lines found with indexOf, fields by their tabs, cut with slice.
 */
export function parseTable200(content: Uint8Array, limits: DetailLimits = DETAIL_LIMITS): Parsed<DetailRow[]> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return refuse(
      `${IN} 第 ${lineOfBadUtf8(content)} 行`,
      '文件不是有效的 UTF-8 文本（可能是 GBK 编码）：请以 UTF-8 保存',
    );
  }
  const rows: DetailRow[] = [];
  // Settlements seen, by refund flag: the line each first appeared on.
  const seen0 = new Map<string, number>();
  const seen1 = new Map<string, number>();
  const tabs = new Int32Array(COLUMNS + 1);
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let n = 1; start <= text.length; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const next = end + 1;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    if (isBlank(text, start, end)) {
      start = next;
      continue;
    }
    // The tabs of the line (as many as fit; more means too many columns). A loop within the line, not
    // indexOf: that would run on to the next tab of the file, to its end for lines without one.
    let cols = 1;
    for (let t = start; t < end; t++) {
      if (text.charCodeAt(t) !== 0x09) continue;
      if (cols <= COLUMNS) tabs[cols - 1] = t;
      cols++;
    }
    if (rows.length === 0 && text.startsWith('setl_id', start) && (cols === 1 ? end : tabs[0]!) === start + 7) {
      start = next;
      continue;
    } // a header line naming the columns
    if (cols !== COLUMNS) {
      return refuse(`${IN} 第 ${n} 行`, `应有 ${COLUMNS} 列（${TABLE_200.join('、')}，以制表符分隔），实有 ${cols} 列`);
    }
    tabs[COLUMNS - 1] = end;
    // No closures in this loop: each would be allocated (and, under tsx, named) once per line.
    const setl_id = field(text, start, tabs[0]!);
    if (!isId(setl_id)) return refuse(lineField(n, 'setl_id'), '应为 1–30 个字符的编号');
    const mdtrt_id = field(text, tabs[0]! + 1, tabs[1]!);
    if (!isId(mdtrt_id)) return refuse(lineField(n, 'mdtrt_id'), '应为 1–30 个字符的编号');
    const psn_no = field(text, tabs[1]! + 1, tabs[2]!);
    if (!isId(psn_no)) return refuse(lineField(n, 'psn_no'), '应为 1–30 个字符的编号');
    const medfee = field(text, tabs[2]! + 1, tabs[3]!);
    if (!isAmount(medfee)) return badAmount(n, 'medfee_sumamt', medfee);
    const fund = field(text, tabs[3]! + 1, tabs[4]!);
    if (!isAmount(fund)) return badAmount(n, 'fund_pay_sumamt', fund);
    const acct = field(text, tabs[4]! + 1, tabs[5]!);
    if (!isAmount(acct)) return badAmount(n, 'acct_pay', acct);
    const flag = field(text, tabs[5]! + 1, tabs[6]!);
    if (flag !== '0' && flag !== '1')
      return refuse(lineField(n, 'refd_setl_flag'), `退费结算标志应为 0 或 1，实为 ${flag.slice(0, 10)}`);
    const byFlag = flag === '0' ? seen0 : seen1;
    const before = byFlag.get(setl_id);
    if (before !== undefined)
      return refuse(lineField(n, 'setl_id'), `结算 ${setl_id}（退费结算标志 ${flag}）与第 ${before} 行重复`);
    byFlag.set(setl_id, n);
    if (rows.length >= limits.maxRows) return refuse(`${IN} 第 ${n} 行`, `明细超过 ${limits.maxRows} 行`);
    rows.push({
      line: n,
      setl_id,
      mdtrt_id,
      psn_no,
      medfee_sumamt: medfee,
      fund_pay_sumamt: fund,
      acct_pay: acct,
      refd_setl_flag: flag,
    });
    start = next;
  }
  if (!rows.length) return refuse(IN, '文件没有明细行');
  return { ok: true, value: rows };
}

/** The 1-based line holding the first byte that is not valid UTF-8. */
function lineOfBadUtf8(b: Uint8Array): number {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
      continue;
    }
    if (b[i]! < 0x80) continue;
    // Decode the line so far: the first line that fails is the answer.
    let end = b.indexOf(0x0a, i);
    if (end < 0) end = b.length;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(lineStart, end));
    } catch {
      return line;
    }
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
