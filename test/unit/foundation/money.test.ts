import fc from 'fast-check';
import { Money, decimalPlaces } from '../../../src/money';

describe('Money', () => {
  test('when amounts come as strings or JSON numbers, then they are exact and print with two decimals', () => {
    expect(Money.of('0.1').plus(Money.of(0.2)).toString()).toBe('0.30');
    expect(Money.of(1234.5).toString()).toBe('1234.50');
    expect(Money.of('99999999999999.99').plus(Money.of('0.01')).toString()).toBe('100000000000000.00');
  });

  test('when a product is rounded to the fen, then halves go up (四舍五入)', () => {
    expect(Money.of('0.05').times('0.5').toFen().toString()).toBe('0.03'); // 0.025 → 0.03
    expect(Money.of('10.01').times('0.85').toFen().toString()).toBe('8.51'); // 8.5085 → 8.51
    expect(Money.of('0.01').times('0.5').neg().toFen().toString()).toBe('-0.01'); // half away from zero
  });

  test('when amounts are summed in any order, then the total is the same to the fen', () => {
    const fen = fc.integer({ min: 0, max: 10_000_000_000 }).map((n) => Money.of((n / 100).toFixed(2)));
    fc.assert(
      fc.property(fc.array(fen, { maxLength: 50 }), (xs) => {
        const a = Money.sum(xs);
        const b = Money.sum([...xs].reverse());
        return a.eq(b) && a.toString() === b.toString();
      }),
    );
  });

  test('when counting decimal places of wire amounts, then numbers and strings agree', () => {
    expect(decimalPlaces('12.30')).toBe(1);
    expect(decimalPlaces(12.345)).toBe(3);
    expect(() => Money.of(Number.NaN)).toThrow(RangeError);
  });
});
