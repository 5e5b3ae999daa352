/**
 * The violation report (000 §5 (六); spec §10): `GET /v1/reports/violations?admdvs=&insurer_code=
 * &fixmedins_code=&from=&to=&format=json|csv|xlsx` — the insurers' rejections and recoveries per
 * institution, reason and month, so the agency sees which institutions the insurers find
 * non-compliant and for what. The query is checked parameter by parameter (one 400 naming every
 * `?name` at fault); the rows are the ledger's read model (ledger/violation-read-model.ts), scoped
 * to the caller; the spreadsheet forms carry Chinese headers, codes and amounts only.
 */
import * as ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify/sync';
import type { Request } from 'express';
import type { Sql } from '../db/db';
import { badRequest } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { Money } from '../money';
import { CSV_OPTIONS } from '../reconciliation/csv-cells';
import { addMonths, isPeriod, periodEnd, periodStart, type Period } from '../time';
import { violationRows, type ViolationRow, type ViolationScope } from '../ledger/violation-read-model';

export type ViolationFormat = 'json' | 'csv' | 'xlsx';

export interface ViolationReportQuery {
  from: Period;
  to: Period;
  format: ViolationFormat;
  admdvs?: string;
  insurer_code?: string;
  fixmedins_code?: string;
}

/** The widest span asked for at once, in months (a bounded scan of payments and recoveries). */
export const MAX_MONTHS = 36;

const PATTERNS = {
  admdvs: /^\d{2,6}$/,
  insurer_code: /^[A-Z0-9_]{2,20}$/,
  fixmedins_code: /^[A-Za-z0-9_-]{1,30}$/,
} as const;
const KNOWN = new Set(['admdvs', 'insurer_code', 'fixmedins_code', 'from', 'to', 'format']);

export function parseViolationQuery(query: Request['query']): ViolationReportQuery {
  const errors: FieldError[] = [];
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      errors.push({ path: `?${name}`, code: 'type', message: 'give it once, as text' });
      return undefined;
    }
    return v;
  };
  for (const k of Object.keys(query))
    if (!KNOWN.has(k)) errors.push({ path: `?${k}`, code: 'additionalProperties', message: 'unknown parameter' });
  const out: Partial<ViolationReportQuery> = {};
  for (const [k, re] of Object.entries(PATTERNS) as [keyof typeof PATTERNS, RegExp][]) {
    const v = one(k);
    if (v === undefined) continue;
    if (re.test(v)) out[k] = v;
    else errors.push({ path: `?${k}`, code: 'pattern', message: `must match ${re.source}` });
  }
  for (const k of ['from', 'to'] as const) {
    const v = one(k);
    if (v === undefined) errors.push({ path: `?${k}`, code: 'required', message: 'a month yyyy-MM is required' });
    else if (!isPeriod(v)) errors.push({ path: `?${k}`, code: 'pattern', message: 'must be a month yyyy-MM' });
    else out[k] = v;
  }
  if (out.from && out.to) {
    if (out.to < out.from)
      errors.push({ path: '?to', code: 'minimum', message: `must not be before from (${out.from})` });
    else if (addMonths(out.from, MAX_MONTHS - 1) < out.to)
      errors.push({ path: '?to', code: 'maximum', message: `at most ${MAX_MONTHS} months from from (${out.from})` });
  }
  const format = one('format') ?? 'json';
  if (format !== 'json' && format !== 'csv' && format !== 'xlsx')
    errors.push({ path: '?format', code: 'enum', message: 'must be json, csv or xlsx' });
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return { ...out, format } as ViolationReportQuery;
}

/** The report's rows for the caller's scope. */
export async function violationReport(q: Sql, r: ViolationReportQuery, scope: ViolationScope): Promise<ViolationRow[]> {
  return violationRows(
    q,
    {
      fromAt: periodStart(r.from),
      toAt: periodEnd(r.to),
      ...(r.admdvs ? { admdvs: r.admdvs } : {}),
      ...(r.insurer_code ? { insurer_code: r.insurer_code } : {}),
      ...(r.fixmedins_code ? { fixmedins_code: r.fixmedins_code } : {}),
    },
    scope,
  );
}

type Kind = 'text' | 'count' | 'amount';
const COLUMNS: { header: string; key: keyof ViolationRow; kind: Kind; width: number }[] = [
  { header: '承保公司编码', key: 'insurer_code', kind: 'text', width: 16 },
  { header: '定点医药机构编码', key: 'fixmedins_code', kind: 'text', width: 20 },
  { header: '月份', key: 'month', kind: 'text', width: 10 },
  { header: '原因代码', key: 'reason_code', kind: 'text', width: 10 },
  { header: '拒付笔数', key: 'rejected_cnt', kind: 'count', width: 10 },
  { header: '拒付金额', key: 'rejected_amount', kind: 'amount', width: 16 },
  { header: '追回笔数', key: 'recovered_cnt', kind: 'count', width: 10 },
  { header: '追回金额', key: 'recovered_amount', kind: 'amount', width: 16 },
];

function totals(rows: ViolationRow[]): (string | number)[] {
  return COLUMNS.map((c, i) =>
    i === 0
      ? '合计'
      : c.kind === 'amount'
        ? Money.sum(rows.map((r) => Money.of(r[c.key] as string))).toString()
        : c.kind === 'count'
          ? rows.reduce((a, r) => a + Number(r[c.key]), 0)
          : '',
  );
}

/** CSV: UTF-8 BOM, CRLF, formula-looking cells neutralised (csv-cells.ts), a 合计 row. */
export function violationCsv(rows: ViolationRow[]): string {
  const table = [
    COLUMNS.map((c) => c.header),
    ...rows.map((r) => COLUMNS.map((c) => (r[c.key] === null ? '' : String(r[c.key])))),
    totals(rows).map(String),
  ];
  return `\ufeff${stringify(table, CSV_OPTIONS)}`;
}

// Excel keeps numbers as doubles: the exact decimal text is converted once, for display.
const excelNumber = (s: string) => Number(s);

/** XLSX: one sheet 违规情况, bold frozen header, amounts as numbers '#,##0.00', a 合计 row. */
export async function violationXlsx(rows: ViolationRow[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'hifob-exchange-gateway';
  const ws = wb.addWorksheet('违规情况', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = COLUMNS.map((c) => ({
    header: c.header,
    key: c.key,
    width: c.width,
    style: c.kind === 'amount' ? { numFmt: '#,##0.00' } : {},
  }));
  ws.getRow(1).font = { bold: true };
  for (const r of rows) {
    ws.addRow(
      Object.fromEntries(
        COLUMNS.map((c) => [
          c.key,
          c.kind === 'amount' ? excelNumber(r[c.key] as string) : c.kind === 'count' ? Number(r[c.key]) : r[c.key],
        ]),
      ),
    );
  }
  const t = totals(rows);
  const total = ws.addRow(
    Object.fromEntries(COLUMNS.map((c, i) => [c.key, c.kind === 'amount' ? excelNumber(String(t[i])) : t[i]])),
  );
  total.font = { bold: true };
  return Buffer.from(await wb.xlsx.writeBuffer());
}
