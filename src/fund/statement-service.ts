/**
 * The fund-year statement's service (spec §8): loads a region-year's facts through the ledger's read
 * models (ledger/fund-read-model.ts, ledger/fund-store.ts) — its settlements a part of persons at a time
 * (a benefit year needs a person's settlements together), keeping only their payout totals, so memory
 * is bounded by the part — computes the statement with the pure core (./statement), stores it, and
 * syncs its four findings as one case group per region-year — so a
 * recomputed statement after a later cost report revision, recovery or disbursement resolves its
 * cases by itself. One transaction per statement; the region-year is locked while it is computed.
 *
 * The clocks as a reconciliation run's (spec §5): as_of (business time: events dated after it do not
 * count; the cost report due date is judged at it) and known_at (facts received after it are left
 * out; default: the start). A statement whose known_at lies before its start only reproduces figures
 * (`report_only`): no case is changed.
 */
import { createHash } from 'node:crypto';
import Decimal from 'decimal.js';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import type { WorkCalendar } from '../deadlines';
import { benefitYearOf, benefitYearStart, type RegionPolicies, type RegionPolicy } from '../benefits';
import { syncGroups } from '../discrepancies/case-store';
import { Money } from '../money';
import { addDays, addMonths, cstInstant, toCstIso } from '../time';
import { DEFAULT_FUND_POLICY, type FundPolicy } from './rules';
import { enqueueDigest } from '../notifications/fan-out';
import {
  addAggregatedPayouts,
  addSettlementPayouts,
  emptyPayoutTotals,
  fundGroupKey,
  fundStatementOf,
  lastPeriodOf,
  settlementAllowances,
  settlementPayouts,
  type FundLimits,
  type FundStatementFigures,
  type StatementFrame,
  type SettlementAllowance,
  type StatementInput,
} from './statement';
import {
  attributedDisbursements,
  forEachSettlementPart,
  loadMdtrtSiblings,
  loadPaidLines,
  loadRecoveredAmounts,
  loadWindowSettlements,
} from '../ledger/fund-read-model';
import {
  analyzePayouts,
  changedPersons,
  loadBasis,
  saveBasis,
  storedTotals,
  storePayouts,
  takeSnapshot,
  totalsWithout,
  type AggregatedPayoutRow,
  type PayoutRow,
} from '../ledger/allowance-store';
import { loadCollections, loadLatestCostReports, loadTransfers } from '../ledger/fund-store';
import {
  completeStatement,
  previousClosingBalance,
  replaceEarlierNightly,
  startStatement,
  type StatementRow,
} from './statement-store';
import { statementFigures } from './statement-view';

/** What computing a statement needs (the reconciliation worker's deps have all of it). */
export interface StatementDeps {
  db: Db;
  regions: Pick<RegionPolicies, 'regionFor' | 'loopParamsFor' | 'all'>;
  calendar: WorkCalendar;
  log: Logger;
  now: () => number;
  /** Persons read per part (default PERSONS_PER_PART). */
  personsPerPart?: number;
}

/** The region file's fund section as the statement uses it (spec §8 defaults without one). */
export function fundPolicyOf(policy: RegionPolicy | undefined): FundPolicy {
  return policy?.fund ?? DEFAULT_FUND_POLICY;
}

/** The fund year's instants [from, to) and its twelve periods (CST). */
export function fundYearWindow(
  fund: Pick<FundPolicy, 'year_start'>,
  year: number,
): { from: Date; to: Date; periods: string[] } {
  const from = cstInstant(`${year}-${fund.year_start}`);
  const to = cstInstant(`${year + 1}-${fund.year_start}`);
  const first = `${year}-${fund.year_start.slice(0, 2)}`;
  return { from, to, periods: Array.from({ length: 12 }, (_, i) => addMonths(first, i)) };
}

function limitsOf(fund: FundPolicy): FundLimits {
  const out: FundLimits = {};
  for (const k of ['operating_cost_pct', 'admin_cost_pct', 'profit_pct'] as const) {
    const l = fund.limits[k];
    if (l) out[k] = { pct: new Decimal(l.pct), source: l.source };
  }
  return out;
}

/** A statement's region-year and clocks. */
export interface StatementClocks {
  admdvs: string;
  fund_year: number;
  as_of: Date;
  known_at: Date;
  opening_balance: Money;
}

/** Where the statement reads settlements: the benefit years the fund year touches, across the region's prefixes. */
interface SettlementReach {
  like: string[];
  from: Date;
  to: Date;
  knownAt: Date;
}

