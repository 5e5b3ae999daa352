/**
 * The statement's findings (spec §8): COST_REPORT_MISSING, COST_LIMIT_EXCEEDED and
 * PROFIT_LIMIT_EXCEEDED per insurer-year, FUND_DEFICIT per region-year. A limit absent from the
 * region file means its check is not made. All of them are one case group per region-year
 * (`fundGroupKey`): a recomputed statement syncs the whole group, so a later cost report revision,
 * recovery or disbursement that removes a cause resolves its case by itself.
 *
 * A finding needs a period: the fund year's last month (where its cases are listed by period).
 */
import type { Finding } from '../../matching/finding';
import { DEFAULT_SEVERITY, subjectKey } from '../../matching/rules';
import { Money } from '../../money';
import { toCstIso } from '../../time';
import { limitAmount, percentOf } from './fund-math';
import type { InsurerFigures, RegionFigures, SourcedPct, StatementInput } from './statement-types';

/** The case group of a region-year's statement findings. */
export const fundGroupKey = (admdvs: string, fundYear: number) => `fund:${admdvs}:${fundYear}`;

/** The period a region-year's findings carry: the fund year's last month. */
export function lastPeriodOf(input: Pick<StatementInput, 'window'>): string {
  const last = new Date(input.window.to.getTime() - 1);
  return toCstIso(last).slice(0, 7);
}

