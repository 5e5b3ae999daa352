/**
 * The premium chain's pure rules (spec §8), with hand-worked cases from the seeds: Ulanqab's premiums
 * (003 arts. 7–8: 120 employer + 72 person, 192 flexible) against insured_count, a county account not
 * cleared by 31 December (003 art. 47), a treasury that passed on in full by day 10, and money out of
 * nowhere.
 */
import path from 'node:path';
import { loadRegionPolicies } from '../../../src/benefits/region-policy';
import {
  DEFAULT_FUND_POLICY,
  accountBalances,
  collectionFindings,
  premiumChainGroups,
  transferDueDate,
  type ChainContext,
  type CollectionFact,
  type TransferFact,
} from '../../../src/fund/rules';

const regions = loadRegionPolicies(path.resolve(__dirname, '..', '..', '..', 'regions'));
const ulanqab = regions.regionFor('150902')!.fund;
const ctx: ChainContext = {
  fundPolicyFor: (a) => regions.regionFor(a)?.fund ?? DEFAULT_FUND_POLICY,
  graceDaysFor: () => 2,
};
const at = (s: string) => new Date(s);

let n = 0;
const collection = (o: Partial<CollectionFact> = {}): CollectionFact => ({
  collection_id: `C${++n}`,
  message_id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
  received_at: at('2025-01-20T10:00:00+08:00'),
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  payer_type: 'employer',
  insured_count: 1000,
  amount: '120000.00',
  late_fee: '0.00',
  collected_at: at('2025-01-20T10:00:00+08:00'),
  ...o,
});
const transfer = (o: Partial<TransferFact> = {}): TransferFact => ({
  transfer_id: `T${++n}`,
  message_id: `00000000-0000-0000-0001-${String(n).padStart(12, '0')}`,
  received_at: at('2025-02-08T10:00:00+08:00'),
  admdvs: '150902',
  fund_year: '2025',
  period: '2025-01',
  from_account: 'tax',
  to_account: 'treasury',
  amount: '120000.00',
  transferred_at: at('2025-02-08T10:00:00+08:00'),
  bank_txn_no: null,
  ...o,
});
const codes = (groups: ReturnType<typeof premiumChainGroups>) =>
  groups.flatMap((g) => g.findings.map((f) => `${f.code} ${f.subject_key}`)).sort();

describe('the fund section of the region files', () => {
  test('when Ulanqab is loaded, then its premiums are 120 employer, 72 employee and retiree, 192 flexible, each with its article, and finance is absent', () => {
    expect(ulanqab.premiums.employer).toEqual({ amount: '120.00', source: expect.stringContaining('003 art. 7') });
    expect(ulanqab.premiums.employee?.amount).toBe('72.00');
    expect(ulanqab.premiums.retiree?.amount).toBe('72.00');
    expect(ulanqab.premiums.flexible).toEqual({ amount: '192.00', source: expect.stringContaining('003 art. 8') });
    expect(ulanqab.premiums.finance).toBeUndefined();
    expect(ulanqab.transfer_due.county_account).toEqual({
      kind: 'month_day',
      month_day: '12-31',
      source: expect.stringContaining('003 art. 47'),
    });
  });

  test('when Dehong, Jiaozuo and the sample district are loaded, then only the limits and premiums their seeds state are there', () => {
    expect(regions.regionFor('5331')!.fund.limits).toEqual({
      operating_cost_pct: { pct: 9, source: expect.stringContaining('001 art. 21') },
      profit_pct: { pct: 1, source: expect.stringContaining('001 art. 21') },
    });
    expect(regions.regionFor('4108')!.fund.limits).toEqual({
      admin_cost_pct: { pct: 3, source: expect.stringContaining('000 §4') },
    });
    expect(regions.regionFor('1509')!.fund.limits).toEqual({});
    expect(regions.regionFor('9999')!.fund.premiums).toEqual({
      employer: { amount: '45.00', source: expect.stringContaining('002 #5') },
      employee: { amount: '30.00', source: expect.any(String) },
      retiree: { amount: '30.00', source: expect.any(String) },
    });
    expect(regions.regionFor('5331')!.fund.premiums).toEqual({});
    expect(regions.regionFor('5331')!.fund.cost_report_due).toBe('04-30');
  });

  test("when due dates are computed, then tax and treasury are day 10 of the next month and county accounts 31 December of the period's year", () => {
    expect(transferDueDate(ulanqab.transfer_due.tax, '2025-01')).toBe('2025-02-10');
    expect(transferDueDate(ulanqab.transfer_due.treasury, '2025-12')).toBe('2026-01-10');
    expect(transferDueDate(ulanqab.transfer_due.county_account, '2025-03')).toBe('2025-12-31');
    expect(transferDueDate(ulanqab.transfer_due.county_account, '2025-12')).toBe('2025-12-31');
  });
});

