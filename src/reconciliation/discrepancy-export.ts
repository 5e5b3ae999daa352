/**
 * GET /v1/discrepancies/export: the discrepancy list under the same filters and scope as
 * GET /v1/discrepancies, streamed page by page (the ledger may hold millions of cases) as XLSX (a
 * streaming workbook writer) or CSV (BOM, CRLF). Evidence is left out: it is JSON for machines, and
 * the columns carry only codes, ids, amounts and the operator's note (no personal data). Text that
 * others sent (setl_id, the note) may look like a formula: CSV cells are neutralised (csv-cells.ts),
 * XLSX cells are typed strings, which spreadsheets never evaluate.
 */
import type { Response } from 'express';
import * as ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify';
import type { Sql } from '../db/db';
import type { ScopeFilter } from '../http/auth';
import { listDiscrepancies, type DiscrepancyFilter, type DiscrepancyRow } from '../discrepancies/discrepancy-queries';
import { toCstIso } from '../time';
import { CSV_OPTIONS } from './csv-cells';

const PAGE = 1000;

interface Col {
  header: string;
  width: number;
  amount?: boolean;
  get: (r: DiscrepancyRow) => string | number | null;
}

export const DISCREPANCY_COLUMNS: Col[] = [
  { header: '差异编号', width: 38, get: (r) => r.id },
  { header: '差异代码', width: 26, get: (r) => r.code },
  { header: '严重程度', width: 10, get: (r) => r.severity },
  { header: '状态', width: 12, get: (r) => r.status },
  { header: '处理方式', width: 10, get: (r) => r.resolution },
  { header: '统筹区', width: 10, get: (r) => r.admdvs },
  { header: '承保公司编码', width: 14, get: (r) => r.insurer_code },
  { header: '定点医药机构编码', width: 18, get: (r) => r.fixmedins_code },
  { header: '期间', width: 10, get: (r) => r.period },
  { header: '结算编号', width: 20, get: (r) => r.setl_id },
  { header: '应为金额', width: 16, amount: true, get: (r) => r.expected_amount },
  { header: '实际金额', width: 16, amount: true, get: (r) => r.actual_amount },
  { header: '差额', width: 16, amount: true, get: (r) => r.difference },
  { header: '发生次数', width: 10, get: (r) => Number(r.occurrences) },
  { header: '发现时间', width: 26, get: (r) => toCstIso(r.detected_at) },
  { header: '更新时间', width: 26, get: (r) => toCstIso(r.updated_at) },
  { header: '解决时间', width: 26, get: (r) => (r.resolved_at ? toCstIso(r.resolved_at) : null) },
  { header: '说明', width: 60, get: (r) => r.detail },
  { header: '备注', width: 40, get: (r) => r.note },
];

async function* pages(q: Sql, filter: DiscrepancyFilter, scope: ScopeFilter): AsyncGenerator<DiscrepancyRow[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await listDiscrepancies(q, filter, scope, PAGE, cursor);
    if (page.items.length) yield page.items;
    if (!page.next_cursor) return;
    cursor = Buffer.from(page.next_cursor, 'base64url').toString();
  }
}

export async function streamDiscrepanciesCsv(
  q: Sql,
  filter: DiscrepancyFilter,
  scope: ScopeFilter,
  res: Response,
): Promise<void> {
  res.write('\ufeff');
  const csv = stringify(CSV_OPTIONS);
  csv.pipe(res);
  const write = async (rec: (string | number | null)[]) => {
    if (!csv.write(rec.map((v) => (v === null ? '' : String(v))))) await new Promise((r) => csv.once('drain', r));
  };
  await write(DISCREPANCY_COLUMNS.map((c) => c.header));
  for await (const rows of pages(q, filter, scope))
    for (const r of rows) await write(DISCREPANCY_COLUMNS.map((c) => c.get(r)));
  await new Promise<void>((resolve) => {
    res.once('finish', () => resolve());
    csv.end();
  });
}

export async function streamDiscrepanciesXlsx(
  q: Sql,
  filter: DiscrepancyFilter,
  scope: ScopeFilter,
  res: Response,
): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet('差异', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = DISCREPANCY_COLUMNS.map((c, i) => ({
    header: c.header,
    key: `c${i}`,
    width: c.width,
    style: c.amount ? { numFmt: '#,##0.00' } : {},
  }));
  ws.getRow(1).font = { bold: true };
  ws.getRow(1).commit();
  for await (const rows of pages(q, filter, scope)) {
    for (const r of rows) {
      // Excel's own number type for display; the exact text stays in the ledger and the JSON API.
      ws.addRow(
        DISCREPANCY_COLUMNS.map((c) => {
          const v = c.get(r);
          return c.amount && v !== null ? Number(v) : v;
        }),
      ).commit();
    }
  }
  ws.commit();
  await wb.commit();
}