/**
 * Persons per part when a statement reads its settlements (statementFigures): a part holds each of its
 * persons with every settlement of their benefit years, so memory stays bounded by the part, not the
 * region-year (1M settlements loaded at once took 3.7 GB, bench/RESULTS.md).
 */
export const PERSONS_PER_PART = 5_000;

/** Everything of the region-year but its settlements and their facts, as of and known at the statement's clocks. */
async function loadStatementFrame(
  q: Sql,
  deps: Pick<StatementDeps, 'regions' | 'calendar'>,
  st: StatementClocks,
): Promise<{ frame: StatementFrame; reach: SettlementReach }> {
  const policy = deps.regions.regionFor(st.admdvs);
  const fund = fundPolicyOf(policy);
  const year = st.fund_year;
  const win = fundYearWindow(fund, year);
  const clocks = { asOf: st.as_of, knownAt: st.known_at };

  // The benefit engine needs each person's whole benefit year: read every benefit year the fund year touches,
  // across the region's prefixes when the statement is for a part of it.
  let from = win.from;
  let to = win.to;
  let like = [`${st.admdvs}%`];
  if (policy && policy.admdvs_prefixes.some((p) => st.admdvs.startsWith(p))) {
    like = policy.admdvs_prefixes.map((p) => `${p}%`);
    const b0 = benefitYearStart(policy, benefitYearOf(policy, win.from));
    const b1 = benefitYearStart(policy, benefitYearOf(policy, new Date(win.to.getTime() - 1)) + 1);
    if (b0 < from) from = b0;
    if (b1 > to) to = b1;
  }
  const disbursements = await attributedDisbursements(q, { admdvs: st.admdvs, periods: win.periods, ...clocks });
  const fundFilter = { admdvsPrefix: st.admdvs, fundYear: String(year), ...clocks };
  const collections = await loadCollections(q, fundFilter);
  const transfers = await loadTransfers(q, fundFilter);
  // One report per insurer: the region's own (admdvs = the statement's) before one of a part of it.
  const reports = (await loadLatestCostReports(q, fundFilter)).sort(
    (a, b) => Number(b.admdvs === st.admdvs) - Number(a.admdvs === st.admdvs),
  );
  const costReports = [...new Map(reports.reverse().map((r) => [r.insurer_code, r])).values()];

  const due = `${year + 1}-${fund.cost_report_due}`;
  const frame: StatementFrame = {
    admdvs: st.admdvs,
    fund_year: year,
    window: { from: win.from, to: win.to },
    asOf: st.as_of,
    policyFor: (a) => deps.regions.regionFor(a),
    loop: { params: (a) => deps.regions.loopParamsFor(a), calendar: deps.calendar },
    limits: limitsOf(fund),
    costReportDue: { date: due, lapses_at: cstInstant(addDays(due, 1)), source: fund.cost_report_due_source },
    openingBalance: st.opening_balance,
    disbursements: disbursements.map((d) => ({ ...d, amount: Money.of(d.amount) })),
    collections: collections.map((c) => ({
      collection_id: c.collection_id,
      message_id: c.message_id,
      admdvs: c.admdvs,
      amount: Money.of(c.amount),
      late_fee: Money.of(c.late_fee),
      insured_count: Number(c.insured_count),
    })),
    transfers: transfers.map((t) => ({
      transfer_id: t.transfer_id,
      message_id: t.message_id,
      admdvs: t.admdvs,
      from_account: t.from_account,
      to_account: t.to_account,
      amount: Money.of(t.amount),
    })),
    costReports: costReports.map((r) => ({
      insurer_code: r.insurer_code,
      revision: r.revision,
      message_id: r.message_id,
      reported_at: r.reported_at,
      operating_cost: Money.of(r.operating_cost),
      admin_cost: r.admin_cost === null ? null : Money.of(r.admin_cost),
    })),
  };
  return { frame, reach: { like, from, to, knownAt: st.known_at } };
}

/** Whether a settlement is of the statement's region and fund year. */
function inFrameYear(frame: StatementFrame, s: { insuplc_admdvs: string; setl_time: Date }): boolean {
  return s.insuplc_admdvs.startsWith(frame.admdvs) && s.setl_time >= frame.window.from && s.setl_time < frame.window.to;
}

/**
 * The settlements of these persons (all of the reach when not given) with their siblings, payment lines
 * and recoveries. A settlement belongs to the person its latest state names, so each is read in one part.
 */
