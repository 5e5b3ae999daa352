import Decimal from 'decimal.js';
import { Money } from '../money';

/**
 * Exact decimal arithmetic for the benefit engine. Same settings as src/money.ts (40 digits,
 * half-up), so values move between the two without loss. The engine works on Decimals directly
 * (not Money wrappers) because it runs once per settlement on every feed (bench/benefit-engine.ts).
 */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = Decimal;

export const ZERO: Decimal = new Dec(0);

/** An amount as it arrives: a validated wire string, a JSON number with ≤ 2 decimals, or a Money. */
export type AmountInput = string | number | Money;

/** Exact value of an amount input; a Money is not re-parsed. */
export function toDec(v: AmountInput): Decimal {
  if (v instanceof Money) return v.toDecimal();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite amount: ${v}`);
    // The shortest round-trip text is what the sender wrote (spec §1: ≤ 2 decimals).
    return new Dec(String(v));
  }
  return new Dec(v);
}

/** Half-up at the fen (四舍五入, spec §1). */
export function toFenDec(d: Decimal): Decimal {
  return d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** Two-decimal text of an amount (exact values with more decimals are rounded half-up for display). */
export function fen2(d: Decimal): string {
  return d.toFixed(2, Decimal.ROUND_HALF_UP);
}

/** A ratio (0.85) as a percentage text ("85%", "87.5%"). */
export function pct(ratio: Decimal): string {
  return `${ratio.times(100).toString()}%`;
}

/** A ratio delta (-0.05) as percentage points ("-5"). */
export function points(delta: Decimal): string {
  return delta.times(100).toString();
}
