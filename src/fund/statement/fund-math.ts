/** Percentages and limits of the fund year (spec §8): exact, half-up at two decimals / at the fen. */
import Decimal from 'decimal.js';
import type { Money } from '../../money';
import type { SourcedPct } from './statement-types';

const Pct = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

/** part / whole × 100, half-up at two decimals ("9.00"); null when whole is zero. */
export function percentOf(part: Money, whole: Money): string | null {
  if (whole.isZero()) return null;
  return new Pct(part.toDecimal().toString())
    .times(100)
    .div(new Pct(whole.toDecimal().toString()))
    .toFixed(2, Pct.ROUND_HALF_UP);
}

/** limit % × premium income, half-up at the fen. */
export function limitAmount(limit: SourcedPct, premiumIncome: Money): Money {
  return premiumIncome.times(new Pct(limit.pct.toString()).div(100)).toFen();
}
