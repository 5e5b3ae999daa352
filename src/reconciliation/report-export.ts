/**
 * A run's report as a spreadsheet (spec §5: Chinese headers; CSV with a UTF-8 BOM). XLSX: one sheet
 * per section (汇总, 定点机构, 承保公司), bold frozen header, amounts as numbers formatted '#,##0.00'
 * and a 合计 row whose SUM formulas carry their exact result. CSV is one table, so it takes one
 * section (`section=institutions` by default, or `insurers`, `summary`), with a BOM and CRLF line
 * ends so Excel opens it as UTF-8. Exports carry codes and amounts only: no names, no ID numbers.
 * CSV cells that look like formulas are neutralised, plain decimals (negative amounts) kept (csv-cells.ts).
 */
import * as ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify/sync';
import { Money } from '../money';
import { toCstIso } from '../time';
import { CSV_OPTIONS } from './csv-cells';
import type { RunReport } from './run-view';
import type { AgeingRow } from './run-store';

export type Section = 'summary' | 'institutions' | 'insurers';
type Kind = 'text' | 'count' | 'amount' | 'bool';
interface Col<R> {
  header: string;
  key: keyof R & string;
  kind: Kind;
  width: number;
}

/** Arrears by age (spec §10) as columns of a row: null on runs before migration 140. */
type Aged = Record<
  'ageing_not_due' | 'ageing_d1_10' | 'ageing_d11_30' | 'ageing_d31_60' | 'ageing_over_60',
  string | null
>;
type InstitutionLine = RunReport['institutions'][number] & Aged;
type InsurerLine = RunReport['insurers'][number] & Aged;

function aged<R extends { ageing?: AgeingRow | null }>(r: R): R & Aged {
  const a = r.ageing ?? null;
  return {
    ...r,
    ageing_not_due: a?.not_due ?? null,
    ageing_d1_10: a?.d1_10 ?? null,
    ageing_d11_30: a?.d11_30 ?? null,
    ageing_d31_60: a?.d31_60 ?? null,
    ageing_over_60: a?.over_60 ?? null,
  };
}

/**
 * The ageing columns' headers, with the bounds the run bucketed by (the run's region, kept in its
 * summary; the spec's 10 / 30 / 60 for runs without).
 */
function ageingColumns(bounds: readonly number[]): Col<Aged>[] {
  const [a, b, c] = bounds;
  return [
    { header: '未到期', key: 'ageing_not_due', kind: 'amount', width: 14 },
    { header: `逾期1–${a}个工作日`, key: 'ageing_d1_10', kind: 'amount', width: 18 },
    { header: `逾期${a! + 1}–${b}个工作日`, key: 'ageing_d11_30', kind: 'amount', width: 18 },
    { header: `逾期${b! + 1}–${c}个工作日`, key: 'ageing_d31_60', kind: 'amount', width: 18 },
    { header: `逾期${c}个工作日以上`, key: 'ageing_over_60', kind: 'amount', width: 18 },
  ];
}

/** The bucket bounds a run used (its summary's `ageing_buckets`), or the spec's defaults. */
export function ageingBoundsOf(rep: RunReport): readonly number[] {
  const b = (rep.run.summary as { ageing_buckets?: unknown } | null)?.ageing_buckets;
  return Array.isArray(b) && b.length === 3 && b.every((x) => Number.isInteger(x)) ? (b as number[]) : [10, 30, 60];
}

export const INSTITUTION_COLUMNS: Col<RunReport['institutions'][number]>[] = [
  { header: '定点医药机构编码', key: 'fixmedins_code', kind: 'text', width: 20 },
  { header: '申报笔数', key: 'declared_cnt', kind: 'count', width: 10 },
  { header: '申报大额金额', key: 'declared_hifob', kind: 'amount', width: 16 },
  { header: '经办记录笔数', key: 'recorded_cnt', kind: 'count', width: 12 },
  { header: '经办记录大额金额', key: 'recorded_hifob', kind: 'amount', width: 18 },
  { header: '直接结算笔数', key: 'recorded_direct_cnt', kind: 'count', width: 12 },
  { header: '直接结算大额金额', key: 'recorded_direct_hifob', kind: 'amount', width: 18 },
  { header: '已支付', key: 'paid', kind: 'amount', width: 16 },
  { header: '拒付', key: 'rejected', kind: 'amount', width: 14 },
  { header: '追回', key: 'recovered', kind: 'amount', width: 14 },
  { header: '未支付', key: 'outstanding', kind: 'amount', width: 16 },
  { header: '是否平衡', key: 'balanced', kind: 'bool', width: 10 },
];

