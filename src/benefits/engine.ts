import type Decimal from 'decimal.js';
import { Money } from '../money';
import { cstParts } from '../time';
import { toDec, toFenDec, ZERO } from './exact';
import type { CompiledBenefits, RegionPolicy } from './policy-types';
import type {
  AppliedAdjustment, BandSlice, BenefitDerivation, BenefitSettlementInput, CapDerivation,
  PersonYearBenefits, SegmentDerivation, SettlementBenefit,
} from './engine-types';

export type {
  AppliedAdjustment, BandSlice, BenefitDerivation, BenefitSetlDetailInput, BenefitSettlementInput, CapDerivation,
  PersonYearBenefits, SegmentDerivation, SettlementBenefit, UncheckedReason,
} from './engine-types';

/**
 * The pure benefit engine of spec §7: per person and benefit year, valid settlements in setl_time
 * order; each settlement's expected large-expense amount is the increase of the band function over
 * its cumulative base, per segment, limited by the yearly cap, rounded half-up at the fen.
 *
 * Why the base is `inscp_scp_amt` of the large-expense entries: spec §7 says the base *is* those
 * setldetail entries, and the seeds pay a ratio of covered cost — 001 art. 10 (合规费用 above the
 * basic fund's maximum, 90%), 003 art. 32 (政策范围内 cost, 50% / 80%), 002 #5 §6(3) (cost above
 * 40,000, 85/90/95%). `inscp_scp_amt` is the entry's policy-scope cost; `fund_payamt` is what the
 * fund paid, i.e. the very result being checked, so using it would make the check circular.
 */

/** The benefit year (the calendar year it starts in) of an instant, in China Standard Time. */
export function benefitYearOf(policy: RegionPolicy, t: Date): number {
  const { year, month, day } = cstParts(t);
  const { month: sm, day: sd } = policy.benefit_year_start;
  return month > sm || (month === sm && day >= sd) ? year : year - 1;
}

/** All of one person's settlements in one region, grouped by benefit year (ascending). */
export function evaluatePerson(policy: RegionPolicy, settlements: readonly BenefitSettlementInput[]): PersonYearBenefits[] {
  const byYear = new Map<number, BenefitSettlementInput[]>();
  for (const s of settlements) {
    const y = benefitYearOf(policy, s.setl_time);
    const list = byYear.get(y);
    if (list) list.push(s); else byYear.set(y, [s]);
  }
  return [...byYear.keys()].sort((a, b) => a - b).map((y) => evaluatePersonYear(policy, y, byYear.get(y)!));
}

/**
 * One person's settlements of one benefit year (any order; one record per setl_id, in its latest
 * state). Throws RangeError for a settlement outside the year, a repeated setl_id or a negative
 * base: callers pass schema-validated data (spec §1: amounts ≥ 0), so these are programming errors.
 */
export function evaluatePersonYear(
  policy: RegionPolicy, benefitYear: number, settlements: readonly BenefitSettlementInput[],
): PersonYearBenefits {
  const ordered = [...settlements].sort(bySetlTimeThenId);
  const state = newYearState(policy.benefits);
  const results: SettlementBenefit[] = [];
  const excluded: string[] = [];
  let actualTotal: Decimal = ZERO;
  let expectedTotal: Decimal = ZERO;
  let checked = 0;
  let prevId: string | undefined;
  for (const s of ordered) {
    if (s.setl_id === prevId) throw new RangeError(`setl_id ${s.setl_id} appears twice`);
    prevId = s.setl_id;
    if (benefitYearOf(policy, s.setl_time) !== benefitYear) {
      throw new RangeError(`settlement ${s.setl_id} is not in benefit year ${benefitYear}`);
    }
    if (s.status !== 'valid') { excluded.push(s.setl_id); continue; }
    const r = evaluateSettlement(policy, benefitYear, s, state);
    actualTotal = actualTotal.plus(r.actual.toDecimal());
    if (r.derivation) expectedTotal = expectedTotal.plus(r.derivation.expected);
    if (r.checked) checked++;
    results.push(r);
  }
  return {
    region: policy.id,
    benefit_year: benefitYear,
    settlements: results,
    excluded,
    expected_total: Money.of(expectedTotal),
    actual_total: Money.of(actualTotal),
    checked_count: checked,
    unchecked_count: results.length - checked,
  };
}