async function loadSettlementPart(
  q: Sql,
  frame: StatementFrame,
  reach: SettlementReach,
  psnNos?: readonly string[],
): Promise<Pick<StatementInput, 'settlements' | 'siblings' | 'lines' | 'recoveries'>> {
  const clocks = { asOf: frame.asOf, knownAt: reach.knownAt };
  let settlements = await loadWindowSettlements(q, {
    admdvsLike: reach.like,
    from: reach.from,
    to: reach.to,
    knownAt: reach.knownAt,
    ...(psnNos ? { psnNos } : {}),
  });
  if (psnNos) {
    const mine = new Set(psnNos);
    settlements = settlements.filter((s) => mine.has(s.psn_no));
  }
  const inYear = settlements.filter((s) => inFrameYear(frame, s));
  const ids = inYear.map((s) => s.setl_id);
  const manualMdtrt = [...new Set(inYear.filter((s) => s.setl_mode === 'manual').map((s) => s.mdtrt_id))];
  const siblings = await loadMdtrtSiblings(q, manualMdtrt, new Set(settlements.map((s) => s.setl_id)), reach.knownAt);
  const lines = await loadPaidLines(q, ids, clocks);
  const recoveries = await loadRecoveredAmounts(q, ids, clocks);
  return {
    settlements: settlements.map((s) => ({ ...s, setldetail: s.setldetail ?? null })),
    siblings,
    lines,
    recoveries,
  };
}

/** Loads the whole region-year's facts at once, as of and known at the statement's clocks (in the caller's transaction). */
export async function loadStatementInput(
  q: Sql,
  deps: Pick<StatementDeps, 'regions' | 'calendar'>,
  st: StatementClocks,
): Promise<StatementInput> {
  const { frame, reach } = await loadStatementFrame(q, deps, st);
  return { ...frame, ...(await loadSettlementPart(q, frame, reach)) };
}

/**
 * What the stored allowances were computed under: the region files as written (their benefit rules,
 * tolerance and yearly cap decide what a settlement allows). Another file, or a changed one, makes
 * every stored allowance stale.
 */
export function regionsFingerprint(regions: Pick<RegionPolicies, 'all'>): string {
  return createHash('sha256')
    .update(JSON.stringify(regions.all.map((p) => [p.file, p.document])))
    .digest('hex');
}

/** Above this many persons to judge, a statement reads the whole reach through one cursor rather than person by person. */
const JUDGE_BY_CURSOR_ABOVE = 20_000;

/** What a part's settlements store: each one's allowance, and for those of the statement's year its payout figures. */
function payoutRows(
  input: Pick<StatementInput, 'settlements' | 'lines' | 'recoveries'>,
  allowances: ReadonlyMap<string, SettlementAllowance>,
  payouts: ReturnType<typeof settlementPayouts>['payouts'],
): PayoutRow[] {
  const volatile = new Set(input.settlements.filter((s) => s.setl_mode === 'manual').map((s) => s.psn_no));
  const ofYear = new Map(payouts.map((p) => [p.setl_id, p]));
  type Facts = { paid: Money; facts: number; recovered: Money; recoveries: number };
  const facts = new Map<string, { latest: Date | null; by: Map<string, Facts> }>();
  const of = (setl: string, insurer: string, at: Date) => {
    let f = facts.get(setl);
    if (!f) facts.set(setl, (f = { latest: null, by: new Map() }));
    if (!f.latest || at > f.latest) f.latest = at;
    let b = f.by.get(insurer);
    if (!b) f.by.set(insurer, (b = { paid: Money.ZERO, facts: 0, recovered: Money.ZERO, recoveries: 0 }));
    return b;
  };
  for (const l of input.lines) {
    if (!ofYear.has(l.setl_id)) continue;
    const b = of(l.setl_id, l.insurer_code, l.pay_time);
    b.paid = b.paid.plus(l.paid_amount);
    b.facts++;
  }
  for (const r of input.recoveries) {
    if (!ofYear.has(r.setl_id)) continue;
    const b = of(r.setl_id, r.insurer_code, r.recovered_at);
    b.recovered = b.recovered.plus(r.amount);
    b.recoveries++;
    b.facts++;
  }
  const none: Facts = { paid: Money.ZERO, facts: 0, recovered: Money.ZERO, recoveries: 0 };
  const out: PayoutRow[] = [];
  for (const s of input.settlements) {
    const a = allowances.get(s.setl_id);
    if (!a) continue;
    const row: PayoutRow = {
      setl_id: s.setl_id,
      psn_no: s.psn_no,
      insurer_code: s.insurer_code,
      insuplc_admdvs: s.insuplc_admdvs,
      setl_time: s.setl_time,
      volatile: volatile.has(s.psn_no),
      allowed: a.allowed,
      why_limited: a.why,
    };
    const p = ofYear.get(s.setl_id);
    if (p) {
      const f = facts.get(s.setl_id);
      const own = f?.by.get(s.insurer_code) ?? none;
      const others = [...(f?.by ?? new Map<string, Facts>())]
        .filter(([ins]) => ins !== s.insurer_code)
        .map(([ins, b]) => ({
          insurer_code: ins,
          paid: b.paid.toExactString(),
          paid_facts: b.facts,
          recovered: b.recovered.toExactString(),
          recoveries: b.recoveries,
        }));
      row.figures = {
        compliant: p.compliant,
        paid_own: own.paid,
        paid_own_facts: own.facts,
        recovered_own: own.recovered,
        recoveries_own: own.recoveries,
        others: others.length ? others : null,
        latest_fact_at: f?.latest ?? null,
      };
    }
    out.push(row);
  }
  return out;
}