export const INSURER_COLUMNS: Col<RunReport['insurers'][number]>[] = [
  { header: '承保公司编码', key: 'insurer_code', kind: 'text', width: 16 },
  { header: '支出计划版本', key: 'plan_revision', kind: 'count', width: 12 },
  { header: '计划金额', key: 'planned', kind: 'amount', width: 16 },
  { header: '已支付', key: 'paid', kind: 'amount', width: 16 },
  { header: '支付笔数', key: 'payments_count', kind: 'count', width: 10 },
  { header: '已拨付', key: 'disbursed', kind: 'amount', width: 16 },
];

const AMOUNT_FORMAT = '#,##0.00';
const bool = (b: unknown) => (b ? '是' : '否');

/** [项目, 值] pairs of the summary sheet. */
export function summaryPairs(rep: RunReport): Array<[string, string | number]> {
  const { run } = rep;
  const pairs: Array<[string, string | number]> = [
    ['对账任务编号', run.run_id],
    ['统筹区', run.admdvs],
    ['期间', run.period],
    ['截至时间', toCstIso(run.as_of)],
    ['数据截止时间', run.known_at ? toCstIso(run.known_at) : ''],
    ['仅重现报告', bool(run.report_only)],
    ['状态', run.status],
  ];
  // The stored summary is JSON written by run-reconciliation.ts; read here field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const s = rep.full ? (run.summary as Record<string, any> | null) : null;
  if (!s) return pairs;
  const t = s.totals ?? {};
  pairs.push(
    ['定点机构数', t.institutions],
    ['平衡机构数', t.balanced_institutions],
    ['申报笔数', t.declared_cnt],
    ['申报大额金额', t.declared_hifob],
    ['经办记录笔数', t.recorded_cnt],
    ['经办记录大额金额', t.recorded_hifob],
    ['已支付', t.paid],
    ['拒付', t.rejected],
    ['追回', t.recovered],
    ['未支付', t.outstanding],
    ['计划金额合计', t.planned],
    ['承保公司当期支付合计', t.insurer_paid],
    ['已拨付合计', t.disbursed],
  );
  if (t.ageing) {
    const h = ageingColumns(ageingBoundsOf(rep)).map((c) => c.header);
    pairs.push(
      [h[0]!, t.ageing.not_due],
      [h[1]!, t.ageing.d1_10],
      [h[2]!, t.ageing.d11_30],
      [h[3]!, t.ageing.d31_60],
      [h[4]!, t.ageing.over_60],
    );
  }
  if (s.swept) pairs.push(['扫描结算笔数', s.swept.settlements], ['扫描申报数', s.swept.declarations]);
  if (s.benefits)
    pairs.push(
      ['待遇已核查笔数', s.benefits.checked],
      ['待遇未核查笔数', s.benefits.unchecked],
      ['待遇偏差笔数', s.benefits.deviations],
    );
  const codes = new Set([
    ...Object.keys(s.discrepancies?.opened ?? {}),
    ...Object.keys(s.discrepancies?.open ?? {}),
    ...Object.keys(s.discrepancies?.disputed ?? {}),
  ]);
  for (const code of [...codes].sort()) {
    pairs.push(
      [`差异 ${code} 本次新增`, s.discrepancies.opened[code] ?? 0],
      [`差异 ${code} 未解决`, s.discrepancies.open[code] ?? 0],
    );
    // Spec §10: cases under an open dispute, apart from the open ones.
    if (s.discrepancies.disputed?.[code]) pairs.push([`差异 ${code} 异议中`, s.discrepancies.disputed[code]]);
  }
  return pairs;
}

const AMOUNT_LABELS = new Set([
  '申报大额金额',
  '经办记录大额金额',
  '已支付',
  '拒付',
  '追回',
  '未支付',
  '计划金额合计',
  '承保公司当期支付合计',
  '已拨付合计',
]);

// Excel keeps numbers as doubles: converting the exact decimal text once, for display, is the
// spreadsheet's own representation (amounts below 10^13 keep every fen), not arithmetic on amounts.
const excelNumber = (s: string) => Number(s);

