/**
 * A fund-year statement as a spreadsheet (spec §8: Chinese headers). XLSX: one sheet per part —
 * 地区汇总 (the region's figures), 保险公司 (one row per insurer), 账户 (one row per account) — bold
 * frozen header, amounts as numbers formatted '#,##0.00'. CSV is one table, so it takes one part
 * (`section=region` by default, `insurers`, `accounts`), with a UTF-8 BOM, CRLF line ends and cells
 * that look like formulas neutralised (reconciliation/csv-cells.ts).
 *
 * `audience=public` is the disclosure of the fund's income and spending (001 art. 24): the region's
 * totals only — no insurer, no institution, no person, no cost detail (基金收支公开).
 */
import * as ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify/sync';
import { CSV_OPTIONS } from '../reconciliation/csv-cells';
import { toCstIso } from '../time';
import type { StatementRow } from './statement-store';
import type { StatementFiguresView } from './statement-view';

export type StatementSection = 'region' | 'insurers' | 'accounts';
type Kind = 'text' | 'count' | 'amount' | 'pct';
interface Col {
  header: string;
  key: string;
  kind: Kind;
  width: number;
}

const REGION_ROWS: Array<{ label: string; key: string; kind: Kind; public: boolean }> = [
  { label: '征收保费', key: 'premiums_collected', kind: 'amount', public: true },
  { label: '滞纳金', key: 'late_fees', kind: 'amount', public: true },
  { label: '参保人数', key: 'insured_count', kind: 'count', public: true },
  { label: '财政专户收到', key: 'received_special_account', kind: 'amount', public: true },
  { label: '拨付保险公司', key: 'disbursed_to_insurers', kind: 'amount', public: true },
  { label: '合规赔付支出', key: 'compliant_payouts', kind: 'amount', public: true },
  { label: '不合规赔付支出', key: 'non_compliant_payouts', kind: 'amount', public: true },
  { label: '准予列支经办费用', key: 'allowed_admin_costs', kind: 'amount', public: false },
  { label: '上年滚存结余', key: 'opening_balance', kind: 'amount', public: true },
  { label: '年末滚存结余', key: 'closing_balance', kind: 'amount', public: true },
];

export const INSURER_COLUMNS: Col[] = [
  { header: '保险公司编码', key: 'insurer_code', kind: 'text', width: 16 },
  { header: '保费收入', key: 'premium_income', kind: 'amount', width: 16 },
  { header: '合规赔付', key: 'compliant_payouts', kind: 'amount', width: 16 },
  { header: '不合规赔付', key: 'non_compliant_payouts', kind: 'amount', width: 16 },
  { header: '追回', key: 'recovered', kind: 'amount', width: 14 },
  { header: '运营成本', key: 'operating_cost', kind: 'amount', width: 14 },
  { header: '经办费用', key: 'admin_cost', kind: 'amount', width: 14 },
  { header: '运营成本率(%)', key: 'operating_cost_ratio', kind: 'pct', width: 14 },
  { header: '经办费用率(%)', key: 'admin_cost_ratio', kind: 'pct', width: 14 },
  { header: '准予列支成本', key: 'allowed_costs', kind: 'amount', width: 16 },
  { header: '超限成本', key: 'costs_beyond_limits', kind: 'amount', width: 14 },
  { header: '利润', key: 'profit', kind: 'amount', width: 16 },
  { header: '利润率(%)', key: 'profit_rate', kind: 'pct', width: 12 },
  { header: '超额利润(应返还)', key: 'excess_profit', kind: 'amount', width: 18 },
  { header: '亏损合计', key: 'deficit.total', kind: 'amount', width: 14 },
  { header: '政策性亏损', key: 'deficit.policy', kind: 'amount', width: 14 },
  { header: '非政策性亏损', key: 'deficit.non_policy', kind: 'amount', width: 14 },
];

export const ACCOUNT_NAMES: Record<string, string> = {
  tax: '税务(待解缴)',
  treasury: '市级国库',
  county_account: '县级基金账户',
  special_account: '财政专户',
  expenditure_account: '支出户',
};

