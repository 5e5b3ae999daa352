/**
 * The fund-year statement's wire form (spec §8): amounts as strings, ratios as percentages with two
 * decimals. Stored as it is shown (fund_statements.figures), so a statement reads the same forever.
 * Who sees one: ops all; an agency those whose admdvs lies inside its prefixes (else 404).
 */
import type { Sql } from '../db/db';
import type { Client } from '../http/clients';
import { inScope } from '../http/auth';
import { forbidden, notFound } from '../http/problem';
import { toCstIso } from '../time';
import type { FundStatementFigures } from './statement';
import { getStatement, type StatementRow } from './statement-store';

export interface StatementFiguresView {
  region: Record<string, string | number>;
  insurers: Record<string, unknown>[];
  accounts: Record<string, string>[];
}

const s = (m: { toString(): string } | null) => (m === null ? null : m.toString());

export function statementFigures(f: FundStatementFigures): StatementFiguresView {
  const r = f.region;
  return {
    region: {
      premiums_collected: r.premiums_collected.toString(),
      late_fees: r.late_fees.toString(),
      insured_count: r.insured_count,
      received_special_account: r.received_special_account.toString(),
      disbursed_to_insurers: r.disbursed_to_insurers.toString(),
      compliant_payouts: r.compliant_payouts.toString(),
      non_compliant_payouts: r.non_compliant_payouts.toString(),
      allowed_admin_costs: r.allowed_admin_costs.toString(),
      opening_balance: r.opening_balance.toString(),
      closing_balance: r.closing_balance.toString(),
    },
    insurers: f.insurers.map((i) => ({
      insurer_code: i.insurer_code,
      premium_income: i.premium_income.toString(),
      compliant_payouts: i.compliant_payouts.toString(),
      non_compliant_payouts: i.non_compliant_payouts.toString(),
      recovered: i.recovered.toString(),
      operating_cost: s(i.operating_cost),
      admin_cost: s(i.admin_cost),
      operating_cost_ratio: i.operating_cost_ratio,
      admin_cost_ratio: i.admin_cost_ratio,
      allowed_costs: i.allowed_costs.toString(),
      costs_beyond_limits: i.excess_costs.toString(),
      profit: i.profit.toString(),
      profit_rate: i.profit_rate,
      excess_profit: i.excess_profit.toString(),
      deficit: {
        total: i.deficit.total.toString(),
        policy: i.deficit.policy.toString(),
        non_policy: i.deficit.non_policy.toString(),
      },
      cost_report: i.cost_report,
      settlements: i.settlements,
    })),
    accounts: f.accounts.map((a) => ({
      account: a.account,
      admdvs: a.admdvs,
      received: a.received.toString(),
      passed_on: a.passed_on.toString(),
      balance: a.balance.toString(),
    })),
  };
}

/** What every wire form of a statement starts with (the 202, the list, the document). */
export function statementHead(st: StatementRow): Record<string, unknown> {
  return {
    statement_id: st.statement_id,
    status: st.status,
    admdvs: st.admdvs,
    fund_year: String(st.fund_year),
    as_of: toCstIso(st.as_of),
    known_at: st.known_at ? toCstIso(st.known_at) : null,
  };
}

/** GET /v1/fund-statements/{id}: §8's document (figures null until completed). */
export function statementView(st: StatementRow): Record<string, unknown> {
  const f = st.figures as StatementFiguresView | null;
  return {
    ...statementHead(st),
    region: f?.region ?? null,
    insurers: f?.insurers ?? null,
    accounts: f?.accounts ?? null,
    summary: st.summary,
    created_at: toCstIso(st.created_at),
    finished_at: st.finished_at ? toCstIso(st.finished_at) : null,
    ...(st.error ? { error: st.error } : {}),
  };
}

/** One line of GET /v1/fund-statements: the statement without its figures (GET …/{id} has them). */
export function statementListView(st: StatementRow): Record<string, unknown> {
  return {
    ...statementHead(st),
    trigger: st.trigger,
    created_at: toCstIso(st.created_at),
    finished_at: st.finished_at ? toCstIso(st.finished_at) : null,
  };
}

/** Only the agency and ops read statements; an agency only inside its region (404 outside, as runs). */
export function mayRequestStatements(c: Client): void {
  if (c.role !== 'agency' && c.role !== 'ops')
    throw forbidden({
      en: 'only the agency and ops may read or request fund-year statements',
      zh: '仅经办机构和运维可查询或生成基金年度决算',
    });
}

export async function visibleStatement(q: Sql, id: string, c: Client): Promise<StatementRow> {
  mayRequestStatements(c);
  const st = await getStatement(q, id);
  const inside = st && inScope(c, { admdvs: st.admdvs });
  if (!st || !inside) throw notFound({ en: 'no such fund-year statement', zh: '没有该基金年度决算' });
  return st;
}
