/**
 * The fund-year statement (spec §8), pure: plain rows in, every figure and the four findings out.
 *
 * Definitions (spec §8; the decisions where it leaves room are in docs/integration-guide.md §8):
 * - premium income of an insurer: its disbursements for the fund year's periods attributed to the region;
 * - compliant payouts: Σ per settlement min(net paid to the right payee by the owing insurer, allowed)
 *   (payouts.ts); non-compliant: the rest of what the insurer paid for the year's settlements;
 * - allowed costs: each reported cost limited to its limit × premium income (at the fen); a cost
 *   whose limit the region file does not state is allowed in full (its check is not made);
 *   `admin_cost` is reported beside `operating_cost`, not inside it;
 * - profit = premium income − compliant payouts − allowed costs; excess profit = profit − limit ×
 *   premium income, when positive (owed back to the fund), judged once a cost report is known;
 * - deficit: total = what was actually spent beyond the premium income (all payouts and all reported
 *   costs); policy = −profit when profit < 0 (computed with compliant payouts and allowed costs);
 *   non-policy = total − policy (non-compliant payouts and costs beyond the limits);
 * - region closing balance = opening + premiums collected − compliant payouts − allowed admin costs.
 * Ratios are percentages half-up at two decimals; amounts exact, limits half-up at the fen.
 */
import { Money } from '../../money';
import { limitAmount, percentOf } from './fund-math';
import { settlementPayouts, type PayoutInput, type SettlementAllowance } from './payouts';
import { statementFindings } from './statement-findings';
import type {
  AccountFigures,
  FundAccount,
  FundStatementFigures,
  InsurerFigures,
  RegionFigures,
  SourcedPct,
  StatementInput,
} from './statement-types';

/** A cost limited to its limit (allowed) and what lies beyond it. */
function allowedCost(
  cost: Money | null,
  limit: SourcedPct | undefined,
  premiumIncome: Money,
): { allowed: Money; excess: Money } {
  if (cost === null) return { allowed: Money.ZERO, excess: Money.ZERO };
  if (!limit) return { allowed: cost, excess: Money.ZERO };
  const cap = limitAmount(limit, premiumIncome);
  return cost.gt(cap) ? { allowed: cap, excess: cost.minus(cap) } : { allowed: cost, excess: Money.ZERO };
}

/**
 * The payouts of the year's settlements added up per insurer: all a statement keeps of them, so the
 * settlements can be read and judged a part at a time (persons with their whole benefit years).
 */
export interface PayoutTotals {
  compliant: Map<string, Money>;
  owing: Map<string, number>;
  paidBy: Map<string, Money>;
  recoveredBy: Map<string, Money>;
  count: number;
  limited: number;
}

export function emptyPayoutTotals(): PayoutTotals {
  return { compliant: new Map(), owing: new Map(), paidBy: new Map(), recoveredBy: new Map(), count: 0, limited: 0 };
}

const sum = (m: Map<string, Money>, k: string, v: Money) => m.set(k, (m.get(k) ?? Money.ZERO).plus(v));

/** Adds the payouts of a part of the year (each of its persons with every settlement of their benefit years, payouts.ts). */
export function addPayouts(
  t: PayoutTotals,
  part: PayoutInput,
  allowances?: ReadonlyMap<string, SettlementAllowance>,
): PayoutTotals {
  return addSettlementPayouts(t, settlementPayouts(part, allowances));
}

/** Adds payouts computed by settlementPayouts to the totals. */
export function addSettlementPayouts(
  t: PayoutTotals,
  { payouts, paidBy, recoveredBy }: ReturnType<typeof settlementPayouts>,
): PayoutTotals {
  for (const p of payouts) {
    sum(t.compliant, p.insurer_code, p.compliant);
    t.owing.set(p.insurer_code, (t.owing.get(p.insurer_code) ?? 0) + 1);
    if (p.why_limited !== null) t.limited++;
  }
  t.count += payouts.length;
  for (const [k, v] of paidBy) sum(t.paidBy, k, v);
  for (const [k, v] of recoveredBy) sum(t.recoveredBy, k, v);
  return t;
}

