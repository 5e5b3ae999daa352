/**
 * The demo's fund year (spec §8, issue 16): premiums collected and passed on, disbursements to the
 * insurers, a few large-expense settlements paid and declared, and cost reports — with a planted
 * case of every fund code:
 *
 * Ulanqab (150902), the premium chain of period yyyy-05:
 *   C-U1 employer 100 insured × 120.00 = 12,000.00; C-U2 flexible 10 insured 1,900.00 against
 *   10 × 192.00 = 1,920.00 (003 art. 8) → PREMIUM_RATE_MISMATCH;
 *   tax received 13,900.00 and passed 12,000.00 on to the treasury by day 10 → PREMIUM_TRANSFER_SHORT;
 *   the treasury passed 13,000.00 on to the special account having received 12,000.00 → TRANSFER_UNFUNDED.
 * Dehong (5331, operating cost ≤ 9%, profit ≤ 1%, 001 art. 21), the statement of the fund year:
 *   PICC_DH premium 100,000.00, payouts 54,000.00 + 41,400.00, operating cost 9,500.00 (9.50%) →
 *   COST_LIMIT_EXCEEDED (500.00 beyond); profit 100,000.00 − 95,400.00 − 9,000.00 = −4,400.00;
 *   CPIC_DH premium 50,000.00, payouts 27,000.00 + 16,200.00, cost 4,000.00 → profit 2,800.00
 *   (5.60%) → PROFIT_LIMIT_EXCEEDED, 2,300.00 owed back;
 *   TPIC_DH premium 10,000.00, no cost report by 30 April of the next year → COST_REPORT_MISSING;
 *   region: collected 130,000.00 − compliant payouts 138,600.00 = −8,600.00 → FUND_DEFICIT.
 *
 * The fund year is the one before the demo period's previous month's year, so its cost reports are
 * due (30 April) before any demo period's end plus three months (the demo's default period). Deterministic.
 */
import type {
  Disbursement,
  FundTransfer,
  InsurerCostReport,
  InsurerPayment,
  PremiumCollection,
  Settlement,
  SettlementBatch,
} from '../schemas/types';
import { Money } from '../money';
import { addMonths } from '../time';
import { demoSettlement, type DemoMessage, type DemoRole } from './demo-month';

export const FUND_PLANTED = [
  'PREMIUM_TRANSFER_SHORT',
  'TRANSFER_UNFUNDED',
  'PREMIUM_RATE_MISMATCH',
  'COST_REPORT_MISSING',
  'COST_LIMIT_EXCEEDED',
  'PROFIT_LIMIT_EXCEEDED',
  'FUND_DEFICIT',
] as const;

/** The fund year the demo of `period` plants: its cost reports were due before the period plus three months. */
export function demoFundYear(period: string): number {
  return Number(addMonths(period, -1).slice(0, 4)) - 1;
}

