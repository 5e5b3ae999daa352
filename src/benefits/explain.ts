import { toCstIso } from '../time';
import { benefitYearOf } from './engine';
import { amountText as amt, fenText, pct, points } from './exact';
import type { BandSlice, CapDerivation, SettlementBenefit, UncheckedReason } from './engine-types';
import type { RegionPolicy } from './policy-types';

export type ExplainLocale = 'zh-CN' | 'en';

interface Words {
  head: (id: string, region: string, year: number, time: string) => string;
  base: (fpt: string) => string;
  unchecked: Record<UncheckedReason, string>;
  adjustment: (name: string, pts: string, src: string) => string;
  noAdjustment: string;
  segment: (id: string, name: string) => string;
  increment: (base: string, counted: string, before: string, after: string) => string;
  band: (
    n: number,
    from: string,
    to: string,
    slice: string,
    ratio: string,
    fileRatio: string | null,
    amount: string,
    src: string,
  ) => string;
  noSlice: string;
  segAmount: (after: string, before: string, amount: string) => string;
  unknown: (segs: string) => string;
  uncapped: (v: string) => string;
  cap: (c: CapDerivation) => string;
  noCap: (src: string) => string;
  exact: (v: string) => string;
  expected: (v: string) => string;
  actual: (v: string, diff: string) => string;
}

const ZH: Words = {
  head: (id, region, year, time) => `结算 ${id}（${time}）— ${region}，待遇年度 ${year}`,
  base: (fpt) =>
    `基数：大额基金（fund_pay_type ${fpt}）setldetail 的政策范围内金额 inscp_scp_amt，按分段在年度内累计（规范 §7）`,
  unchecked: {
    no_benefit_rules: '未校验：本地区政策未规定赔付比例（规范 §7）。',
    no_large_expense_entry: '未校验：本结算没有大额基金 setldetail 明细（规范 §7）。',
    unknown_segment: '未校验：有明细的分段 seg 不属于本地区政策，其基数未计入。',
  },
  adjustment: (name, pts, src) => `调整：${name}，各档比例 ${pts} 个百分点（${src}）`,
  noAdjustment: '调整：无',
  segment: (id, name) => `分段 ${id}（${name}）：`,
  increment: (base, counted, before, after) => `  本次基数 ${base}，计入 ${counted}；年度累计基数 ${before} → ${after}`,
  band: (n, from, to, slice, ratio, fileRatio, amount, src) =>
    `  第${n}档 [${from}, ${to})：${slice} × ${ratio}${fileRatio ? `（文件比例 ${fileRatio}，经调整）` : ''} = ${amount}\u3000依据：${src}`,
  noSlice: '  本次无计入基数',
  segAmount: (after, before, amount) => `  分段金额 = f(${after}) − f(${before}) = ${amount}`,
  unknown: (segs) => `未知分段（基数未计入）：${segs}`,
  uncapped: (v) => `各分段合计（封顶前）：${v}`,
  cap: (c) =>
    c.applies_to === 'payout'
      ? `年度赔付封顶 ${fenText(c.limit)}：本次前剩余 ${fenText(c.room_before)}，本次后剩余 ${fenText(c.room_after)}（${c.source}）`
      : `年度基数封顶 ${fenText(c.limit)}：本次前剩余 ${fenText(c.room_before)}，本次后剩余 ${fenText(c.room_after)}（${c.source}）`,
  noCap: (src) => `年度封顶：无（${src}）`,
  exact: (v) => `精确值（未舍入）：${v}`,
  expected: (v) => `应付金额（四舍五入到分）：${v}`,
  actual: (v, diff) => `记录的 hifob_pay：${v}，差额（记录 − 应付）：${diff}`,
};