export const ACCOUNT_COLUMNS: Col[] = [
  { header: '账户', key: 'account_name', kind: 'text', width: 18 },
  { header: '账户代码', key: 'account', kind: 'text', width: 20 },
  { header: '统筹区', key: 'admdvs', kind: 'text', width: 10 },
  { header: '收到', key: 'received', kind: 'amount', width: 16 },
  { header: '转出', key: 'passed_on', kind: 'amount', width: 16 },
  { header: '余额', key: 'balance', kind: 'amount', width: 16 },
];

const AMOUNT_FORMAT = '#,##0.00';
// Excel keeps numbers as doubles: the exact decimal text is converted once, for display only.
const excelNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const pick = (r: Record<string, unknown>, key: string): unknown =>
  key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], r);

/** [项目, 值] pairs of the region sheet (public: the disclosure's rows only). */
export function regionPairs(st: StatementRow, publicOnly: boolean): Array<[string, string | number, Kind]> {
  const f = st.figures as StatementFiguresView | null;
  const head: Array<[string, string | number, Kind]> = [
    ['统筹区', st.admdvs, 'text'],
    ['基金年度', String(st.fund_year), 'text'],
    ['截至时间', toCstIso(st.as_of), 'text'],
  ];
  if (!publicOnly) head.unshift(['决算编号', st.statement_id, 'text']);
  if (!f) return head;
  return [
    ...head,
    ...REGION_ROWS.filter((r) => !publicOnly || r.public).map((r): [string, string | number, Kind] => [
      r.label,
      f.region[r.key] ?? '',
      r.kind,
    ]),
  ];
}

function accountRows(f: StatementFiguresView): Record<string, unknown>[] {
  return f.accounts.map((a) => ({ ...a, account_name: ACCOUNT_NAMES[a.account ?? ''] ?? a.account }));
}

function tableSheet(wb: ExcelJS.Workbook, name: string, cols: Col[], rows: Record<string, unknown>[]): void {
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = cols.map((c) => ({
    header: c.header,
    key: c.key,
    width: c.width,
    style: c.kind === 'amount' ? { numFmt: AMOUNT_FORMAT } : {},
  }));
  ws.getRow(1).font = { bold: true };
  for (const r of rows)
    ws.addRow(
      cols.map((c) => (c.kind === 'amount' || c.kind === 'pct' ? excelNumber(pick(r, c.key)) : (pick(r, c.key) ?? ''))),
    );
}

export async function statementXlsx(st: StatementRow, publicOnly: boolean): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'hifob-exchange-gateway';
  wb.created = st.finished_at ?? st.created_at;
  const ws = wb.addWorksheet(publicOnly ? '基金收支公开' : '地区汇总', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = [
    { header: '项目', key: 'k', width: 24 },
    { header: '值', key: 'v', width: 40 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const [k, v, kind] of regionPairs(st, publicOnly)) {
    const row = ws.addRow({ k, v: kind === 'amount' ? excelNumber(v) : v });
    if (kind === 'amount') row.getCell(2).numFmt = AMOUNT_FORMAT;
  }
  const f = st.figures as StatementFiguresView | null;
  if (!publicOnly && f) {
    tableSheet(wb, '保险公司', INSURER_COLUMNS, f.insurers);
    tableSheet(wb, '账户', ACCOUNT_COLUMNS, accountRows(f));
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export function statementCsv(st: StatementRow, section: StatementSection, publicOnly: boolean): string {
  const f = st.figures as StatementFiguresView | null;
  const table = (cols: Col[], rows: Record<string, unknown>[]) => [
    cols.map((c) => c.header),
    ...rows.map((r) =>
      cols.map((c) => {
        const v = pick(r, c.key);
        return v === null || v === undefined ? '' : String(v);
      }),
    ),
  ];
  const out =
    section === 'region' || publicOnly || !f
      ? [['项目', '值'], ...regionPairs(st, publicOnly).map(([k, v]) => [k, String(v)])]
      : section === 'insurers'
        ? table(INSURER_COLUMNS, f.insurers)
        : table(ACCOUNT_COLUMNS, accountRows(f));
  return `\ufeff${stringify(out, CSV_OPTIONS)}`;
}
