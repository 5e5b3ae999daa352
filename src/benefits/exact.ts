import Decimal from 'decimal.js';
import { Money } from '../money';

/**
 * Exact decimal helpers for the benefit engine. Amounts are Money (src/money.ts); ratios are
 * Decimals with the same settings (40 digits, half-up). The engine does its arithmetic on Money
 * values it already holds, so nothing is converted to text and parsed back on the hot path
 * (bench/benefit-engine.ts).
 */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

/** Zero ratio. */
export const ZERO: Decimal = new Dec(0);

/** An amount as it arrives: a validated wire string, a JSON number with ≤ 2 decimals, or a Money. */
export type AmountInput = string | number | Money;

/** Half-up at the fen (四舍五入, spec §1); an amount already at the fen is returned as it is. */
export function toFen(m: Money): Money {
  return m.toDecimal().decimalPlaces() <= 2 ? m : m.toFen();
}

/**
 * Two-decimal text of an amount ("30000.00"), as Money.toString gives, but without Decimal's
 * toFixed (a copy and a rounding pass) when the value is already at the fen: findings and their
 * evidence format many amounts. Text padding only, no arithmetic.
 */
export function fenText(m: Money): string {
  const d = m.toDecimal();
  const dp = d.decimalPlaces();
  if (dp > 2) return m.toString();
  const s = d.toString();
  // Decimal.toString uses exponent notation only from 1e21 (toExpPos), far above any amount (spec §1: < 10^14).
  if (s.includes('e')) return m.toString();
  return dp === 0 ? `${s}.00` : dp === 1 ? `${s}0` : s;
}

/** Two decimals for display; an exact value with more decimals also shows all of them ("10493.82 (10493.8195)"). */
export function amountText(m: Money): string {
  return m.toDecimal().decimalPlaces() <= 2 ? fenText(m) : `${m.toString()} (${m.toExactString()})`;
}

/** Full precision, never exponent notation (for evidence). */
export function exactText(m: Money): string {
  return m.toDecimal().toFixed();
}

/** A ratio (0.85) as a percentage ("85%", "87.5%"). */
export function pct(ratio: Decimal): string {
  return `${ratio.times(100).toFixed()}%`;
}

/** A ratio delta (-0.05) as percentage points ("-5"). */
export function points(delta: Decimal): string {
  return delta.times(100).toFixed();
}