describe('PREMIUM_RATE_MISMATCH', () => {
  const asOf = at('2025-03-01T00:00:00+08:00');
  test('when Ulanqab employers pay 120 for each of 1,000 insured, then there is no finding', () => {
    expect(
      collectionFindings(
        collection({ payer_type: 'employer', insured_count: 1000, amount: '120000.00' }),
        asOf,
        ulanqab,
      ),
    ).toEqual([]);
  });

  test('when employees pay 72 each and flexible workers 192 each, then there is no finding', () => {
    expect(
      collectionFindings(
        collection({ payer_type: 'employee', insured_count: 1000, amount: '72000.00' }),
        asOf,
        ulanqab,
      ),
    ).toEqual([]);
    expect(
      collectionFindings(collection({ payer_type: 'flexible', insured_count: 250, amount: '48000.00' }), asOf, ulanqab),
    ).toEqual([]);
  });

  test('when flexible workers are collected at 120 + 72 − 1 a person, then the difference is raised with the premium and its article', () => {
    const c = collection({ payer_type: 'flexible', insured_count: 250, amount: '47750.00' });
    const [f] = collectionFindings(c, asOf, ulanqab);
    expect(f).toMatchObject({
      code: 'PREMIUM_RATE_MISMATCH',
      severity: 'medium',
      admdvs: '150902',
      insurer_code: '',
      period: '2025-01',
      subject_key: `collection:${c.collection_id}`,
      expected_amount: '48000.00',
      actual_amount: '47750.00',
      difference: '-250.00',
      evidence: {
        message_ids: [c.message_id],
        premium: { payer_type: 'flexible', amount: '192.00', source: expect.stringContaining('003 art. 8') },
      },
    });
  });

  test('when the region states no premium for the payer type (finance in Ulanqab, anything in Dehong), then nothing is checked', () => {
    expect(
      collectionFindings(collection({ payer_type: 'finance', insured_count: 10, amount: '1.00' }), asOf, ulanqab),
    ).toEqual([]);
    expect(
      collectionFindings(collection({ admdvs: '533102', amount: '1.00' }), asOf, regions.regionFor('5331')!.fund),
    ).toEqual([]);
  });

  test('when the collection is dated after as_of, then it does not count yet', () => {
    expect(
      collectionFindings(collection({ amount: '1.00', collected_at: at('2025-03-02T00:00:00+08:00') }), asOf, ulanqab),
    ).toEqual([]);
  });
});

describe('the balances of the pass-through accounts', () => {
  test('when tax collected premiums and a late fee and passed part on, then received, passed_on and balance are per account, region and period', () => {
    const cs = [
      collection({ amount: '120000.00', late_fee: '35.50' }),
      collection({ payer_type: 'employee', amount: '72000.00' }),
    ];
    const ts = [
      transfer({ amount: '150000.00' }),
      transfer({ from_account: 'treasury', to_account: 'special_account', amount: '150000.00' }),
    ];
    const rows = accountBalances(cs, ts, at('2025-03-01T00:00:00+08:00')).map(
      ({ account, admdvs, period, received, passed_on, balance }) => ({
        account,
        admdvs,
        period,
        received,
        passed_on,
        balance,
      }),
    );
    expect(rows).toEqual([
      {
        account: 'tax',
        admdvs: '150902',
        period: '2025-01',
        received: '192035.50',
        passed_on: '150000.00',
        balance: '42035.50',
      },
      {
        account: 'treasury',
        admdvs: '150902',
        period: '2025-01',
        received: '150000.00',
        passed_on: '150000.00',
        balance: '0.00',
      },
    ]);
  });
});

