/**
 * One reconciliation run: the deadline sweep of the region-period as of the run's as_of (matching's
 * sweepRegionPeriod), then the report in SQL, the plan findings, and the summary, stored with the
 * run. Idempotent: a retried job recomputes the report rows whole; a completed run is not redone.
 *
 * The two clocks (spec §5): deadlines are judged at as_of and events dated after it do not count;
 * facts received after known_at (default: the run's start) are left out. The findings the sweep
 * and the plan findings raise rest on every fact received by then, the report on the same facts.
 * A run whose known_at lies before its start (`report_only`) cannot have findings of its own — the
 * discrepancies are the ledger's present state, judged on everything received — so it only
 * reproduces the report from the facts received by known_at: no sweep, no plan findings, no digest.
 */
import type { Sql } from '../db/db';
import { benefitSummary } from '../benefits/audit';
import { sweepForRun, type SweepDeps } from '../matching/sweep';
import { computeReport, reportTotals } from './report-sql';
import { syncPlanFindings } from './plan-findings';
import { sweepPremiumChain, type PremiumChainDeps } from '../fund/premium-chain-service';
import { FUND_CODES } from '../fund/rules';
import { runInsurers, startRun, type RunRow } from './run-store';
import { enqueueDigest } from '../notifications/fan-out';
import { auditHead, entityIdsSince } from '../audit/audit-trail';
import { countsByCodeOf, unresolvedCountsByCode } from '../discrepancies/discrepancy-queries';
import { disputedCountsByCode } from '../discrepancies/case-answer-store';

/** What a run needs: the sweep's (database, region policies, calendar, log) and the clock. */
export interface RunDeps extends SweepDeps {
  now: () => number;
  /** The region's fund section too (the premium chain, spec §8). */
  regions: PremiumChainDeps['regions'];
}