export function generateDemoFundYear(period: string): {
  fundYear: number;
  admdvs: string;
  messages: DemoMessage[];
  planted: string[];
} {
  const fy = demoFundYear(period);
  const june = `${fy}-06`;
  const H1 = 'H53310200001',
    H2 = 'H53310200002';
  const messages: DemoMessage[] = [];

  // Settlements of the fund year, paid on time and declared (nothing of spec §4 to find in them).
  const settlements: Settlement[] = [
    demoSettlement('F-0001', june, { fixmedins: H1, insurer: 'PICC_DH', base: 60000, day: 3, psn: 'P-FUND-1' }),
    demoSettlement('F-0002', june, { fixmedins: H1, insurer: 'PICC_DH', base: 46000, day: 4, psn: 'P-FUND-2' }),
    demoSettlement('F-0003', june, { fixmedins: H2, insurer: 'CPIC_DH', base: 30000, day: 5, psn: 'P-FUND-3' }),
    demoSettlement('F-0004', june, { fixmedins: H2, insurer: 'CPIC_DH', base: 18000, day: 6, psn: 'P-FUND-4' }),
  ];
  messages.push({ path: '/v1/agency/settlements', as: 'agency', body: { settlements } });
  const groups: [string, string, DemoRole, DemoRole][] = [
    [H1, 'PICC_DH', 'institution1', 'insurerA'],
    [H2, 'CPIC_DH', 'institution2', 'insurerB'],
  ];
  for (const [fixmedins, insurer, institution, insurerRole] of groups) {
    const list = settlements.filter((s) => s.fixmedins_code === fixmedins);
    const items = list.map((s) => ({
      setl_id: s.setl_id,
      mdtrt_id: s.mdtrt_id,
      psn_no: s.psn_no,
      setl_time: s.setl_time,
      medfee_sumamt: s.medfee_sumamt as string,
      hifob_pay: s.hifob_pay as string,
    }));
    const batch: SettlementBatch = {
      batch_id: `BF${fixmedins.slice(-5)}${insurer.slice(0, 4)}${june.replace('-', '')}`,
      fixmedins_code: fixmedins,
      insurer_code: insurer,
      period: june,
      setl_cnt: items.length,
      medfee_sumamt: Money.sum(items.map((x) => Money.of(x.medfee_sumamt))).toString(),
      hifob_pay_sumamt: Money.sum(items.map((x) => Money.of(x.hifob_pay))).toString(),
      items,
    };
    messages.push({ path: '/v1/settlement-batches', as: institution, body: batch });
    const lines = list.map((s) => ({ setl_id: s.setl_id, paid_amount: s.hifob_pay as string }));
    const payment: InsurerPayment = {
      insurer_code: insurer,
      payment_id: `PAY-F-${fy}-${insurer}`,
      payee_type: 'institution',
      payee_id: fixmedins,
      pay_time: `${addMonths(june, 1)}-15T10:00:00+08:00`,
      bank_txn_no: `BKF${fy}${insurer.slice(0, 4)}`,
      pay_amount: Money.sum(lines.map((l) => Money.of(l.paid_amount))).toString(),
      lines: lines as InsurerPayment['lines'],
    };
    messages.push({ path: '/v1/insurer-payments', as: insurerRole, body: payment });
  }

  // Premium income of each insurer: the agency's disbursements of the year (TPIC_DH has no demo client: no cost report).
  for (const [insurer, amount] of [
    ['PICC_DH', '100000.00'],
    ['CPIC_DH', '50000.00'],
    ['TPIC_DH', '10000.00'],
  ] as const) {
    const d: Disbursement = {
      disbursement_id: `DB-F-${fy}-${insurer}`,
      insurer_code: insurer,
      period: june,
      amount,
      disbursed_at: `${june}-05T09:00:00+08:00`,
      admdvs: '5331',
    };
    messages.push({ path: '/v1/agency/disbursements', as: 'agency', body: d });
  }

  // Dehong's premiums reach the special account in full (nothing to find in its chain).
  const march = `${fy}-03`;
  const dehong: PremiumCollection = {
    collection_id: `C-DH-${fy}-1`,
    admdvs: '533102',
    fund_year: String(fy),
    period: march,
    payer_type: 'employer',
    insured_count: 1000,
    amount: '130000.00',
    collected_at: `${march}-15T10:00:00+08:00`,
  };
  messages.push({ path: '/v1/premium-collections', as: 'agency', body: dehong });
  const transfer = (
    id: string,
    admdvs: string,
    p: string,
    from: FundTransfer['from_account'],
    to: FundTransfer['to_account'],
    amount: string,
    day: string,
  ): DemoMessage => ({
    path: '/v1/fund-transfers',
    as: 'agency',
    body: {
      transfer_id: id,
      admdvs,
      fund_year: String(fy),
      period: p,
      from_account: from,
      to_account: to,
      amount,
      transferred_at: `${addMonths(p, 1)}-${day}T10:00:00+08:00`,
      bank_txn_no: `BK${id}`,
    } satisfies FundTransfer,
  });
  messages.push(
    transfer(`T-DH-${fy}-1`, '533102', march, 'tax', 'treasury', '130000.00', '05'),
    transfer(`T-DH-${fy}-2`, '533102', march, 'treasury', 'special_account', '130000.00', '08'),
  );

  // Ulanqab's chain of May: a collection below the rate, tax short, the treasury passing on money it never received.
  const may = `${fy}-05`;
  const ulanqab: PremiumCollection[] = [
    {
      collection_id: `C-UL-${fy}-1`,
      admdvs: '150902',
      fund_year: String(fy),
      period: may,
      payer_type: 'employer',
      insured_count: 100,
      amount: '12000.00',
      collected_at: `${may}-15T10:00:00+08:00`,
    },
    {
      collection_id: `C-UL-${fy}-2`,
      admdvs: '150902',
      fund_year: String(fy),
      period: may,
      payer_type: 'flexible',
      insured_count: 10,
      amount: '1900.00',
      collected_at: `${may}-16T10:00:00+08:00`,
    },
  ];
  for (const c of ulanqab) messages.push({ path: '/v1/premium-collections', as: 'agency', body: c });
  messages.push(
    transfer(`T-UL-${fy}-1`, '150902', may, 'tax', 'treasury', '12000.00', '05'),
    transfer(`T-UL-${fy}-2`, '150902', may, 'treasury', 'special_account', '13000.00', '08'),
  );

  // Cost reports for the year, reported in March of the next.
  const report = (insurer: string, operating_cost: string): InsurerCostReport => ({
    insurer_code: insurer,
    admdvs: '5331',
    fund_year: String(fy),
    revision: 1,
    operating_cost,
    reported_at: `${fy + 1}-03-01T10:00:00+08:00`,
  });
  messages.push(
    { path: '/v1/insurer-cost-reports', as: 'insurerA', body: report('PICC_DH', '9500.00') },
    { path: '/v1/insurer-cost-reports', as: 'insurerB', body: report('CPIC_DH', '4000.00') },
  );

  return { fundYear: fy, admdvs: '5331', messages, planted: [...FUND_PLANTED] };
}