/**
 * One insurer's payouts of the year as the ledger adds them up from the stored allowances
 * (ledger/allowance-store.ts `storedTotals`): what addPayouts adds for the settlements it owes
 * (compliant, count, limited) and for the lines and recoveries of the year's settlements it paid.
 */
export interface AggregatedPayouts {
  insurer_code: string;
  compliant: Money;
  owing: number;
  limited: number;
  /** Net of its own recoveries, as addPayouts adds it; `paid_facts` counts the lines and recoveries behind it. */
  paid: Money;
  paid_facts: number;
  recovered: Money;
  recoveries: number;
}

/** Adds payouts added up by the ledger (the persons whose stored allowances are current) to the totals. */
export function addAggregatedPayouts(t: PayoutTotals, rows: readonly AggregatedPayouts[]): PayoutTotals {
  for (const r of rows) {
    if (r.owing > 0) {
      sum(t.compliant, r.insurer_code, r.compliant);
      t.owing.set(r.insurer_code, (t.owing.get(r.insurer_code) ?? 0) + r.owing);
    }
    t.count += r.owing;
    t.limited += r.limited;
    if (r.paid_facts > 0) sum(t.paidBy, r.insurer_code, r.paid);
    if (r.recoveries > 0) sum(t.recoveredBy, r.insurer_code, r.recovered);
  }
  return t;
}

/** The statement's input without its settlements and their facts (those are added up in PayoutTotals). */
export type StatementFrame = Omit<StatementInput, 'settlements' | 'siblings' | 'lines' | 'recoveries'>;

export function computeFundStatement(input: StatementInput): FundStatementFigures {
  return fundStatementOf(input, addPayouts(emptyPayoutTotals(), input));
}

/** Every figure and finding of the statement from its frame and the year's payout totals. */
export function fundStatementOf(input: StatementFrame, totals: PayoutTotals): FundStatementFigures {
  const { compliant, owing, paidBy, recoveredBy } = totals;
  const income = new Map<string, Money>();
  for (const d of input.disbursements) sum(income, d.insurer_code, d.amount);
  const reports = new Map(input.costReports.map((r) => [r.insurer_code, r]));

  const codes = [...new Set([...income.keys(), ...owing.keys(), ...paidBy.keys(), ...reports.keys()])].sort();
  const insurers: InsurerFigures[] = codes.map((code) => {
    const premium = income.get(code) ?? Money.ZERO;
    const comp = compliant.get(code) ?? Money.ZERO;
    const paid = paidBy.get(code) ?? Money.ZERO;
    const nonCompliant = Money.max(paid.minus(comp), Money.ZERO);
    const report = reports.get(code);
    const operating = report ? report.operating_cost : null;
    const admin = report ? (report.admin_cost ?? Money.ZERO) : null;
    const op = allowedCost(operating, input.limits.operating_cost_pct, premium);
    const ad = allowedCost(admin, input.limits.admin_cost_pct, premium);
    const allowedCosts = op.allowed.plus(ad.allowed);
    const excessCosts = op.excess.plus(ad.excess);
    const profit = premium.minus(comp).minus(allowedCosts);
    const profitLimit = input.limits.profit_pct ? limitAmount(input.limits.profit_pct, premium) : null;
    // Profit is judged once the costs are known: without a cost report, COST_REPORT_MISSING says so.
    const excessProfit =
      report && profitLimit !== null && profit.gt(profitLimit) ? profit.minus(profitLimit) : Money.ZERO;
    const spent = comp
      .plus(nonCompliant)
      .plus(operating ?? Money.ZERO)
      .plus(admin ?? Money.ZERO);
    const total = Money.max(spent.minus(premium), Money.ZERO);
    const policy = Money.max(profit.neg(), Money.ZERO);
    return {
      insurer_code: code,
      premium_income: premium,
      compliant_payouts: comp,
      non_compliant_payouts: nonCompliant,
      recovered: recoveredBy.get(code) ?? Money.ZERO,
      operating_cost: operating,
      admin_cost: admin,
      operating_cost_ratio: operating === null ? null : percentOf(operating, premium),
      admin_cost_ratio: admin === null ? null : percentOf(admin, premium),
      allowed_costs: allowedCosts,
      excess_costs: excessCosts,
      profit,
      profit_rate: percentOf(profit, premium),
      excess_profit: excessProfit,
      deficit: { total, policy: Money.min(policy, total), non_policy: Money.max(total.minus(policy), Money.ZERO) },
      cost_report: report ? { revision: report.revision, message_id: report.message_id } : null,
      settlements: owing.get(code) ?? 0,
    };
  });

  const adminAllowed = Money.sum(
    insurers.map((i) => allowedCost(i.admin_cost, input.limits.admin_cost_pct, i.premium_income).allowed),
  );
  const premiumsCollected = Money.sum(input.collections.map((c) => c.amount));
  const compliantAll = Money.sum(insurers.map((i) => i.compliant_payouts));
  const region: RegionFigures = {
    premiums_collected: premiumsCollected,
    late_fees: Money.sum(input.collections.map((c) => c.late_fee)),
    insured_count: input.collections.reduce((n, c) => n + c.insured_count, 0),
    received_special_account: Money.sum(
      input.transfers.filter((t) => t.to_account === 'special_account').map((t) => t.amount),
    ),
    disbursed_to_insurers: Money.sum(insurers.map((i) => i.premium_income)),
    compliant_payouts: compliantAll,
    non_compliant_payouts: Money.sum(insurers.map((i) => i.non_compliant_payouts)),
    allowed_admin_costs: adminAllowed,
    opening_balance: input.openingBalance,
    closing_balance: input.openingBalance.plus(premiumsCollected).minus(compliantAll).minus(adminAllowed),
  };

  return {
    region,
    insurers,
    accounts: accountFigures(input, region),
    findings: statementFindings(input, region, insurers),
    settlements: { count: totals.count, limited: totals.limited },
  };
}

