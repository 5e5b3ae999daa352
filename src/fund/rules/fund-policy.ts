/**
 * The `fund` section of a region policy file (spec §8), as written and as the rules use it. Pure:
 * compiled once with the region's policy (src/benefits/compile-policy.ts) and handed to the rules.
 * Every value keeps the seed article it comes from; a limit or premium the seeds do not state is
 * absent, and its check is not made.
 */
import type { PremiumCollection } from '../../schemas/types';

export type PayerType = PremiumCollection['payer_type'];

/**
 * The codes of spec §8 (the premium chain and the statement). Their cases are told in digests of their
 * own (the cases a statement, a run's premium-chain sweep or a fund message opened, by id), since their
 * periods are the chain's months and the fund year's last month, not the period of the run that opens them.
 */
export const FUND_CODES = Object.freeze([
  'PREMIUM_TRANSFER_SHORT',
  'TRANSFER_UNFUNDED',
  'PREMIUM_RATE_MISMATCH',
  'COST_REPORT_MISSING',
  'COST_LIMIT_EXCEEDED',
  'PROFIT_LIMIT_EXCEEDED',
  'FUND_DEFICIT',
] as const);
export const PASS_THROUGH_ACCOUNTS = ['tax', 'treasury', 'county_account'] as const;
/** The accounts premiums pass through on their way to the fund (spec §8: judged by PREMIUM_TRANSFER_SHORT). */
export type PassThroughAccount = (typeof PASS_THROUGH_ACCOUNTS)[number];

interface Sourced<T> {
  value: T;
  source: string;
}
export type TransferDueDocument = { day_of_next_month: number; source: string } | { month_day: string; source: string };

/** regions/*.json `fund`, as written (regions/region-policy.schema.json). */
export interface FundPolicyDocument {
  year_start: Sourced<string>;
  limits?: { operating_cost_pct?: Sourced<number>; admin_cost_pct?: Sourced<number>; profit_pct?: Sourced<number> };
  premiums?: Partial<Record<PayerType, Sourced<string>>>;
  transfer_due: Record<PassThroughAccount, TransferDueDocument>;
  cost_report_due: Sourced<string>;
}

export type TransferDue =
  { kind: 'day_of_next_month'; day: number; source: string } | { kind: 'month_day'; month_day: string; source: string };

/** A limit of the fund year (a percentage of premium income) and where it comes from. */
export interface FundLimit {
  pct: number;
  source: string;
}

export interface FundPolicy {
  /** Month-day ("01-01") the fund year starts on (spec §8 default: the calendar year). */
  year_start: string;
  year_start_source: string;
  limits: { operating_cost_pct?: FundLimit; admin_cost_pct?: FundLimit; profit_pct?: FundLimit };
  /** Premium a year per insured person (yuan, two decimals), by payer_type: only those configured. */
  premiums: Partial<Record<PayerType, { amount: string; source: string }>>;
  transfer_due: Readonly<Record<PassThroughAccount, TransferDue>>;
  /** Month-day of the year after the fund year by which cost reports are due. */
  cost_report_due: string;
  cost_report_due_source: string;
}

/** Spec §8 defaults: tax and treasury day 10 of the next month; county accounts 31 December (003 art. 47); cost reports 30 April. */
export const DEFAULT_FUND_POLICY: FundPolicy = Object.freeze({
  year_start: '01-01',
  year_start_source: 'spec §8 default (calendar year)',
  limits: {},
  premiums: {},
  transfer_due: Object.freeze({
    tax: { kind: 'day_of_next_month', day: 10, source: 'spec §8 default' },
    treasury: { kind: 'day_of_next_month', day: 10, source: 'spec §8 default' },
    county_account: { kind: 'month_day', month_day: '12-31', source: 'spec §8 default (003 art. 47)' },
  }),
  cost_report_due: '04-30',
  cost_report_due_source: 'spec §8 default',
}) as FundPolicy;

const amountText = (s: string) => (s.includes('.') ? (s.split('.')[1]!.length === 1 ? `${s}0` : s) : `${s}.00`);

/** The section as the rules use it (doc already valid against the schema); absent: the defaults. */
export function compileFundPolicy(doc: FundPolicyDocument | undefined): FundPolicy {
  if (!doc) return DEFAULT_FUND_POLICY;
  const due = (d: TransferDueDocument): TransferDue =>
    'day_of_next_month' in d
      ? { kind: 'day_of_next_month', day: d.day_of_next_month, source: d.source }
      : { kind: 'month_day', month_day: d.month_day, source: d.source };
  const limits: FundPolicy['limits'] = {};
  for (const k of ['operating_cost_pct', 'admin_cost_pct', 'profit_pct'] as const) {
    const l = doc.limits?.[k];
    if (l) limits[k] = { pct: l.value, source: l.source };
  }
  const premiums: FundPolicy['premiums'] = {};
  for (const [k, v] of Object.entries(doc.premiums ?? {}) as [PayerType, Sourced<string>][])
    premiums[k] = { amount: amountText(v.value), source: v.source };
  return Object.freeze({
    year_start: doc.year_start.value,
    year_start_source: doc.year_start.source,
    limits: Object.freeze(limits),
    premiums: Object.freeze(premiums),
    transfer_due: Object.freeze({
      tax: due(doc.transfer_due.tax),
      treasury: due(doc.transfer_due.treasury),
      county_account: due(doc.transfer_due.county_account),
    }),
    cost_report_due: doc.cost_report_due.value,
    cost_report_due_source: doc.cost_report_due.source,
  });
}
