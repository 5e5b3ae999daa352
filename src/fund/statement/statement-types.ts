/**
 * The fund-year statement's plain data (spec §8): what the pure computation reads (rows the ledger's
 * read models load, already cut to the two clocks) and what it gives back (every figure of §8 and the
 * findings). No database, no clock: `asOf` is a parameter.
 */
import type { Decimal } from 'decimal.js';
import type { WorkCalendar } from '../../deadlines/calendar';
import type { LoopParams } from '../../deadlines/params';
import type { RegionPolicy } from '../../benefits';
import type { Finding } from '../../matching/finding';
import type { PaymentLineFact, RecoveryFact, SettlementFact } from '../../matching/rules';
import type { BenefitSetlDetailInput } from '../../benefits';
import type { Money } from '../../money';

/** A settlement as the statement needs it: the loop's fact plus the benefit engine's input. */
export interface StatementSettlement extends SettlementFact {
  mdtrtarea_admvs: string;
  referral: boolean;
  setldetail: readonly BenefitSetlDetailInput[] | null;
}

/** A region limit next to the seed article it comes from (spec §8: absent = not checked). */
export interface SourcedPct {
  pct: Decimal;
  source: string;
}

export interface FundLimits {
  operating_cost_pct?: SourcedPct;
  admin_cost_pct?: SourcedPct;
  profit_pct?: SourcedPct;
}

/** One disbursement attributed to the region (an insurer's premium income, spec §8). */
export interface DisbursementInput {
  insurer_code: string;
  disbursement_id: string;
  message_id: string;
  period: string;
  amount: Money;
}

export interface CollectionInput {
  collection_id: string;
  message_id: string;
  admdvs: string;
  amount: Money;
  late_fee: Money;
  insured_count: number;
}

export type FundAccount = 'tax' | 'treasury' | 'county_account' | 'special_account' | 'expenditure_account';

export interface TransferInput {
  transfer_id: string;
  message_id: string;
  admdvs: string;
  from_account: FundAccount;
  to_account: FundAccount;
  amount: Money;
}

export interface CostReportInput {
  insurer_code: string;
  revision: number;
  message_id: string;
  reported_at: Date;
  operating_cost: Money;
  admin_cost: Money | null;
}

export interface StatementInput {
  /** The statement's region (a 2–6 digit admdvs prefix). */
  admdvs: string;
  fund_year: number;
  /** [from, to): the fund year's instants (CST); settlements with setl_time inside are the year's. */
  window: { from: Date; to: Date };
  asOf: Date;
  /** The region's rules for a settlement's insuplc_admdvs (benefit rules, cap, tolerance). */
  policyFor: (admdvs: string) => RegionPolicy | undefined;
  loop: { params: (admdvs: string) => LoopParams; calendar: WorkCalendar };
  limits: FundLimits;
  /** When the cost reports are due (instant the due date lapses), with its source; null: not judged. */
  costReportDue: { lapses_at: Date; date: string; source: string } | null;
  openingBalance: Money;
  /**
   * The region's settlements of every benefit year the fund year touches (the benefit engine needs a
   * person's whole year), latest state; only those inside `window` and under `admdvs` are the year's.
   */
  settlements: readonly StatementSettlement[];
  /** Direct settlements sharing an mdtrt_id with a manual one above but not among them (the duplicate rule). */
  siblings: readonly SettlementFact[];
  /** Payment lines and recoveries naming the year's settlements, by as_of and known_at. */
  lines: readonly PaymentLineFact[];
  recoveries: readonly RecoveryFact[];
  disbursements: readonly DisbursementInput[];
  collections: readonly CollectionInput[];
  transfers: readonly TransferInput[];
  /** The latest revision of each insurer's cost report for the region-year. */
  costReports: readonly CostReportInput[];
}

/** One settlement's part in its insurer's payouts (spec §8). */
export interface SettlementPayout {
  setl_id: string;
  insurer_code: string;
  /** What the rules allow: 0 reversed / later half of a duplicate; else hifob_pay limited by the rules and cap. */
  allowed: Money;
  /** Net paid to the right payee by the owing insurer (paid − recovered). */
  net_paid: Money;
  compliant: Money;
  why_limited: 'reversed' | 'duplicate_reimbursement' | 'benefit_rules' | 'yearly_cap' | null;
}

export interface InsurerFigures {
  insurer_code: string;
  premium_income: Money;
  compliant_payouts: Money;
  non_compliant_payouts: Money;
  recovered: Money;
  /** null: no cost report (as of as_of). */
  operating_cost: Money | null;
  admin_cost: Money | null;
  /** Percent of premium income, two decimals; null without premium income or cost report. */
  operating_cost_ratio: string | null;
  admin_cost_ratio: string | null;
  allowed_costs: Money;
  /** Costs beyond the limits (non-policy). */
  excess_costs: Money;
  profit: Money;
  profit_rate: string | null;
  excess_profit: Money;
  deficit: { total: Money; policy: Money; non_policy: Money };
  cost_report: { revision: number; message_id: string } | null;
  settlements: number;
}

export interface RegionFigures {
  premiums_collected: Money;
  late_fees: Money;
  insured_count: number;
  received_special_account: Money;
  disbursed_to_insurers: Money;
  compliant_payouts: Money;
  non_compliant_payouts: Money;
  allowed_admin_costs: Money;
  opening_balance: Money;
  closing_balance: Money;
}

export interface AccountFigures {
  account: FundAccount;
  admdvs: string;
  received: Money;
  passed_on: Money;
  balance: Money;
}

export interface FundStatementFigures {
  region: RegionFigures;
  insurers: InsurerFigures[];
  accounts: AccountFigures[];
  findings: Finding<object>[];
  /** Counts for the summary: settlements of the year, and how many had their allowance limited. */
  settlements: { count: number; limited: number };
}