const EN: Words = {
  head: (id, region, year, time) => `Settlement ${id} (${time}) — ${region}, benefit year ${year}`,
  base: (fpt) =>
    `Base: inscp_scp_amt (policy-scope cost) of the large-expense setldetail entries (fund_pay_type ${fpt}), cumulated per segment over the benefit year (spec §7)`,
  unchecked: {
    no_benefit_rules: 'Not checked: the region states no benefit ratios (spec §7).',
    no_large_expense_entry: 'Not checked: the settlement has no large-expense setldetail entry (spec §7).',
    unknown_segment: 'Not checked: an entry names a segment the region does not have; its base was not counted.',
  },
  adjustment: (name, pts, src) => `Adjustment: ${name}: every band ${pts} percentage points (${src})`,
  noAdjustment: 'Adjustment: none',
  segment: (id, name) => `Segment ${id} (${name}):`,
  increment: (base, counted, before, after) =>
    `  this settlement's base ${base}, counted ${counted}; cumulative base of the year ${before} → ${after}`,
  band: (n, from, to, slice, ratio, fileRatio, amount, src) =>
    `  band ${n} [${from}, ${to}): ${slice} × ${ratio}${fileRatio ? ` (file ratio ${fileRatio}, adjusted)` : ''} = ${amount}   source: ${src}`,
  noSlice: '  nothing counted in this settlement',
  segAmount: (after, before, amount) => `  segment amount = f(${after}) − f(${before}) = ${amount}`,
  unknown: (segs) => `Unknown segments (base not counted): ${segs}`,
  uncapped: (v) => `Sum of segments (before the cap): ${v}`,
  cap: (c) =>
    `Yearly ${c.applies_to === 'payout' ? 'payout' : 'base'} cap ${fenText(c.limit)}: room before ${fenText(c.room_before)}, after ${fenText(c.room_after)} (${c.source})`,
  noCap: (src) => `Yearly cap: none (${src})`,
  exact: (v) => `Exact value (unrounded): ${v}`,
  expected: (v) => `Expected amount (half-up at the fen): ${v}`,
  actual: (v, diff) => `Recorded hifob_pay: ${v}; difference (recorded − expected): ${diff}`,
};

/**
 * One settlement's derivation, step by step, for an auditor to check by hand (amounts with two
 * decimals, ratios as percentages, each number next to the seed article it comes from).
 */
export function explain(r: SettlementBenefit, policy: RegionPolicy, locale: ExplainLocale): string {
  const w = locale === 'zh-CN' ? ZH : EN;
  const regionName = `${locale === 'zh-CN' ? policy.name.zh : policy.name.en} (${policy.id})`;
  const d = r.derivation;
  const year = d?.benefit_year ?? benefitYearOf(policy, r.setl_time);
  const lines = [w.head(r.setl_id, regionName, year, toCstIso(r.setl_time))];
  if (d === null) {
    lines.push(w.unchecked[r.unchecked_reason ?? 'no_large_expense_entry']);
    lines.push(w.actual(fenText(r.actual), '—'));
    return lines.join('\n');
  }
  if (r.unchecked_reason) lines.push(w.unchecked[r.unchecked_reason]);
  lines.push(w.base(d.fund_pay_type));
  const b = policy.benefits!;
  if (d.adjustments.length === 0) lines.push(w.noAdjustment);
  for (const a of d.adjustments) {
    const adj = b.adjustments.find((x) => x.id === a.id);
    const name = adj ? (locale === 'zh-CN' ? adj.name.zh : adj.name.en) : a.id;
    lines.push(w.adjustment(name, points(a.ratio_delta), a.source));
  }
  for (const s of d.segments) {
    const seg = b.segments[b.segment_index.get(s.segment)!]!;
    lines.push(w.segment(s.segment, locale === 'zh-CN' ? seg.name.zh : seg.name.en));
    lines.push(w.increment(amt(s.base), amt(s.counted_base), amt(s.cum_base_before), amt(s.cum_base_after)));
    if (s.slices.length === 0) lines.push(w.noSlice);
    for (const x of s.slices) lines.push(bandLine(w, x));
    lines.push(w.segAmount(amt(s.cum_base_after), amt(s.cum_base_before), amt(s.amount)));
  }
  if (d.unknown_segments.length > 0) lines.push(w.unknown(d.unknown_segments.join(', ')));
  if (d.base_cap) lines.push(w.cap(d.base_cap));
  lines.push(w.uncapped(amt(d.uncapped)));
  if (d.payout_cap) lines.push(w.cap(d.payout_cap));
  if (!d.base_cap && !d.payout_cap) lines.push(w.noCap(b.yearly_cap_source));
  lines.push(w.exact(amt(d.exact)));
  lines.push(w.expected(fenText(d.expected)));
  lines.push(w.actual(fenText(r.actual), fenText(r.actual.minus(r.expected))));
  return lines.join('\n');
}

function bandLine(w: Words, x: BandSlice): string {
  const fileRatio = x.ratio.eq(x.band_ratio) ? null : pct(x.band_ratio);
  return w.band(
    x.band + 1,
    fenText(x.from),
    x.to === null ? '∞' : fenText(x.to),
    fenText(x.base_slice),
    pct(x.ratio),
    fileRatio,
    amt(x.amount),
    x.source,
  );
}