export function statementFindings(
  input: Omit<StatementInput, 'settlements' | 'siblings' | 'lines' | 'recoveries'>,
  region: RegionFigures,
  insurers: readonly InsurerFigures[],
): Finding<object>[] {
  const period = lastPeriodOf(input);
  const year = input.fund_year;
  const out: Finding<object>[] = [];
  for (const i of insurers) {
    const base = {
      admdvs: input.admdvs,
      insurer_code: i.insurer_code,
      period,
      subject_key: subjectKey({
        kind: 'insurer_year',
        admdvs: input.admdvs,
        insurer_code: i.insurer_code,
        fund_year: year,
      }),
    };
    const reportIds = i.cost_report ? [i.cost_report.message_id] : [];
    const disbursementIds = [
      ...new Set(input.disbursements.filter((d) => d.insurer_code === i.insurer_code).map((d) => d.message_id)),
    ];
    const messageIds = [...new Set([...reportIds, ...disbursementIds])].sort();

    // An insurer that received premiums or owes settlements of the year reports its costs (001 art. 21).
    const operates = i.premium_income.isPositive() || i.settlements > 0;
    if (
      operates &&
      !i.cost_report &&
      input.costReportDue &&
      input.asOf.getTime() >= input.costReportDue.lapses_at.getTime()
    ) {
      out.push({
        ...base,
        code: 'COST_REPORT_MISSING',
        severity: DEFAULT_SEVERITY.COST_REPORT_MISSING,
        detail: `${i.insurer_code} has sent no cost report for fund year ${year} in ${input.admdvs}; it was due by ${input.costReportDue.date}`,
        evidence: {
          message_ids: disbursementIds.sort(),
          fund_year: year,
          due: {
            date: input.costReportDue.date,
            lapses_at: toCstIso(input.costReportDue.lapses_at),
            source: input.costReportDue.source,
          },
          premium_income: i.premium_income.toString(),
        },
      });
    }

    const costs: { cost: 'operating_cost' | 'admin_cost'; amount: Money; limit: SourcedPct }[] = [];
    if (i.operating_cost !== null && input.limits.operating_cost_pct)
      costs.push({ cost: 'operating_cost', amount: i.operating_cost, limit: input.limits.operating_cost_pct });
    if (i.admin_cost !== null && input.limits.admin_cost_pct)
      costs.push({ cost: 'admin_cost', amount: i.admin_cost, limit: input.limits.admin_cost_pct });
    const over = costs
      .map((c) => ({ ...c, cap: limitAmount(c.limit, i.premium_income) }))
      .filter((c) => c.amount.gt(c.cap));
    if (over.length) {
      const expected = Money.sum(over.map((c) => c.cap));
      const actual = Money.sum(over.map((c) => c.amount));
      out.push({
        ...base,
        code: 'COST_LIMIT_EXCEEDED',
        severity: DEFAULT_SEVERITY.COST_LIMIT_EXCEEDED,
        expected_amount: expected.toString(),
        actual_amount: actual.toString(),
        difference: actual.minus(expected).toString(),
        detail: `${i.insurer_code} reports ${over.map((c) => `${c.cost} ${c.amount} (${percentOf(c.amount, i.premium_income) ?? 'no premium income'}%) above the ${c.limit.pct.toString()}% limit of ${c.cap}`).join(' and ')} for fund year ${year} in ${input.admdvs}`,
        evidence: {
          message_ids: messageIds,
          fund_year: year,
          premium_income: i.premium_income.toString(),
          cost_report: i.cost_report,
          costs: over.map((c) => ({
            cost: c.cost,
            amount: c.amount.toString(),
            ratio: percentOf(c.amount, i.premium_income),
            limit_pct: c.limit.pct.toString(),
            limit: c.cap.toString(),
            excess: c.amount.minus(c.cap).toString(),
            source: c.limit.source,
          })),
        },
      });
    }

    const profitPct = input.limits.profit_pct;
    if (profitPct && i.excess_profit.isPositive()) {
      const cap = limitAmount(profitPct, i.premium_income);
      out.push({
        ...base,
        code: 'PROFIT_LIMIT_EXCEEDED',
        severity: DEFAULT_SEVERITY.PROFIT_LIMIT_EXCEEDED,
        expected_amount: cap.toString(),
        actual_amount: i.profit.toString(),
        difference: i.excess_profit.toString(),
        detail: `${i.insurer_code} made a profit of ${i.profit} (${i.profit_rate}%) on premium income of ${i.premium_income} for fund year ${year} in ${input.admdvs}, above the ${profitPct.pct.toString()}% limit of ${cap}: ${i.excess_profit} is owed back to the fund`,
        evidence: {
          message_ids: messageIds,
          fund_year: year,
          premium_income: i.premium_income.toString(),
          compliant_payouts: i.compliant_payouts.toString(),
          allowed_costs: i.allowed_costs.toString(),
          profit: i.profit.toString(),
          profit_rate: i.profit_rate,
          limit_pct: profitPct.pct.toString(),
          limit: cap.toString(),
          owed_back: i.excess_profit.toString(),
          source: profitPct.source,
          cost_report: i.cost_report,
        },
      });
    }
  }

  if (region.closing_balance.isNegative()) {
    const nonPolicy = Money.sum(insurers.map((i) => i.non_compliant_payouts.plus(i.excess_costs)));
    out.push({
      admdvs: input.admdvs,
      insurer_code: '',
      period,
      subject_key: subjectKey({ kind: 'region_year', admdvs: input.admdvs, fund_year: year }),
      code: 'FUND_DEFICIT',
      severity: DEFAULT_SEVERITY.FUND_DEFICIT,
      expected_amount: '0.00',
      actual_amount: region.closing_balance.toString(),
      difference: region.closing_balance.toString(),
      detail: `The fund of ${input.admdvs} closes fund year ${year} at ${region.closing_balance}: a policy deficit of ${region.closing_balance.neg()} (made good by the fund, 001 art. 22); non-compliant payouts and costs beyond the limits of ${nonPolicy} are the insurers' to bear (000 §4 (二) 三)`,
      evidence: {
        message_ids: [...new Set(input.disbursements.map((d) => d.message_id))].sort(),
        fund_year: year,
        opening_balance: region.opening_balance.toString(),
        premiums_collected: region.premiums_collected.toString(),
        compliant_payouts: region.compliant_payouts.toString(),
        allowed_admin_costs: region.allowed_admin_costs.toString(),
        closing_balance: region.closing_balance.toString(),
        split: { policy: region.closing_balance.neg().toString(), non_policy: nonPolicy.toString() },
        insurers: insurers.map((i) => ({
          insurer_code: i.insurer_code,
          non_compliant_payouts: i.non_compliant_payouts.toString(),
          costs_beyond_limits: i.excess_costs.toString(),
          deficit: {
            total: i.deficit.total.toString(),
            policy: i.deficit.policy.toString(),
            non_policy: i.deficit.non_policy.toString(),
          },
        })),
      },
    });
  }
  return out;
}
