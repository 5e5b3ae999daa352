import { evaluatePersonYear } from '../../../src/benefits/engine';
import { explain } from '../../../src/benefits/explain';
import { derivationEvidence } from '../../../src/benefits/findings';
import { policy, settlement } from './fixtures';

const district = policy('sample-district-9999');
const dehong = policy('dehong-5331');

describe('explain: a derivation an auditor can redo by hand', () => {
  const year = evaluatePersonYear(district, 2024, [
    settlement({ id: 'S1', date: '2024-01-10', base: '30000' }, '999901'),
    settlement({ id: 'S2', date: '2024-03-10', base: '55000', hifob: '49250.00' }, '999901'),
  ]);

  test('when a district settlement crosses bands, then the English text lists each slice with its ratio and source', () => {
    const text = explain(year.settlements[1]!, district, 'en');
    expect(text).toContain('cumulative base of the year 30000.00 → 85000.00');
    expect(text).toContain('band 1 [0.00, 40000.00): 10000.00 × 85% = 8500.00');
    expect(text).toContain('band 2 [40000.00, 80000.00): 40000.00 × 90% = 36000.00');
    expect(text).toContain('band 3 [80000.00, ∞): 5000.00 × 95% = 4750.00');
    expect(text).toContain('002 #5 §6(3)③');
    expect(text).toContain('Expected amount (half-up at the fen): 49250.00');
    expect(text).toContain('difference (recorded − expected): 0.00');
  });

  test('when rendered in Chinese, then the same numbers appear with Chinese labels', () => {
    const text = explain(year.settlements[1]!, district, 'zh-CN');
    expect(text).toContain('第2档 [40000.00, 80000.00)：40000.00 × 90% = 36000.00');
    expect(text).toContain('应付金额（四舍五入到分）：49250.00');
    expect(text).toContain('年度基数封顶 100000.00');
  });

  test('when an adjustment applies and the product has more decimals, then the text shows the points and the exact value', () => {
    // 12,345.67 × 85% = 10,493.8195 → 10,493.82
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D1', date: '2024-02-01', base: '12345.67', area: '530102' }),
    ]);
    const en = explain(y.settlements[0]!, dehong, 'en');
    expect(en).toContain('every band -5 percentage points (001 art. 12');
    expect(en).toContain('12345.67 × 85% (file ratio 90%, adjusted) = 10493.82 (10493.8195)');
    expect(en).toContain('Yearly cap: none (001 art. 10');
    expect(explain(y.settlements[0]!, dehong, 'zh-CN')).toContain('各档比例 -5 个百分点');
  });

  test('when a settlement is unchecked, then the text says why', () => {
    const y = evaluatePersonYear(dehong, 2024, [settlement({ id: 'N1', date: '2024-02-01', hifob: '5.00' })]);
    expect(explain(y.settlements[0]!, dehong, 'en')).toContain(
      'Not checked: the settlement has no large-expense setldetail entry',
    );
    expect(explain(y.settlements[0]!, dehong, 'zh-CN')).toContain('未校验');
  });

  test('when a derivation becomes evidence, then it is plain JSON with exact products and fen amounts', () => {
    const y = evaluatePersonYear(dehong, 2024, [
      settlement({ id: 'D1', date: '2024-02-01', base: '12345.67', area: '530102' }),
    ]);
    const ev = derivationEvidence(y.settlements[0]!.derivation!);
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
    expect(ev).toMatchObject({
      exact: '10493.8195',
      expected: '10493.82',
      uncapped: '10493.8195',
      payout_cap: null,
      base_cap: null,
    });
    expect(ev.segments[0]).toMatchObject({ base: '12345.67', cum_base_before: '0.00', cum_base_after: '12345.67' });
    expect(ev.adjustments).toEqual([
      { id: 'outside_region_without_referral', ratio_delta: '-0.05', source: expect.stringContaining('001 art. 12') },
    ]);
  });
});