/**
 * The statement's figures: the same figures as computeFundStatement over the whole year at once.
 * What each settlement allows and was paid is kept (ledger/allowance-store.ts): the persons whose facts
 * are all reflected there are added up in SQL; the others' settlements are read a part of persons at a
 * time (`personsPerPart`) and judged with the pure rules — and, with `store`, kept for the next
 * statement. The first statement of a region-year so judges every settlement; a nightly one only the
 * persons with a fact that arrived since, or whose payments' dates its as_of has passed.
 */
export async function statementFiguresOf(
  q: Sql,
  deps: Pick<StatementDeps, 'regions' | 'calendar'>,
  st: StatementClocks,
  personsPerPart = PERSONS_PER_PART,
  o: {
    /** Keep what was judged (not for a statement that only reproduces earlier figures). */
    store?: boolean;
    at?: Date;
    /** Above this many persons to judge, read the reach through one cursor (default JUDGE_BY_CURSOR_ABOVE). */
    cursorAbove?: number;
  } = {},
): Promise<{ frame: StatementFrame; figures: FundStatementFigures; judged: number }> {
  // Before any fact is read: what is kept will reflect the facts visible in this snapshot.
  const snapshot = await takeSnapshot(q);
  const { frame, reach } = await loadStatementFrame(q, deps, st);
  const totals = emptyPayoutTotals();
  const fingerprint = regionsFingerprint(deps.regions);
  const reachKey = `${reach.like.join(',')}|${reach.from.toISOString()}|${reach.to.toISOString()}`;
  const basis = await loadBasis(q, reachKey);
  const usable = basis !== undefined && basis.fingerprint === fingerprint && reach.knownAt >= basis.known_at;
  const payoutReach = {
    admdvsLike: reach.like,
    from: reach.from,
    to: reach.to,
    admdvs: frame.admdvs,
    yearFrom: frame.window.from,
    yearTo: frame.window.to,
    asOf: frame.asOf,
  };
  // null: every person (nothing kept that this statement can use); else the kept totals less the stale persons'
  let stale: string[] | null = null;
  let kept: AggregatedPayoutRow[] = [];
  if (usable) {
    const all = await storedTotals(q, payoutReach);
    stale = [...new Set([...(await changedPersons(q, payoutReach, basis)), ...all.unsure])].sort();
    kept = totalsWithout(all.totals, (await storedTotals(q, payoutReach, stale)).totals);
  }
  const staleSet = stale ? new Set(stale) : null;
  let judged = 0;
  const judge = async (part: Pick<StatementInput, 'settlements' | 'siblings' | 'lines' | 'recoveries'>) => {
    const input = { ...frame, ...part };
    const allowances = settlementAllowances(input);
    const result = settlementPayouts(input, allowances);
    addSettlementPayouts(totals, result);
    judged += part.settlements.length;
    if (o.store)
      await storePayouts(q, payoutRows(part, allowances, result.payouts), {
        asOf: frame.asOf,
        at: o.at ?? new Date(),
      });
  };
  if (stale === null || stale.length > (o.cursorAbove ?? JUDGE_BY_CURSOR_ABOVE)) {
    // One query over the reach through a cursor, a part of persons at a time; the direct settlements
    // that make a manual one a duplicate are read per part, only where the part has manual ones.
    await forEachSettlementPart(
      q,
      { admdvsLike: reach.like, from: reach.from, to: reach.to, knownAt: reach.knownAt, asOf: frame.asOf },
      personsPerPart,
      async (whole) => {
        const settlements = staleSet ? whole.settlements.filter((s) => staleSet.has(s.psn_no)) : whole.settlements;
        if (!settlements.length) return;
        const manualMdtrt = [
          ...new Set(
            settlements.filter((s) => s.setl_mode === 'manual' && inFrameYear(frame, s)).map((s) => s.mdtrt_id),
          ),
        ];
        const siblings = await loadMdtrtSiblings(
          q,
          manualMdtrt,
          new Set(settlements.map((s) => s.setl_id)),
          reach.knownAt,
        );
        await judge({
          settlements: settlements.map((s) => ({ ...s, setldetail: s.setldetail ?? null })),
          siblings,
          lines: whole.lines,
          recoveries: whole.recoveries,
        });
      },
    );
  } else {
    for (let i = 0; i < stale.length; i += personsPerPart) {
      await judge(await loadSettlementPart(q, frame, reach, stale.slice(i, i + personsPerPart)));
    }
  }
  addAggregatedPayouts(totals, kept);
  if (o.store) {
    if (judged > 100_000) await analyzePayouts(q);
    await saveBasis(q, reachKey, { snapshot, known_at: reach.knownAt, fingerprint }, o.at ?? new Date());
  }
  return { frame, figures: fundStatementOf(frame, totals), judged };
}

