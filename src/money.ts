import Decimal from 'decimal.js';

/**
 * Money in yuan, exact. Every amount in the gateway is a Money: no `number` arithmetic on amounts.
 * Rounding is half-up (四舍五入) at the fen, only where a rule says so (`toFen`).
 */
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

export class Money {
  private constructor(private readonly d: Decimal) {}

  static readonly ZERO = new Money(new D(0));

  /** From a validated wire value ("1234.56" or a JSON number with ≤ 2 decimals) or a Decimal. */
  static of(v: string | number | Decimal | Money): Money {
    if (v instanceof Money) return v;
    if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`not a finite amount: ${v}`);
    return new Money(new D(v instanceof Decimal ? v.toString() : typeof v === 'number' ? numberToPlain(v) : v));
  }

  static sum(xs: Iterable<Money>): Money {
    let acc = new D(0);
    for (const x of xs) acc = acc.plus(x.d);
    return new Money(acc);
  }

  plus(o: Money): Money {
    return new Money(this.d.plus(o.d));
  }
  minus(o: Money): Money {
    return new Money(this.d.minus(o.d));
  }
  /** Exact product with a ratio (e.g. 0.9): not rounded; call toFen() where the rule rounds. */
  times(ratio: string | number | Decimal): Money {
    return new Money(this.d.times(new D(ratio as Decimal.Value)));
  }
  neg(): Money {
    return new Money(this.d.neg());
  }
  abs(): Money {
    return new Money(this.d.abs());
  }
  /** Half-up at the fen. */
  toFen(): Money {
    return new Money(this.d.toDecimalPlaces(2, D.ROUND_HALF_UP));
  }

  cmp(o: Money): -1 | 0 | 1 {
    return this.d.cmp(o.d) as -1 | 0 | 1;
  }
  eq(o: Money): boolean {
    return this.d.eq(o.d);
  }
  gt(o: Money): boolean {
    return this.d.gt(o.d);
  }
  gte(o: Money): boolean {
    return this.d.gte(o.d);
  }
  lt(o: Money): boolean {
    return this.d.lt(o.d);
  }
  lte(o: Money): boolean {
    return this.d.lte(o.d);
  }
  isZero(): boolean {
    return this.d.isZero();
  }
  isPositive(): boolean {
    return this.d.gt(0);
  }
  isNegative(): boolean {
    return this.d.lt(0);
  }
  static min(a: Money, b: Money): Money {
    return a.lte(b) ? a : b;
  }
  static max(a: Money, b: Money): Money {
    return a.gte(b) ? a : b;
  }

  /** The exact decimal (for engines that need ratios and intermediate precision). */
  toDecimal(): Decimal {
    return this.d;
  }
  /** Wire and database form: always two decimals ("12.30"); exact values with more decimals are rounded half-up. */
  toString(): string {
    return this.d.toFixed(2, D.ROUND_HALF_UP);
  }
  /** Full precision, for evidence of intermediate steps. */
  toExactString(): string {
    return this.d.toString();
  }
  toJSON(): string {
    return this.toString();
  }
}

/** A JSON number's shortest round-trip text (e.g. 0.1 → "0.1"), which is what the sender wrote. */
function numberToPlain(n: number): string {
  return String(n);
}

/** Count of decimal places a wire amount carries (for the "at most 2 decimals" rule). */
export function decimalPlaces(v: string | number): number {
  return new D(typeof v === 'number' ? numberToPlain(v) : v).decimalPlaces();
}
