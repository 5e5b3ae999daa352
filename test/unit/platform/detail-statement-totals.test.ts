/**
 * 3202's own totals against its file (src/platform/detail-statement.ts, totalsAgainstFile): the sums
 * are exact in fen (BigInt), whatever the decimals written, the signs, or the size of the sum.
 */
import fc from 'fast-check';
import type { DetailRow } from '../../../src/platform/detail-file';
import { totalsAgainstFile, type Statement3202 } from '../../../src/platform/detail-statement';
import { Money } from '../../../src/money';

const row = (medfee: string, fund: string): DetailRow => ({
  line: 1,
  setl_id: 'S',
  mdtrt_id: 'M',
  psn_no: 'P',
  medfee_sumamt: medfee,
  fund_pay_sumamt: fund,
  acct_pay: '0',
  refd_setl_flag: '0',
});
const stmt = (n: number, medfee: string | number, fund: string | number): Statement3202 => ({
  setl_optins: '533100',
  file_qury_no: 'F1',
  stmt_begndate: '2025-03-01',
  stmt_enddate: '2025-03-31',
  medfee_sumamt: medfee,
  fund_pay_sumamt: fund,
  cash_payamt: '0',
  fixmedins_setl_cnt: n,
});

test('sums of one or two decimals, negatives and -0 are exact; a difference names the field and by how much', () => {
  const rows = [row('1.5', '0.05'), row('-0.25', '-0'), row('100', '-0.5'), row('0.1', '0.10')];
  expect(totalsAgainstFile(stmt(4, '101.35', '-0.35'), rows)).toBeUndefined();
  expect(totalsAgainstFile(stmt(4, 101.35, -0.35), rows)).toBeUndefined();
  expect(totalsAgainstFile(stmt(4, '101.36', '-0.35'), rows)).toEqual({
    field: 'input.data.medfee_sumamt',
    message: 'medfee_sumamt 101.36 与文件明细合计 101.35 不符，相差 0.01',
  });
  expect(totalsAgainstFile(stmt(4, '101.35', '0.35'), rows)?.field).toBe('input.data.fund_pay_sumamt');
  expect(totalsAgainstFile(stmt(3, '101.35', '-0.35'), rows)?.field).toBe('input.data.fixmedins_setl_cnt');
});

test('a sum past 2^53 fen stays exact', () => {
  const big = '99999999999999.99';
  const rows = Array.from({ length: 1000 }, () => row(big, '-0.01'));
  expect(totalsAgainstFile(stmt(1000, '99999999999999990.00', '-10.00'), rows)).toBeUndefined();
  expect(totalsAgainstFile(stmt(1000, '99999999999999990.01', '-10.00'), rows)?.message).toContain('相差 0.01');
});

test('the same as Money.sum on generated amounts', () => {
  const amount = fc
    .tuple(
      fc.boolean(),
      fc.bigInt({ min: 0n, max: 99_999_999_999_999n }),
      fc.constantFrom('', '.5', '.05', '.50', '.99'),
    )
    .map(([neg, int, dec]) => `${neg ? '-' : ''}${int}${dec}`);
  fc.assert(
    fc.property(fc.array(fc.tuple(amount, amount), { minLength: 1, maxLength: 30 }), (pairs) => {
      const rows = pairs.map(([a, b]) => row(a, b));
      const m = Money.sum(rows.map((r) => Money.of(r.medfee_sumamt))).toString();
      const f = Money.sum(rows.map((r) => Money.of(r.fund_pay_sumamt))).toString();
      expect(totalsAgainstFile(stmt(rows.length, m, f), rows)).toBeUndefined();
      expect(totalsAgainstFile(stmt(rows.length, Money.of(m).plus(Money.of('0.01')).toString(), f), rows)?.field).toBe(
        'input.data.medfee_sumamt',
      );
    }),
    { numRuns: 500 },
  );
});