describe('PREMIUM_TRANSFER_SHORT', () => {
  test('when a treasury passed on in full by day 10, then there is no finding on the 11th', () => {
    const cs = [collection()];
    const ts = [
      transfer({ transferred_at: at('2025-02-05T10:00:00+08:00') }),
      transfer({
        from_account: 'treasury',
        to_account: 'special_account',
        transferred_at: at('2025-02-10T16:00:00+08:00'),
      }),
    ];
    expect(codes(premiumChainGroups(cs, ts, at('2025-02-11T00:00:00+08:00'), ctx))).toEqual([]);
  });

  test('when the treasury has passed on only part by day 10, then PREMIUM_TRANSFER_SHORT is raised once day 10 is over, not before', () => {
    const cs = [collection()];
    const ts = [
      transfer(),
      transfer({
        from_account: 'treasury',
        to_account: 'special_account',
        amount: '100000.00',
        transferred_at: at('2025-02-09T10:00:00+08:00'),
      }),
    ];
    expect(codes(premiumChainGroups(cs, ts, at('2025-02-10T23:59:59+08:00'), ctx))).toEqual([]);
    const groups = premiumChainGroups(cs, ts, at('2025-02-11T00:00:00+08:00'), ctx);
    expect(codes(groups)).toEqual(['PREMIUM_TRANSFER_SHORT account:treasury:150902:2025-01']);
    const f = groups.find((g) => g.findings.length)!.findings[0]!;
    expect(f).toMatchObject({
      severity: 'high',
      expected_amount: '120000.00',
      actual_amount: '100000.00',
      difference: '-20000.00',
      evidence: {
        account: 'treasury',
        balance: '20000.00',
        due: { date: '2025-02-10', lapses_at: '2025-02-11T00:00:00+08:00' },
        transfers_in: [{ transfer_id: ts[0]!.transfer_id }],
        transfers_out: [{ amount: '100000.00' }],
      },
    });
    expect((f.evidence as { message_ids: string[] }).message_ids).toEqual(
      [ts[0]!.message_id, ts[1]!.message_id].sort(),
    );
  });

  test('when a county account has not been cleared by 31 December, then it is short on 1 January; a later transfer that covers it leaves the group without findings', () => {
    const cs = [collection({ period: '2025-03', amount: '120000.00' })];
    const intoCounty = transfer({
      period: '2025-03',
      from_account: 'tax',
      to_account: 'county_account',
      transferred_at: at('2025-04-08T10:00:00+08:00'),
    });
    const part = transfer({
      period: '2025-03',
      from_account: 'county_account',
      to_account: 'special_account',
      amount: '90000.00',
      transferred_at: at('2025-06-30T10:00:00+08:00'),
    });
    const dec31 = at('2025-12-31T23:59:59+08:00'),
      jan1 = at('2026-01-01T00:00:00+08:00');
    expect(codes(premiumChainGroups(cs, [intoCounty, part], dec31, ctx))).toEqual([]);
    expect(codes(premiumChainGroups(cs, [intoCounty, part], jan1, ctx))).toEqual([
      'PREMIUM_TRANSFER_SHORT account:county_account:150902:2025-03',
    ]);
    const rest = transfer({
      period: '2025-03',
      from_account: 'county_account',
      to_account: 'special_account',
      amount: '30000.00',
      transferred_at: at('2026-01-05T10:00:00+08:00'),
    });
    const later = premiumChainGroups(cs, [intoCounty, part, rest], at('2026-01-06T00:00:00+08:00'), ctx);
    expect(codes(later)).toEqual([]);
    expect(later.map((g) => g.groupKey)).toContain('fund:account:county_account:150902:2025-03');
  });

  test('when tax collected in March and passed it to the county account by 10 April, then tax is not short', () => {
    const cs = [collection({ period: '2025-03' })];
    const ts = [
      transfer({ period: '2025-03', to_account: 'county_account', transferred_at: at('2025-04-10T10:00:00+08:00') }),
    ];
    expect(codes(premiumChainGroups(cs, ts, at('2025-05-01T00:00:00+08:00'), ctx))).toEqual([]);
  });
});

describe('TRANSFER_UNFUNDED', () => {
  test('when a treasury passes on money no transfer brought in, then it is raised once the grace period after the gateway received the transfer is over', () => {
    const out = transfer({
      from_account: 'treasury',
      to_account: 'special_account',
      amount: '5000.00',
      received_at: at('2025-02-08T10:00:00+08:00'),
    });
    expect(codes(premiumChainGroups([], [out], at('2025-02-10T09:59:59+08:00'), ctx))).toEqual([]);
    const groups = premiumChainGroups([], [out], at('2025-02-10T10:00:00+08:00'), ctx);
    expect(codes(groups)).toEqual(['TRANSFER_UNFUNDED account:treasury:150902:2025-01']);
    expect(groups.flatMap((g) => g.findings)[0]).toMatchObject({
      severity: 'critical',
      expected_amount: '0.00',
      actual_amount: '5000.00',
      difference: '5000.00',
      evidence: { transfers_out: [{ transfer_id: out.transfer_id }], grace_expires_at: '2025-02-10T10:00:00+08:00' },
    });
  });

  test('when tax passes on more than it collected, then it is unfunded; when the collection arrives, it is not', () => {
    const out = transfer({ amount: '120000.00' });
    // After the grace period, before the treasury's own day 10 is over.
    const asOf = at('2025-02-10T12:00:00+08:00');
    expect(codes(premiumChainGroups([], [out], asOf, ctx))).toEqual(['TRANSFER_UNFUNDED account:tax:150902:2025-01']);
    expect(codes(premiumChainGroups([collection()], [out], asOf, ctx))).toEqual([]);
  });

  test('when the special account sends to the expenditure account, then no pass-through group is made for it', () => {
    const t = transfer({ from_account: 'special_account', to_account: 'expenditure_account' });
    expect(premiumChainGroups([], [t], at('2025-03-01T00:00:00+08:00'), ctx)).toEqual([]);
  });
});
