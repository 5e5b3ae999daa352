/**
 * The fund-year statement's pure core (spec §8) on hand-worked numbers from the seeds: Dehong's
 * operating cost ≤ 9% of premiums and profit ≤ 1% (001 art. 21), a deficit split into its policy part
 * (001 art. 22, made good by the fund) and its non-policy part (000 §4 (二) 三, borne by the insurer).
 */
import Decimal from 'decimal.js';
import {
  computeFundStatement,
  type FundLimits,
  type StatementInput,
  type StatementSettlement,
} from '../../../src/fund/statement';
import { DEFAULT_LOOP_PARAMS } from '../../../src/deadlines/params';
import { loadWorkCalendar } from '../../../src/deadlines/calendar';
import { Money } from '../../../src/money';
import { cstInstant } from '../../../src/time';
import { policy } from '../benefits/fixtures';
import { at, line, m, recovery, settlement } from '../matching/builders';

const dehong = policy('dehong-5331');
const calendar = loadWorkCalendar();
const DEHONG_LIMITS: FundLimits = {
  operating_cost_pct: { pct: new Decimal(9), source: '001 art. 21: 年度运营成本控制在筹资总额的9%以内' },
  profit_pct: { pct: new Decimal(1), source: '001 art. 21: 年度盈利率控制在1%以内' },
};

/** A Dehong direct settlement of 2024 whose large-expense base pays 90% (001 art. 10). */
function setl(id: string, hifob: string, base: string, over: Partial<StatementSettlement> = {}): StatementSettlement {
  return {
    ...settlement({
      setl_id: id,
      mdtrt_id: `MD-${id}`,
      hifob_pay: m(hifob),
      medfee_sumamt: m('2000000.00'),
      setl_time: at('2024-03-05 10:00:00'),
      period: '2024-03',
      message_id: `msg-${id}`,
    }),
    mdtrtarea_admvs: '533102',
    referral: false,
    setldetail: [{ fund_pay_type: '330100', inscp_scp_amt: base, fund_payamt: hifob }],
    ...over,
  };
}

const paid = (id: string, amount: string, over: Parameters<typeof line>[0] = {}) =>
  line({ setl_id: id, payment_id: `PAY-${id}`, paid_amount: m(amount), pay_time: at('2024-04-10 10:00:00'), ...over });

function input(over: Partial<StatementInput> = {}): StatementInput {
  return {
    admdvs: '5331',
    fund_year: 2024,
    window: { from: cstInstant('2024-01-01'), to: cstInstant('2025-01-01') },
    asOf: at('2025-06-01 00:00:00'),
    policyFor: (a) => (a.startsWith('5331') ? dehong : undefined),
    loop: { params: () => DEFAULT_LOOP_PARAMS, calendar },
    limits: DEHONG_LIMITS,
    costReportDue: { lapses_at: cstInstant('2025-05-01'), date: '2025-04-30', source: 'spec §8 default' },
    openingBalance: Money.ZERO,
    settlements: [],
    siblings: [],
    lines: [],
    recoveries: [],
    disbursements: [
      {
        insurer_code: 'PICC',
        disbursement_id: 'D2024',
        message_id: 'msg-d',
        period: '2024-01',
        amount: m('1000000.00'),
      },
    ],
    collections: [
      {
        collection_id: 'C1',
        message_id: 'msg-c',
        admdvs: '533102',
        amount: m('1000000.00'),
        late_fee: m('0.00'),
        insured_count: 5000,
      },
    ],
    transfers: [],
    costReports: [],
    ...over,
  };
}

const report = (operating: string, revision = 1, admin: string | null = null) => ({
  insurer_code: 'PICC',
  revision,
  message_id: `msg-cost-${revision}`,
  reported_at: at('2025-03-01 10:00:00'),
  operating_cost: m(operating),
  admin_cost: admin === null ? null : m(admin),
});

