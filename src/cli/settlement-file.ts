/**
 * Agency settlement files as the platform exports them — NDJSON, CSV or XLSX with the platform's
 * column names (setl_id, mdtrt_id, psn_no, …; `setldetail` a JSON column) — read into Settlement
 * records, each with the LINE (or sheet row) it came from so every error can name it. Text files may
 * be GBK (older provincial exports) or UTF-8: valid UTF-8 is taken as UTF-8, anything else as GBK.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as iconv from 'iconv-lite';
import { parse as parseCsv } from 'csv-parse/sync';
import * as ExcelJS from 'exceljs';

export type FileFormat = 'ndjson' | 'csv' | 'xlsx';
export type Encoding = 'utf-8' | 'gbk';

export interface LocalError {
  path: string;
  code: string;
  message: string;
}
/** One data line of the file: a record to send, or the reasons it could not even be converted. */
export interface FileRow {
  line: number;
  record?: Record<string, unknown>;
  errors?: LocalError[];
}

const STRING_FIELDS = [
  'setl_id',
  'mdtrt_id',
  'psn_no',
  'psn_name',
  'certno',
  'insutype',
  'insuplc_admdvs',
  'mdtrtarea_admvs',
  'fixmedins_code',
  'med_type',
  'setl_time',
  'insurer_code',
  'setl_mode',
  'status',
];
const AMOUNT_FIELDS = [
  'medfee_sumamt',
  'inscp_scp_amt',
  'hifp_pay',
  'hifob_pay',
  'hifmi_pay',
  'cvlserv_pay',
  'maf_pay',
  'oth_pay',
  'fund_pay_sumamt',
  'acct_pay',
  'psn_cash_pay',
];
/** The column names the converter knows: the Settlement fields of spec §3. */
export const SETTLEMENT_COLUMNS = [
  ...STRING_FIELDS.slice(0, 11),
  ...AMOUNT_FIELDS,
  'setldetail',
  ...STRING_FIELDS.slice(11, 13),
  'referral',
  'status',
];
const KNOWN = new Set([...STRING_FIELDS, ...AMOUNT_FIELDS, 'setldetail', 'referral']);
const TRUE = new Set(['true', '1', 'y', 'yes', '是']);
const FALSE = new Set(['false', '0', 'n', 'no', '否']);

export function formatOf(file: string, given?: string): FileFormat {
  const f = (given ?? path.extname(file).slice(1)).toLowerCase();
  if (f === 'ndjson' || f === 'jsonl') return 'ndjson';
  if (f === 'csv' || f === 'txt') return 'csv';
  if (f === 'xlsx') return 'xlsx';
  throw new Error(`cannot tell the format of ${file}: use --format ndjson|csv|xlsx`);
}

/** UTF-8 when the bytes are valid UTF-8 (GBK text practically never is), else GBK. */
export function detectEncoding(buf: Buffer): Encoding {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return 'utf-8';
  } catch {
    return 'gbk';
  }
}

export function decodeText(buf: Buffer, encoding: Encoding = detectEncoding(buf)): string {
  const text = encoding === 'utf-8' ? buf.toString('utf8') : iconv.decode(buf, 'gbk');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A CSV/XLSX row (column name → cell text) as a Settlement record; cells left empty are omitted. */
export function rowToSettlement(cells: Record<string, string>): {
  record?: Record<string, unknown>;
  errors?: LocalError[];
} {
  const rec: Record<string, unknown> = {};
  const errors: LocalError[] = [];
  for (const [rawKey, rawValue] of Object.entries(cells)) {
    const key = rawKey.trim();
    const v = rawValue.trim();
    if (!KNOWN.has(key) || v === '') continue;
    if (key === 'referral') {
      const b = v.toLowerCase();
      if (TRUE.has(b)) rec.referral = true;
      else if (FALSE.has(b)) rec.referral = false;
      else
        errors.push({ path: '/referral', code: 'not_boolean', message: `referral must be true or false (got "${v}")` });
    } else if (key === 'setldetail') {
      try {
        const d: unknown = JSON.parse(v);
        if (!Array.isArray(d)) throw new Error('not a JSON array');
        rec.setldetail = d;
      } catch (e) {
        errors.push({
          path: '/setldetail',
          code: 'malformed_json',
          message: `setldetail must be a JSON array: ${(e as Error).message}`,
        });
      }
    } else {
      rec[key] = v; // amounts stay strings as written: the gateway checks them exactly
    }
  }
  return errors.length ? { errors } : { record: rec };
}

function ndjsonRows(text: string): FileRow[] {
  const rows: FileRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    try {
      const v: unknown = JSON.parse(line);
      if (!v || typeof v !== 'object' || Array.isArray(v))
        rows.push({
          line: i + 1,
          errors: [{ path: '', code: 'not_object', message: 'each line must be one JSON object' }],
        });
      else rows.push({ line: i + 1, record: v as Record<string, unknown> });
    } catch (e) {
      rows.push({ line: i + 1, errors: [{ path: '', code: 'malformed_json', message: (e as Error).message }] });
    }
  });
  return rows;
}

function csvRows(text: string): FileRow[] {
  const parsed = parseCsv(text, {
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    bom: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [header, ...data] = parsed;
  if (!header) return [];
  const names = header.record.map((h) => h.trim());
  return data.map(({ record, info }) => {
    // info.lines is where the record ends; quoted cells may span lines.
    const line = info.lines - record.reduce((n, c) => n + (c.match(/\n/g)?.length ?? 0), 0);
    if (record.length !== names.length)
      return {
        line,
        errors: [
          {
            path: '',
            code: 'column_count',
            message: `the row has ${record.length} cells; the header has ${names.length}`,
          },
        ],
      };
    return { line, ...rowToSettlement(Object.fromEntries(names.map((n, i) => [n, record[i] ?? '']))) };
  });
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' '); // Excel times are naive: read as CST
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('result' in v) return cellText(v.result as ExcelJS.CellValue);
    if ('text' in v) return String(v.text);
    return '';
  }
  return String(v);
}

async function xlsxRows(file: string): Promise<FileRow[]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  const ws = wb.worksheets[0];
  if (!ws) return [];
  let names: string[] = [];
  const rows: FileRow[] = [];
  ws.eachRow({ includeEmpty: false }, (row, n) => {
    const values = (row.values as ExcelJS.CellValue[]).slice(1).map(cellText);
    if (!names.length) {
      names = values.map((h) => h.trim());
      return;
    }
    if (values.every((v) => !v.trim())) return;
    rows.push({ line: n, ...rowToSettlement(Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']))) });
  });
  return rows;
}

export interface ReadResult {
  format: FileFormat;
  encoding?: Encoding;
  rows: FileRow[];
}

export async function readSettlementFile(
  file: string,
  o: { format?: string; encoding?: Encoding } = {},
): Promise<ReadResult> {
  const format = formatOf(file, o.format);
  if (format === 'xlsx') return { format, rows: await xlsxRows(file) };
  const buf = fs.readFileSync(file);
  const encoding = o.encoding ?? detectEncoding(buf);
  const text = decodeText(buf, encoding);
  return { format, encoding, rows: format === 'csv' ? csvRows(text) : ndjsonRows(text) };
}