/**
 * What each account received and passed on in the fund year. The pass-through accounts (tax,
 * treasury, county_account) per admdvs, as the transfers name them (tax receives the collections);
 * the region's own accounts (special_account, expenditure_account) one row each under the statement's
 * admdvs; the expenditure account passes on the disbursements to the insurers.
 */
function accountFigures(input: StatementFrame, region: RegionFigures): AccountFigures[] {
  const rows = new Map<string, AccountFigures>();
  const regional = (a: FundAccount) => a === 'special_account' || a === 'expenditure_account';
  const row = (account: FundAccount, admdvs: string) => {
    const where = regional(account) ? input.admdvs : admdvs;
    const k = `${account}\u0000${where}`;
    let r = rows.get(k);
    if (!r) {
      r = { account, admdvs: where, received: Money.ZERO, passed_on: Money.ZERO, balance: Money.ZERO };
      rows.set(k, r);
    }
    return r;
  };
  for (const c of input.collections) {
    const r = row('tax', c.admdvs);
    r.received = r.received.plus(c.amount).plus(c.late_fee);
  }
  for (const t of input.transfers) {
    const from = row(t.from_account, t.admdvs);
    from.passed_on = from.passed_on.plus(t.amount);
    const to = row(t.to_account, t.admdvs);
    to.received = to.received.plus(t.amount);
  }
  if (!region.disbursed_to_insurers.isZero()) {
    const r = row('expenditure_account', input.admdvs);
    r.passed_on = r.passed_on.plus(region.disbursed_to_insurers);
  }
  const order: FundAccount[] = ['tax', 'treasury', 'county_account', 'special_account', 'expenditure_account'];
  return [...rows.values()]
    .map((r) => ({ ...r, balance: r.received.minus(r.passed_on) }))
    .sort(
      (a, b) =>
        order.indexOf(a.account) - order.indexOf(b.account) || (a.admdvs < b.admdvs ? -1 : a.admdvs > b.admdvs ? 1 : 0),
    );
}