export async function executeRun(gw: RunDeps, runId: string): Promise<RunRow | undefined> {
  const startedAt = new Date(gw.now());
  const run = await startRun(gw.db, runId, startedAt);
  if (!run) return undefined;
  const { admdvs, period } = run;
  const asOf = run.as_of;
  const knownAt = run.known_at ?? startedAt;
  const reportOnly = run.report_only;
  // Discrepancies opened by this run are the audit events after this point (ids and detected_at
  // cannot tell: the sweep may stamp cases with as_of).
  const fromSeq = await auditHead(gw.db);

  // The embedded database has no autovacuum (PGlite runs no background workers), so its planner never
  // learns the tables' sizes: the report's month join took 17.6 s for 4,000 settlements on default
  // estimates, 1–2 s after ANALYZE (issue 12). A run is where the set-based statements are.
  if (gw.db.kind === 'pglite') await gw.db.exec('ANALYZE');
  // The sweep's one pass over the month with its loop rows also sums them for the report.
  const sweep = reportOnly ? null : await sweepForRun(gw, admdvs, period, asOf, knownAt);
  const swept = sweep?.swept ?? null;

  const summary = await gw.db.tx(async (q) => {
    // The same region-period's report is never computed twice at once (a stalled job's retry).
    await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon-run:' || $1 || ':' || $2, 0))`, [
      admdvs,
      period,
    ]);
    // A report-only run has no sweep behind it, so its settlements' loop rows say nothing about its
    // view: the month is computed from the facts.
    await computeReport(
      q,
      runId,
      admdvs,
      period,
      { asOf, knownAt },
      reportOnly ? 'facts' : undefined,
      { loopParamsFor: (a) => gw.regions.loopParamsFor(a), calendar: gw.calendar },
      sweep?.before,
    );
    const insurers = await runInsurers(q, runId);
    const tolerancePct = gw.regions.loopParamsFor(admdvs).plan_tolerance_pct;
    const plan = reportOnly
      ? null
      : await syncPlanFindings(q, insurers, { admdvs, period, asOf, tolerancePct }, new Date(gw.now()));
    // The premium chain of the region (spec §8), judged at the same as_of (src/fund/premium-chain-service.ts).
    const chain = reportOnly ? null : await sweepPremiumChain(q, gw, { admdvs, period, asOf }, new Date(gw.now()));
    const premiumChain = chain?.result ?? null;
    const totals = await reportTotals(q, runId);
    // The discrepancy and benefit counts are the ledger's present state: not part of a reproduction.
    const discrepancies = reportOnly ? null : await discrepancyCounts(q, admdvs, period, fromSeq);
    const benefits = reportOnly ? null : await benefitSummary(q, admdvs, period);
    // The bounds the report's arrears were bucketed by (spec §10; the run's region), for the export's headers.
    const ageingBuckets = gw.regions.loopParamsFor(admdvs).ageing_buckets;
    const s = {
      totals,
      discrepancies,
      benefits,
      swept,
      plan_findings: plan,
      premium_chain: premiumChain,
      tolerance_pct: tolerancePct,
      ageing_buckets: ageingBuckets,
      report_only: reportOnly,
    };
    const finishedAt = new Date(gw.now());
    await q.query(
      `UPDATE reconciliation_runs SET status = 'completed', summary = $2, finished_at = $3, error = NULL WHERE run_id = $1`,
      [runId, JSON.stringify(s), finishedAt],
    );
    // One digest per run (spec §6, issue 4 of 7): the cases of the region-period detected since the
    // previous completed run of it (or the last day), committed with the run so none is lost.
    // Report-only runs neither send one nor end another's window.
    const prev = await q.query<{ finished_at: Date }>(
      `SELECT finished_at FROM reconciliation_runs WHERE admdvs = $1 AND period = $2 AND status = 'completed' AND NOT report_only AND run_id <> $3 AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1`,
      [admdvs, period, runId],
    );
    const windowStart = prev.rows[0]?.finished_at ?? new Date(finishedAt.getTime() - 86_400_000);
    // The fund codes (spec §8) have their own digests (their periods are not the run's); the premium-chain cases this run's
    // sweep opened, of whatever period, are listed in this one.
    if (!reportOnly && windowStart < finishedAt) {
      await enqueueDigest(q, {
        run_id: runId,
        admdvs,
        period,
        window_start: windowStart.toISOString(),
        window_end: new Date(finishedAt.getTime() + 1).toISOString(),
        exceptCodes: FUND_CODES,
        ids: chain?.openedIds ?? [],
      });
    }
    return s;
  });
  gw.log.info(
    {
      run_id: runId,
      admdvs,
      period,
      as_of: asOf.toISOString(),
      known_at: knownAt.toISOString(),
      report_only: reportOnly,
      institutions: summary.totals.institutions,
      swept,
    },
    'reconciliation run completed',
  );
  return { ...run, known_at: knownAt, status: 'completed', summary };
}

/** Discrepancies of the region-period by code: opened during the run, and open now. */
async function discrepancyCounts(
  q: Sql,
  admdvs: string,
  period: string,
  fromSeq: string,
): Promise<{ opened: Record<string, number>; open: Record<string, number>; disputed: Record<string, number> }> {
  const unresolved = await unresolvedCountsByCode(q, { admdvsPrefix: admdvs, period });
  const opened = await countsByCodeOf(
    q,
    await entityIdsSince(q, 'discrepancy', ['opened', 'reopened'], fromSeq),
    admdvs,
    period,
  );
  const toMap = (rows: { code: string; n: number }[]) => Object.fromEntries(rows.map((r) => [r.code, Number(r.n)]));
  // Spec §10: a case under an open dispute is reported apart — `disputed`, not `open`.
  const disputed = toMap(await disputedCountsByCode(q, admdvs, period));
  const open = Object.fromEntries(
    unresolved.map((r) => [r.code, Number(r.n) - (disputed[r.code] ?? 0)]).filter(([, n]) => Number(n) > 0),
  );
  return { opened: toMap(opened), open, disputed };
}