describe('Dehong insurer-year at the limits of 001 art. 21', () => {
  test('when operating cost is exactly 9% and profit exactly 1% of premiums, then no finding is raised', () => {
    // premiums 1,000,000.00; payouts 900,000.00 (= 1,000,000.00 base × 90%); cost 90,000.00 (9.00%);
    // profit 1,000,000.00 − 900,000.00 − 90,000.00 = 10,000.00 (1.00%)
    const s = computeFundStatement(
      input({
        settlements: [setl('S1', '900000.00', '1000000.00')],
        lines: [paid('S1', '900000.00')],
        costReports: [report('90000.00')],
      }),
    );
    const picc = s.insurers[0]!;
    expect(picc.premium_income.toString()).toBe('1000000.00');
    expect(picc.compliant_payouts.toString()).toBe('900000.00');
    expect(picc.non_compliant_payouts.toString()).toBe('0.00');
    expect(picc.operating_cost_ratio).toBe('9.00');
    expect(picc.profit.toString()).toBe('10000.00');
    expect(picc.profit_rate).toBe('1.00');
    expect(picc.excess_profit.toString()).toBe('0.00');
    expect(s.findings).toEqual([]);
  });

  test('when operating cost is one fen above 9%, then COST_LIMIT_EXCEEDED is raised for the fen', () => {
    // 90,000.01 against a limit of 9% × 1,000,000.00 = 90,000.00: 0.01 beyond it, not allowed
    const s = computeFundStatement(
      input({
        settlements: [setl('S1', '900000.00', '1000000.00')],
        lines: [paid('S1', '900000.00')],
        costReports: [report('90000.01')],
      }),
    );
    expect(s.findings.map((f) => f.code)).toEqual(['COST_LIMIT_EXCEEDED']);
    const f = s.findings[0]!;
    expect([f.expected_amount, f.actual_amount, f.difference]).toEqual(['90000.00', '90000.01', '0.01']);
    expect(f.subject_key).toBe('insyear:5331:PICC:2024');
    expect(s.insurers[0]!.allowed_costs.toString()).toBe('90000.00');
    // the fen beyond the limit is not an allowed cost: profit stays 10,000.00
    expect(s.insurers[0]!.profit.toString()).toBe('10000.00');
  });

  test('when profit is one fen above 1%, then PROFIT_LIMIT_EXCEEDED is raised and the fen is owed back', () => {
    // payouts 899,999.99 (999,999.99 × 90% = 899,999.991 → 899,999.99); profit 1,000,000.00 − 899,999.99 − 90,000.00 = 10,000.01
    const s = computeFundStatement(
      input({
        settlements: [setl('S1', '899999.99', '999999.99')],
        lines: [paid('S1', '899999.99')],
        costReports: [report('90000.00')],
      }),
    );
    expect(s.findings.map((f) => f.code)).toEqual(['PROFIT_LIMIT_EXCEEDED']);
    const f = s.findings[0]!;
    expect([f.expected_amount, f.actual_amount, f.difference]).toEqual(['10000.00', '10000.01', '0.01']);
    expect(s.insurers[0]!.excess_profit.toString()).toBe('0.01');
    expect((f.evidence as { owed_back: string }).owed_back).toBe('0.01');
  });

  test('when a later cost report revision brings the cost within 9%, then COST_LIMIT_EXCEEDED is no longer found', () => {
    const base = { settlements: [setl('S1', '900000.00', '1000000.00')], lines: [paid('S1', '900000.00')] };
    expect(
      computeFundStatement(input({ ...base, costReports: [report('95000.00', 1)] })).findings.map((f) => f.code),
    ).toEqual(['COST_LIMIT_EXCEEDED']);
    // the latest revision is what the read model hands over; the group synced without the finding resolves the case
    expect(computeFundStatement(input({ ...base, costReports: [report('90000.00', 2)] })).findings).toEqual([]);
  });

  test('when a limit is absent from the region file, then its check is not made', () => {
    const s = computeFundStatement(
      input({
        limits: {},
        settlements: [setl('S1', '100000.00', '111111.11')],
        lines: [paid('S1', '100000.00')],
        costReports: [report('500000.00')],
      }),
    );
    expect(s.findings).toEqual([]);
    expect(s.insurers[0]!.allowed_costs.toString()).toBe('500000.00');
  });
});