/** Computes a queued statement (the reconciliation queue's `fund_statement` job). Idempotent: a completed one is not redone. */
export async function executeStatement(deps: StatementDeps, id: string): Promise<StatementRow | undefined> {
  const startedAt = new Date(deps.now());
  const st = await startStatement(deps.db, id, startedAt);
  if (!st) return undefined;
  const knownAt = st.known_at ?? startedAt;
  const done = await deps.db.tx(async (q) => {
    await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('fund-statement:' || $1 || ':' || $2, 0))`, [
      st.admdvs,
      st.fund_year,
    ]);
    const previous =
      st.opening_balance === null ? await previousClosingBalance(q, st.admdvs, st.fund_year - 1) : undefined;
    const opening = Money.of(st.opening_balance ?? previous ?? '0');
    const {
      frame: input,
      figures,
      judged,
    } = await statementFiguresOf(
      q,
      deps,
      { admdvs: st.admdvs, fund_year: st.fund_year, as_of: st.as_of, known_at: knownAt, opening_balance: opening },
      deps.personsPerPart,
      // A statement that only reproduces figures of an earlier known_at stores nothing.
      { store: !st.report_only, at: startedAt },
    );
    const at = new Date(deps.now());
    const cases = st.report_only
      ? null
      : await syncGroups(q, [{ groupKey: fundGroupKey(st.admdvs, st.fund_year), findings: figures.findings }], at);
    // The non-critical cases it opened are told in a digest of their own, committed with them (spec §6).
    if (cases?.opened.length) {
      await enqueueDigest(q, {
        admdvs: st.admdvs,
        period: lastPeriodOf(input),
        window_start: startedAt,
        window_end: new Date(Math.max(at.getTime(), startedAt.getTime()) + 1),
        ids: cases.opened,
        onlyIds: true,
      });
    }
    const byCode: Record<string, number> = {};
    for (const f of figures.findings) byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    const summary = {
      settlements: figures.settlements.count,
      settlements_limited: figures.settlements.limited,
      // Judged with the rules this time; the others' stored allowances were current (ledger/allowance-store.ts).
      settlements_judged: judged,
      findings: byCode,
      cases: cases
        ? { opened: cases.opened.length, updated: cases.updated.length, resolved: cases.resolved.length }
        : null,
      opening_balance_from:
        st.opening_balance !== null ? 'request' : previous !== undefined ? 'previous_statement' : 'none',
      limits: Object.fromEntries(
        Object.entries(input.limits).map(([k, v]) => [k, { pct: v.pct.toString(), source: v.source }]),
      ),
      cost_report_due: input.costReportDue?.date ?? null,
      report_only: st.report_only,
    };
    await completeStatement(q, id, statementFigures(figures), summary, at);
    // The nightly statements stay bounded: this one replaces the region-year's earlier nightly ones.
    if (st.trigger === 'nightly') await replaceEarlierNightly(q, st);
    return summary;
  });
  deps.log.info(
    {
      statement_id: id,
      admdvs: st.admdvs,
      fund_year: st.fund_year,
      as_of: toCstIso(st.as_of),
      settlements: done.settlements,
      findings: done.findings,
    },
    'fund statement completed',
  );
  return { ...st, known_at: knownAt, status: 'completed', summary: done };
}