function bySetlTimeThenId(a: BenefitSettlementInput, b: BenefitSettlementInput): number {
  const d = a.setl_time.getTime() - b.setl_time.getTime();
  if (d !== 0) return d;
  return a.setl_id < b.setl_id ? -1 : a.setl_id > b.setl_id ? 1 : 0;
}

/** Cumulative state of a person's benefit year, advanced settlement by settlement. */
interface YearState {
  /** Counted cumulative base per segment. */
  cum: Decimal[];
  /** Index of the band the cumulative base of each segment is in (it only grows). */
  band: number[];
  /** Counted cumulative base over all segments (for a base cap). */
  cumBaseTotal: Decimal;
  /** Σ expected amounts (at the fen) so far (for a payout cap). */
  cumExpected: Decimal;
}

function newYearState(b: CompiledBenefits | null): YearState {
  const n = b ? b.segments.length : 0;
  return { cum: new Array<Decimal>(n).fill(ZERO), band: new Array<number>(n).fill(0), cumBaseTotal: ZERO, cumExpected: ZERO };
}

function unchecked(s: BenefitSettlementInput, reason: 'no_benefit_rules' | 'no_large_expense_entry'): SettlementBenefit {
  return { setl_id: s.setl_id, setl_time: s.setl_time, checked: false, unchecked_reason: reason, expected: Money.ZERO, actual: Money.of(s.hifob_pay), derivation: null };
}

function evaluateSettlement(policy: RegionPolicy, year: number, s: BenefitSettlementInput, st: YearState): SettlementBenefit {
  const b = policy.benefits;
  if (b === null) return unchecked(s, 'no_benefit_rules');

  // Base per segment: Σ inscp_scp_amt of the region's large-expense entries (see the file comment).
  const segBase: (Decimal | undefined)[] = new Array<Decimal | undefined>(b.segments.length);
  let hasEntry = false;
  let unknown: string[] | undefined;
  for (const e of s.setldetail ?? []) {
    if (e.fund_pay_type !== policy.fund_pay_type) continue;
    hasEntry = true;
    const si = e.seg == null ? b.default_segment : b.segment_index.get(e.seg);
    if (si === undefined) { (unknown ??= []).push(e.seg!); continue; }
    const v = toDec(e.inscp_scp_amt);
    if (v.isNegative()) throw new RangeError(`settlement ${s.setl_id}: negative inscp_scp_amt`);
    const prev = segBase[si];
    segBase[si] = prev === undefined ? v : prev.plus(v);
  }
  if (!hasEntry) return unchecked(s, 'no_large_expense_entry');

  const mask = adjustmentMask(policy, b, s);
  const ratios = b.ratios[mask]!;
  const cap = b.yearly_cap;
  const baseCap = cap !== null && cap.applies_to === 'base' ? cap : null;
  const baseRoomBefore = baseCap ? baseCap.amount.minus(st.cumBaseTotal) : ZERO;

  const segments: SegmentDerivation[] = [];
  let uncapped: Decimal = ZERO;
  // Segments in file order: with a base cap, earlier segments use the room first.
  for (let si = 0; si < segBase.length; si++) {
    const base = segBase[si];
    if (base === undefined) continue;
    let counted = base;
    if (baseCap) {
      const room = baseCap.amount.minus(st.cumBaseTotal);
      if (counted.gt(room)) counted = room.isNegative() ? ZERO : room;
      st.cumBaseTotal = st.cumBaseTotal.plus(counted);
    }
    const seg = advanceSegment(b, si, ratios[si]!, counted, st);
    seg.base = base;
    segments.push(seg);
    uncapped = uncapped.plus(seg.amount);
  }

  let exact = uncapped;
  let payoutCap: CapDerivation | null = null;
  if (cap !== null && cap.applies_to === 'payout') {
    // Room is counted in expected amounts at the fen: the cap binds what is actually owed (003 art. 32(3)).
    const room = cap.amount.minus(st.cumExpected);
    if (exact.gt(room)) exact = room;
    payoutCap = { applies_to: 'payout', limit: cap.amount, room_before: room, room_after: room, source: cap.source };
  }
  // Room is at the fen (cap and expected amounts are), so rounding after the cap never passes it.
  const expected = toFenDec(exact);
  st.cumExpected = st.cumExpected.plus(expected);
  if (payoutCap) payoutCap.room_after = payoutCap.room_before.minus(expected);

  const derivation: BenefitDerivation = {
    region: policy.id,
    benefit_year: year,
    fund_pay_type: policy.fund_pay_type,
    segments,
    adjustments: appliedAdjustments(b, mask),
    base_cap: baseCap ? { applies_to: 'base', limit: baseCap.amount, room_before: baseRoomBefore, room_after: baseCap.amount.minus(st.cumBaseTotal), source: baseCap.source } : null,
    payout_cap: payoutCap,
    uncapped,
    exact,
    expected,
    unknown_segments: unknown ?? [],
  };
  return {
    setl_id: s.setl_id,
    setl_time: s.setl_time,
    checked: unknown === undefined,
    unchecked_reason: unknown === undefined ? null : 'unknown_segment',
    expected: Money.of(expected),
    actual: Money.of(s.hifob_pay),
    derivation,
  };
}