describe('compliant and non-compliant payouts, settlement by settlement', () => {
  test('when hifob_pay exceeds the benefit rules, then only the rules amount is compliant', () => {
    // base 1,000.00 × 90% = 900.00 allowed; 1,000.00 paid: 900.00 compliant, 100.00 not
    const s = computeFundStatement(
      input({ settlements: [setl('S1', '1000.00', '1000.00')], lines: [paid('S1', '1000.00')] }),
    );
    expect(s.insurers[0]!.compliant_payouts.toString()).toBe('900.00');
    expect(s.insurers[0]!.non_compliant_payouts.toString()).toBe('100.00');
  });

  test('when a reversed settlement or the manual half of a duplicate reimbursement is paid, then none of it is compliant', () => {
    const direct = setl('S1', '900.00', '1000.00', { mdtrt_id: 'MDX' });
    const manual = setl('S2', '900.00', '1000.00', { mdtrt_id: 'MDX', setl_mode: 'manual' });
    const reversed = setl('S3', '450.00', '500.00', { status: 'reversed' });
    const s = computeFundStatement(
      input({
        settlements: [direct, manual, reversed],
        lines: [
          paid('S1', '900.00'),
          paid('S2', '900.00', { payee_type: 'person', payee_id: manual.psn_no }),
          paid('S3', '450.00'),
        ],
      }),
    );
    expect(s.insurers[0]!.compliant_payouts.toString()).toBe('900.00');
    expect(s.insurers[0]!.non_compliant_payouts.toString()).toBe('1350.00');
  });

  test('when a payment goes to the wrong payee, then it is non-compliant; a recovery lowers what was paid', () => {
    const s = computeFundStatement(
      input({
        settlements: [setl('S1', '900.00', '1000.00'), setl('S2', '900.00', '1000.00')],
        lines: [paid('S1', '900.00'), paid('S2', '900.00', { payee_id: 'H53310299999' })],
        recoveries: [recovery({ setl_id: 'S1', amount: m('300.00'), recovered_at: at('2024-06-01 10:00:00') })],
      }),
    );
    const picc = s.insurers[0]!;
    // S1: net 600.00 compliant; S2: 900.00 to another institution, non-compliant
    expect(picc.compliant_payouts.toString()).toBe('600.00');
    expect(picc.non_compliant_payouts.toString()).toBe('900.00');
    expect(picc.recovered.toString()).toBe('300.00');
  });

  test("when a settlement lies outside the fund year, then it is not the year's", () => {
    const s = computeFundStatement(
      input({
        settlements: [setl('S1', '900.00', '1000.00', { setl_time: at('2023-12-31 23:59:59'), period: '2023-12' })],
        lines: [paid('S1', '900.00')],
      }),
    );
    expect(s.insurers[0]!.compliant_payouts.toString()).toBe('0.00');
    expect(s.settlements.count).toBe(0);
  });
});

describe('a deficit split into its policy and non-policy parts (001 art. 22, 000 §4 (二) 三)', () => {
  test('when payouts and costs exceed premiums, then the deficit splits into what policy and what the insurer caused', () => {
    // premiums 1,000,000.00; compliant 1,050,000.00 (1,166,666.67 × 90% = 1,050,000.003 → 1,050,000.00);
    // non-compliant 20,000.00 (a reversed settlement paid); operating cost 100,000.00, allowed 90,000.00 (9%).
    // profit = 1,000,000.00 − 1,050,000.00 − 90,000.00 = −140,000.00 → policy deficit 140,000.00;
    // total = 1,050,000.00 + 20,000.00 + 100,000.00 − 1,000,000.00 = 170,000.00 → non-policy 30,000.00 (20,000.00 + 10,000.00)
    const s = computeFundStatement(
      input({
        settlements: [
          setl('S1', '1050000.00', '1166666.67'),
          setl('S2', '20000.00', '22222.22', { status: 'reversed' }),
        ],
        lines: [paid('S1', '1050000.00'), paid('S2', '20000.00')],
        costReports: [report('100000.00')],
      }),
    );
    const picc = s.insurers[0]!;
    expect(picc.profit.toString()).toBe('-140000.00');
    expect(picc.profit_rate).toBe('-14.00');
    expect(picc.deficit.total.toString()).toBe('170000.00');
    expect(picc.deficit.policy.toString()).toBe('140000.00');
    expect(picc.deficit.non_policy.toString()).toBe('30000.00');
    // region: 0 + 1,000,000.00 collected − 1,050,000.00 compliant − 0 admin = −50,000.00
    expect(s.region.closing_balance.toString()).toBe('-50000.00');
    const deficit = s.findings.find((f) => f.code === 'FUND_DEFICIT')!;
    expect(deficit.subject_key).toBe('regyear:5331:2024');
    expect((deficit.evidence as { split: unknown }).split).toEqual({ policy: '50000.00', non_policy: '30000.00' });
    expect(s.findings.map((f) => f.code).sort()).toEqual(['COST_LIMIT_EXCEEDED', 'FUND_DEFICIT']);
  });

  test('when the opening balance covers the year, then the fund closes above zero and no FUND_DEFICIT is raised', () => {
    const s = computeFundStatement(
      input({
        openingBalance: m('60000.00'),
        settlements: [setl('S1', '1050000.00', '1166666.67')],
        lines: [paid('S1', '1050000.00')],
        costReports: [report('0.00')],
      }),
    );
    expect(s.region.closing_balance.toString()).toBe('10000.00');
    expect(s.findings.map((f) => f.code)).toEqual([]);
  });
});

