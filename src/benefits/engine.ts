import type Decimal from 'decimal.js';
import { Money } from '../money';
import { cstInstant } from '../time';
import { FIRST_TABLED_YEAR } from './compile-policy';
import { fenText, toFen, type AmountInput } from './exact';
import type { CompiledBenefits, RegionPolicy } from './policy-types';
import type {
  AppliedAdjustment,
  BandSlice,
  BenefitDerivation,
  BenefitSettlementInput,
  CapDerivation,
  PersonYearBenefits,
  SegmentDerivation,
  SettlementBenefit,
} from './engine-types';

export type {
  AppliedAdjustment,
  BandSlice,
  BenefitDerivation,
  BenefitSetlDetailInput,
  BenefitSettlementInput,
  CapDerivation,
  PersonYearBenefits,
  SegmentDerivation,
  SettlementBenefit,
  UncheckedReason,
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

/** First instant of a benefit year (the calendar year it starts in), China Standard Time. */
export function benefitYearStart(policy: RegionPolicy, year: number): Date {
  return new Date(yearStartMs(policy, year));
}

function yearStartMs(policy: RegionPolicy, year: number): number {
  const tabled = policy.benefit_year_starts[year - FIRST_TABLED_YEAR];
  return tabled ?? cstInstant(`${String(year).padStart(4, '0')}-${policy.benefit_year_start}`).getTime();
}

/** The benefit year (the calendar year it starts in) of an instant, in China Standard Time. */
export function benefitYearOf(policy: RegionPolicy, t: Date): number {
  // CST is ahead of UTC, so the CST calendar year is the UTC year or the next one.
  const ms = t.getTime();
  const y = t.getUTCFullYear() + 1;
  if (ms >= yearStartMs(policy, y)) return y;
  return ms >= yearStartMs(policy, y - 1) ? y - 1 : y - 2;
}

/** All of one person's settlements in one region, grouped by benefit year (ascending). */
export function evaluatePerson(
  policy: RegionPolicy,
  settlements: readonly BenefitSettlementInput[],
): PersonYearBenefits[] {
  const byYear = new Map<number, BenefitSettlementInput[]>();
  for (const s of settlements) {
    const y = benefitYearOf(policy, s.setl_time);
    const list = byYear.get(y);
    if (list) list.push(s);
    else byYear.set(y, [s]);
  }
  return [...byYear.keys()].sort((a, b) => a - b).map((y) => evaluatePersonYear(policy, y, byYear.get(y)!));
}

/**
 * One person's settlements of one benefit year (any order; one record per setl_id, in its latest
 * state). Throws RangeError for a settlement outside the year, a repeated setl_id or a negative
 * base: callers pass schema-validated data (spec §1: amounts ≥ 0), so these are programming errors.
 */
export function evaluatePersonYear(
  policy: RegionPolicy,
  benefitYear: number,
  settlements: readonly BenefitSettlementInput[],
): PersonYearBenefits {
  const from = yearStartMs(policy, benefitYear);
  const to = yearStartMs(policy, benefitYear + 1);
  // Feeds mostly arrive in order: sort (a copy) only when they do not.
  let sorted = true;
  for (let i = 1; i < settlements.length && sorted; i++)
    sorted = bySetlTimeThenId(settlements[i - 1]!, settlements[i]!) < 0;
  const ordered = sorted ? settlements : [...settlements].sort(bySetlTimeThenId);
  const state = newYearState(policy.benefits);
  const results: SettlementBenefit[] = [];
  const excluded: string[] = [];
  let checked = 0;
  let prevId: string | undefined;
  for (const s of ordered) {
    if (s.setl_id === prevId) throw new RangeError(`setl_id ${s.setl_id} appears twice`);
    prevId = s.setl_id;
    const t = s.setl_time.getTime();
    if (t < from || t >= to) throw new RangeError(`settlement ${s.setl_id} is not in benefit year ${benefitYear}`);
    if (s.status !== 'valid') {
      excluded.push(s.setl_id);
      continue;
    }
    const r = evaluateSettlement(policy, benefitYear, s, state);
    if (r.checked) checked++;
    results.push(r);
  }
  return {
    region: policy.id,
    benefit_year: benefitYear,
    settlements: results,
    excluded,
    checked_count: checked,
    unchecked_count: results.length - checked,
  };
}

function bySetlTimeThenId(a: BenefitSettlementInput, b: BenefitSettlementInput): number {
  const d = a.setl_time.getTime() - b.setl_time.getTime();
  if (d !== 0) return d;
  return a.setl_id < b.setl_id ? -1 : a.setl_id > b.setl_id ? 1 : 0;
}

const NONE: readonly string[] = Object.freeze([]);
const NONE_APPLIED: readonly AppliedAdjustment[] = Object.freeze([]);

/** Cumulative state of a person's benefit year, advanced settlement by settlement. */
interface YearState {
  /** Counted cumulative base per segment. */
  cum: Money[];
  /** Index of the band the cumulative base of each segment is in (it only grows). */
  band: number[];
  /** Room left under a base cap (cap − counted cumulative base of all segments). */
  baseRoom: Money;
  /** Room left under a payout cap (cap − Σ expected amounts at the fen so far). */
  payoutRoom: Money;
}

function newYearState(b: CompiledBenefits | null): YearState {
  const n = b ? b.segments.length : 0;
  const cap = b?.yearly_cap?.amount ?? Money.ZERO;
  return {
    cum: new Array<Money>(n).fill(Money.ZERO),
    band: new Array<number>(n).fill(0),
    baseRoom: cap,
    payoutRoom: cap,
  };
}

function unchecked(
  s: BenefitSettlementInput,
  reason: 'no_benefit_rules' | 'no_large_expense_entry',
): SettlementBenefit {
  return {
    setl_id: s.setl_id,
    setl_time: s.setl_time,
    checked: false,
    unchecked_reason: reason,
    expected: Money.ZERO,
    actual: Money.of(s.hifob_pay),
    derivation: null,
  };
}

function evaluateSettlement(
  policy: RegionPolicy,
  year: number,
  s: BenefitSettlementInput,
  st: YearState,
): SettlementBenefit {
  const b = policy.benefits;
  if (b === null) return unchecked(s, 'no_benefit_rules');

  // Base per segment: Σ inscp_scp_amt of the region's large-expense entries (see the file comment).
  const segBase: (Money | undefined)[] = new Array<Money | undefined>(b.segments.length);
  let hasEntry = false;
  let unknown: string[] | undefined;
  for (const e of s.setldetail ?? []) {
    if (e.fund_pay_type !== policy.fund_pay_type) continue;
    hasEntry = true;
    const si = e.seg == null ? b.default_segment : b.segment_index.get(e.seg);
    if (si === undefined) {
      (unknown ??= []).push(e.seg!);
      continue;
    }
    const v = Money.of(e.inscp_scp_amt);
    if (v.toDecimal().isNegative()) throw new RangeError(`settlement ${s.setl_id}: negative inscp_scp_amt`);
    const prev = segBase[si];
    segBase[si] = prev === undefined ? v : prev.plus(v);
  }
  if (!hasEntry) return unchecked(s, 'no_large_expense_entry');

  const mask = adjustmentMask(policy, b, s);
  const ratios = b.ratios[mask]!;
  const cap = b.yearly_cap;
  const baseCap = cap !== null && cap.applies_to === 'base' ? cap : null;
  const baseRoomBefore = st.baseRoom;

  const segments: SegmentDerivation[] = [];
  let uncapped = Money.ZERO;
  // Segments in file order: with a base cap, earlier segments use the room first.
  for (let si = 0; si < segBase.length; si++) {
    const base = segBase[si];
    if (base === undefined) continue;
    let counted = base;
    if (baseCap) {
      if (counted.gt(st.baseRoom)) counted = st.baseRoom;
      st.baseRoom = st.baseRoom.minus(counted);
    }
    const seg = advanceSegment(b, si, ratios[si]!, base, counted, st);
    segments.push(seg);
    uncapped = segments.length === 1 ? seg.amount : uncapped.plus(seg.amount);
  }

  let exact = uncapped;
  let payoutCap: CapDerivation | null = null;
  if (cap !== null && cap.applies_to === 'payout') {
    // Room is counted in expected amounts at the fen: the cap binds what is actually owed (003 art. 32(3)).
    const room = st.payoutRoom;
    if (exact.gt(room)) exact = room;
    payoutCap = { applies_to: 'payout', limit: cap.amount, room_before: room, room_after: room, source: cap.source };
  }
  // The room is at the fen (cap and expected amounts are), so rounding after the cap never passes it.
  const expected = toFen(exact);
  if (payoutCap) {
    st.payoutRoom = payoutCap.room_before.minus(expected);
    payoutCap.room_after = st.payoutRoom;
  }
  const derivation: BenefitDerivation = {
    region: policy.id,
    benefit_year: year,
    fund_pay_type: policy.fund_pay_type,
    segments,
    adjustments: appliedAdjustments(b, mask),
    base_cap: baseCap
      ? {
          applies_to: 'base',
          limit: baseCap.amount,
          room_before: baseRoomBefore,
          room_after: st.baseRoom,
          source: baseCap.source,
        }
      : null,
    payout_cap: payoutCap,
    uncapped,
    exact,
    expected,
    unknown_segments: unknown ?? NONE,
  };
  return {
    setl_id: s.setl_id,
    setl_time: s.setl_time,
    checked: unknown === undefined,
    unchecked_reason: unknown === undefined ? null : 'unknown_segment',
    expected,
    actual: recordedAmount(s.hifob_pay, expected),
    derivation,
  };
}

/**
 * hifob_pay as Money. Most recorded amounts equal the expected one and arrive in the canonical
 * two-decimal text (as PostgreSQL numeric(…,2) gives them): then the expected Money is reused
 * instead of parsing the text again (the engine's largest cost, bench/benefit-engine.ts).
 */
function recordedAmount(v: AmountInput, expected: Money): Money {
  return typeof v === 'string' && v === fenText(expected) ? expected : Money.of(v);
}

/** f(cum + counted) − f(cum) for one segment, band by band, and advances the segment's cumulative base. */
function advanceSegment(
  b: CompiledBenefits,
  si: number,
  ratios: readonly Decimal[],
  base: Money,
  counted: Money,
  st: YearState,
): SegmentDerivation {
  const bands = b.segments[si]!.bands;
  const before = st.cum[si]!;
  const slices: BandSlice[] = [];
  let k = st.band[si]!;
  if (counted.isZero()) {
    return {
      segment: b.segments[si]!.id,
      base,
      counted_base: counted,
      cum_base_before: before,
      cum_base_after: before,
      slices,
      amount: Money.ZERO,
    };
  }
  const after = before.plus(counted);
  let amount = Money.ZERO;
  let pos = before;
  for (;;) {
    const band = bands[k]!;
    const inside = band.to === null || after.lte(band.to);
    const slice = inside ? (pos === before ? counted : after.minus(pos)) : band.to!.minus(pos);
    const ratio = ratios[k]!;
    const part = slice.times(ratio);
    slices.push({
      band: k,
      from: band.from,
      to: band.to,
      base_slice: slice,
      band_ratio: band.ratio,
      ratio,
      amount: part,
      source: band.source,
    });
    amount = slices.length === 1 ? part : amount.plus(part);
    if (inside) break;
    pos = band.to!;
    k++;
  }
  // A cumulative base exactly at a band's upper edge belongs to the next band.
  while (bands[k]!.to !== null && after.gte(bands[k]!.to!)) k++;
  st.cum[si] = after;
  st.band[si] = k;
  return {
    segment: b.segments[si]!.id,
    base,
    counted_base: counted,
    cum_base_before: before,
    cum_base_after: after,
    slices,
    amount,
  };
}

function adjustmentMask(policy: RegionPolicy, b: CompiledBenefits, s: BenefitSettlementInput): number {
  let mask = 0;
  for (const a of b.adjustments) {
    const w = a.when;
    if (w.referral !== undefined && w.referral !== s.referral) continue;
    if (w.treated_outside_region !== undefined && w.treated_outside_region !== isOutside(policy, s.mdtrtarea_admvs))
      continue;
    mask |= 1 << a.index;
  }
  return mask;
}

function isOutside(policy: RegionPolicy, admdvs: string): boolean {
  for (const p of policy.admdvs_prefixes) if (admdvs.startsWith(p)) return false;
  return true;
}

function appliedAdjustments(b: CompiledBenefits, mask: number): readonly AppliedAdjustment[] {
  if (mask === 0) return NONE_APPLIED;
  return b.adjustments
    .filter((a) => mask & (1 << a.index))
    .map((a) => ({ id: a.id, ratio_delta: a.ratio_delta, source: a.source }));
}