const institutionColumns = (rep: RunReport) =>
  [...INSTITUTION_COLUMNS, ...ageingColumns(ageingBoundsOf(rep))] as Col<InstitutionLine>[];
const insurerColumns = (rep: RunReport) =>
  [...INSURER_COLUMNS, ...ageingColumns(ageingBoundsOf(rep))] as Col<InsurerLine>[];

function tableSheet<R>(wb: ExcelJS.Workbook, name: string, cols: Col<R>[], rows: R[]): void {
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = cols.map((c) => ({
    header: c.header,
    key: c.key,
    width: c.width,
    style: c.kind === 'amount' ? { numFmt: AMOUNT_FORMAT } : {},
  }));
  ws.getRow(1).font = { bold: true };
  for (const r of rows) {
    ws.addRow(
      Object.fromEntries(
        cols.map((c) => {
          const v = (r as Record<string, unknown>)[c.key];
          return [
            c.key,
            c.kind === 'amount'
              ? v === null || v === undefined
                ? null
                : excelNumber(String(v))
              : c.kind === 'bool'
                ? bool(v)
                : c.kind === 'count'
                  ? v === null
                    ? null
                    : Number(v)
                  : v,
          ];
        }),
      ),
    );
  }
  const first = 2,
    last = rows.length + 1;
  const total = ws.addRow({});
  total.getCell(1).value = '合计';
  total.font = { bold: true };
  cols.forEach((c, i) => {
    if (c.kind !== 'amount' && !(c.kind === 'count' && c.key !== 'plan_revision')) return;
    const letter = ws.getColumn(i + 1).letter;
    const values = rows.map((r) => String((r as Record<string, unknown>)[c.key] ?? '0'));
    const result =
      c.kind === 'amount'
        ? excelNumber(Money.sum(values.map((v) => Money.of(v))).toString())
        : values.reduce((a, v) => a + Number(v), 0);
    total.getCell(i + 1).value = rows.length ? { formula: `SUM(${letter}${first}:${letter}${last})`, result } : result;
  });
}

export async function runXlsx(rep: RunReport): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'hifob-exchange-gateway';
  wb.created = rep.run.finished_at ?? rep.run.created_at;
  const ws = wb.addWorksheet('汇总', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = [
    { header: '项目', key: 'k', width: 28 },
    { header: '值', key: 'v', width: 40 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const [k, v] of summaryPairs(rep)) {
    const amount = AMOUNT_LABELS.has(k) || k === '未到期' || /^逾期.*个工作日/.test(k);
    const row = ws.addRow({ k, v: amount && typeof v === 'string' ? excelNumber(v) : v });
    if (amount) row.getCell(2).numFmt = AMOUNT_FORMAT;
  }
  tableSheet(wb, '定点机构', institutionColumns(rep), rep.institutions.map(aged));
  tableSheet(wb, '承保公司', insurerColumns(rep), rep.insurers.map(aged));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function csvTable<R>(cols: Col<R>[], rows: R[]): string[][] {
  const out = [cols.map((c) => c.header)];
  for (const r of rows)
    out.push(
      cols.map((c) => {
        const v = (r as Record<string, unknown>)[c.key];
        return c.kind === 'bool' ? bool(v) : v === null || v === undefined ? '' : String(v);
      }),
    );
  out.push(
    cols.map((c, i) => {
      if (i === 0) return '合计';
      const values = rows.map((r) => String((r as Record<string, unknown>)[c.key] ?? '0'));
      if (c.kind === 'amount') return Money.sum(values.map((v) => Money.of(v))).toString();
      if (c.kind === 'count' && c.key !== 'plan_revision') return String(values.reduce((a, v) => a + Number(v), 0));
      return '';
    }),
  );
  return out;
}

export function runCsv(rep: RunReport, section: Section): string {
  const table =
    section === 'summary'
      ? [['项目', '值'], ...summaryPairs(rep).map(([k, v]) => [k, String(v ?? '')])]
      : section === 'insurers'
        ? csvTable(insurerColumns(rep), rep.insurers.map(aged))
        : csvTable(institutionColumns(rep), rep.institutions.map(aged));
  return `\ufeff${stringify(table, CSV_OPTIONS)}`;
}