describe('cost reports and the region figures', () => {
  test('when no cost report has arrived by its due date, then COST_REPORT_MISSING is raised; before it, not', () => {
    const base = { settlements: [setl('S1', '900.00', '1000.00')], lines: [paid('S1', '900.00')] };
    expect(computeFundStatement(input({ ...base, asOf: at('2025-04-30 23:59:59') })).findings).toEqual([]);
    const late = computeFundStatement(input({ ...base, asOf: at('2025-05-01 00:00:00') }));
    expect(late.findings.map((f) => f.code)).toEqual(['COST_REPORT_MISSING']);
    expect(late.findings[0]!.period).toBe('2024-12');
  });

  test('when an admin limit applies (Jiaozuo 3%, 000 §4), then allowed admin costs come off the roll-over balance', () => {
    // admin 40,000.00 against 3% × 1,000,000.00 = 30,000.00: 30,000.00 allowed; closing 100,000 + 1,000,000 − 900 − 30,000
    const s = computeFundStatement(
      input({
        limits: { admin_cost_pct: { pct: new Decimal(3), source: '000 §4 (二) 三' } },
        openingBalance: m('100000.00'),
        settlements: [setl('S1', '900.00', '1000.00')],
        lines: [paid('S1', '900.00')],
        costReports: [report('0.00', 1, '40000.00')],
        collections: [
          {
            collection_id: 'C1',
            message_id: 'm1',
            admdvs: '533102',
            amount: m('1000000.00'),
            late_fee: m('12.50'),
            insured_count: 5000,
          },
        ],
        transfers: [
          {
            transfer_id: 'T1',
            message_id: 'm2',
            admdvs: '533102',
            from_account: 'tax',
            to_account: 'treasury',
            amount: m('1000000.00'),
          },
          {
            transfer_id: 'T2',
            message_id: 'm3',
            admdvs: '533102',
            from_account: 'treasury',
            to_account: 'special_account',
            amount: m('990000.00'),
          },
        ],
      }),
    );
    expect(s.region.allowed_admin_costs.toString()).toBe('30000.00');
    expect(s.region.closing_balance.toString()).toBe('1069100.00');
    expect(s.region.late_fees.toString()).toBe('12.50');
    expect(s.region.insured_count).toBe(5000);
    expect(s.region.received_special_account.toString()).toBe('990000.00');
    expect(s.insurers[0]!.admin_cost_ratio).toBe('4.00');
    expect(s.findings.map((f) => f.code)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(
      s.accounts.map((a) => [a.account, a.admdvs, a.received.toString(), a.passed_on.toString(), a.balance.toString()]),
    ).toEqual([
      ['tax', '533102', '1000012.50', '1000000.00', '12.50'],
      ['treasury', '533102', '1000000.00', '990000.00', '10000.00'],
      ['special_account', '5331', '990000.00', '0.00', '990000.00'],
      ['expenditure_account', '5331', '0.00', '1000000.00', '-1000000.00'],
    ]);
  });
});