/** f(cum + counted) − f(cum) for one segment, band by band, and advances the segment's cumulative base. */
function advanceSegment(b: CompiledBenefits, si: number, ratios: readonly Decimal[], counted: Decimal, st: YearState): SegmentDerivation {
  const bands = b.segments[si]!.bands;
  const before = st.cum[si]!;
  const after = counted.isZero() ? before : before.plus(counted);
  const slices: BandSlice[] = [];
  let amount: Decimal = ZERO;
  let k = st.band[si]!;
  let pos = before;
  while (pos.lt(after)) {
    const band = bands[k]!;
    const inside = band.to === null || after.lte(band.to);
    const end = inside ? after : band.to!;
    const slice = pos === before && inside ? counted : end.minus(pos);
    const ratio = ratios[k]!;
    const part = slice.times(ratio);
    slices.push({ band: k, from: band.from, to: band.to, base_slice: slice, band_ratio: band.ratio, ratio, amount: part, source: band.source });
    amount = slices.length === 1 ? part : amount.plus(part);
    pos = end;
    if (!inside) k++;
  }
  // A cumulative base exactly at a band's upper edge belongs to the next band.
  while (bands[k]!.to !== null && after.gte(bands[k]!.to!)) k++;
  st.cum[si] = after;
  st.band[si] = k;
  return { segment: b.segments[si]!.id, base: counted, counted_base: counted, cum_base_before: before, cum_base_after: after, slices, amount };
}

function adjustmentMask(policy: RegionPolicy, b: CompiledBenefits, s: BenefitSettlementInput): number {
  let mask = 0;
  for (const a of b.adjustments) {
    const w = a.when;
    if (w.referral !== undefined && w.referral !== s.referral) continue;
    if (w.treated_outside_region !== undefined && w.treated_outside_region !== isOutside(policy, s.mdtrtarea_admvs)) continue;
    mask |= 1 << a.index;
  }
  return mask;
}

function isOutside(policy: RegionPolicy, admdvs: string): boolean {
  for (const p of policy.admdvs_prefixes) if (admdvs.startsWith(p)) return false;
  return true;
}

function appliedAdjustments(b: CompiledBenefits, mask: number): AppliedAdjustment[] {
  if (mask === 0) return [];
  return b.adjustments.filter((a) => mask & (1 << a.index)).map((a) => ({ id: a.id, ratio_delta: a.ratio_delta, source: a.source }));
}
