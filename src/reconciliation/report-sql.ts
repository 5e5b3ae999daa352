/**
 * The run report of a region-period, stored as rows of the run. The figures are the ledger's read
 * model (src/ledger/report-read-model.ts: computed in SQL over the whole region-period, with the two
 * clocks of spec §5 kept apart: a fact counts only if received by `known_at`, an event only if it
 * happened by `as_of`); this file stores them and totals the stored rows.
 */
import type { Sql } from '../db/db';
import type { MonthLoopSums } from '../ledger/owed-read-model';
import { unmatchedMessageIds } from '../ingest/message-store';
import { institutionFiguresAndArrears, insurerFigures } from '../ledger/report-read-model';
import { ageingView, DEFAULT_LOOP_PARAMS, emptyAgeing, loadWorkCalendar, type Ageing } from '../deadlines';
import { ageArrears, type AgeingRules, type ArrearsRow } from './arrears-ageing';

/** The two clocks of a run (spec §5): business time and the knowledge cut-off. */
export interface RunClocks {
  asOf: Date;
  knownAt: Date;
}

/**
 * Replaces the stored report rows of a run (a retried run recomputes them whole). `from` forces one of
 * the two ways to the institution figures (src/ledger/owed-read-model.ts; the tests compare them); by
 * default the loop rows unless too many settlements have to be recomputed. The loop rows are those the
 * run's sweep has just brought to as_of: a run without a sweep (report-only) passes 'facts'.
 */
/** By default (tests, the bench) the spec's parameters and the shipped calendar age the arrears. */
const DEFAULT_AGEING_RULES: AgeingRules = {
  loopParamsFor: () => DEFAULT_LOOP_PARAMS,
  get calendar() {
    return loadWorkCalendar();
  },
};

/**
 * `rules` age the arrears (spec §10): the due dates with the parameters of each settlement's region,
 * the buckets with the bounds of the run's region. `before`: what the run's sweep summed of the month
 * before it ran and the settlements it re-evaluated (matching/sweep.ts sweepForRun): the report takes
 * those sums instead of reading the month with its loop rows a second time.
 */
export async function computeReport(
  q: Sql,
  runId: string,
  admdvs: string,
  period: string,
  clocks: RunClocks | Date,
  from?: 'loops' | 'facts',
  rules: AgeingRules = DEFAULT_AGEING_RULES,
  before?: { sums: MonthLoopSums; swept: readonly string[] },
): Promise<void> {
  // A single time is both clocks (what the facts known then could show as of then).
  const { asOf, knownAt } = clocks instanceof Date ? { asOf: clocks, knownAt: clocks } : clocks;
  // The month's settlements and their loop rows meet in one hash join: in memory, not in batches on
  // disk. No JIT: compiling these statements took seconds (6.6 s at 100k) for statements that run in
  // less. Both transaction-scoped: the caller's transaction.
  await q.query(`SET LOCAL work_mem = '128MB'`);
  await q.query('SET LOCAL jit = off');
  await q.query('DELETE FROM reconciliation_institutions WHERE run_id = $1', [runId]);
  await q.query('DELETE FROM reconciliation_insurers WHERE run_id = $1', [runId]);
  const month = { admdvs, period, knownAt, asOf };
  const unmatched = from === 'facts' || before ? [] : await unmatchedMessageIds(q);
  const { institutions: figures, arrears } = await institutionFiguresAndArrears(
    q,
    month,
    unmatched,
    from,
    true,
    before,
  );
  const aged = ageArrears(arrears as ArrearsRow[], asOf, rules.loopParamsFor(admdvs).ageing_buckets, rules);
  const ageing = (a: Ageing | undefined) => ageingView(a ?? emptyAgeing());
  const inst = figures.map((r) => ({ ...r, ageing: ageing(aged.institutions.get(r.fixmedins_code)) }));
  if (inst.length) {
    await q.query(
      `INSERT INTO reconciliation_institutions (run_id, fixmedins_code, declared_cnt, declared_hifob, recorded_cnt, recorded_hifob,
           recorded_direct_cnt, recorded_direct_hifob, paid, rejected, recovered, outstanding, balanced, ageing)
       SELECT $1, x.* FROM jsonb_to_recordset($2::jsonb) AS x(fixmedins_code text, declared_cnt integer, declared_hifob numeric, recorded_cnt integer,
           recorded_hifob numeric, recorded_direct_cnt integer, recorded_direct_hifob numeric, paid numeric, rejected numeric, recovered numeric,
           outstanding numeric, balanced boolean, ageing jsonb)`,
      [runId, JSON.stringify(inst)],
    );
  }
  const ins = (await insurerFigures(q, month)).map((r) => ({
    ...r,
    ageing: ageing(aged.insurers.get(r.insurer_code)),
  }));
  if (ins.length) {
    await q.query(
      `INSERT INTO reconciliation_insurers (run_id, insurer_code, plan_revision, plan_message_id, planned, paid, payments_count, disbursed, disbursements, ageing)
       SELECT $1, x.* FROM jsonb_to_recordset($2::jsonb) AS x(insurer_code text, plan_revision integer, plan_message_id uuid, planned numeric, paid numeric,
           payments_count integer, disbursed numeric, disbursements jsonb, ageing jsonb)`,
      [runId, JSON.stringify(ins)],
    );
  }
}

const AGEING_KEYS = ['not_due', 'd1_10', 'd11_30', 'd31_60', 'over_60'] as const;

export interface ReportTotals {
  institutions: number;
  balanced_institutions: number;
  declared_cnt: number;
  declared_hifob: string;
  recorded_cnt: number;
  recorded_hifob: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  planned: string;
  insurer_paid: string;
  disbursed: string;
  /** The institutions' arrears by age (spec §10), summed: they add up to `outstanding`. */
  ageing: Record<string, string>;
}

/** Totals of the stored rows (numeric sums: exact). */
export async function reportTotals(q: Sql, runId: string): Promise<ReportTotals> {
  const { rows } = await q.query<Record<string, string>>(
    `SELECT count(*)::int AS institutions, count(*) FILTER (WHERE balanced)::int AS balanced_institutions,
            coalesce(sum(declared_cnt), 0)::int AS declared_cnt, coalesce(sum(declared_hifob), 0)::numeric(18,2)::text AS declared_hifob,
            coalesce(sum(recorded_cnt), 0)::int AS recorded_cnt, coalesce(sum(recorded_hifob), 0)::numeric(18,2)::text AS recorded_hifob,
            coalesce(sum(paid), 0)::numeric(18,2)::text AS paid, coalesce(sum(rejected), 0)::numeric(18,2)::text AS rejected,
            coalesce(sum(recovered), 0)::numeric(18,2)::text AS recovered, coalesce(sum(outstanding), 0)::numeric(18,2)::text AS outstanding,
            (SELECT coalesce(sum(planned), 0)::numeric(18,2)::text FROM reconciliation_insurers WHERE run_id = $1) AS planned,
            (SELECT coalesce(sum(paid), 0)::numeric(18,2)::text FROM reconciliation_insurers WHERE run_id = $1) AS insurer_paid,
            (SELECT coalesce(sum(disbursed), 0)::numeric(18,2)::text FROM reconciliation_insurers WHERE run_id = $1) AS disbursed,
            ${AGEING_KEYS.map((k) => `coalesce(sum((ageing->>'${k}')::numeric), 0)::numeric(18,2)::text AS ageing_${k}`).join(', ')}
       FROM reconciliation_institutions WHERE run_id = $1`,
    [runId],
  );
  const { ageing_not_due, ageing_d1_10, ageing_d11_30, ageing_d31_60, ageing_over_60, ...r } = rows[0]!;
  const ageingTotals = {
    not_due: ageing_not_due!,
    d1_10: ageing_d1_10!,
    d11_30: ageing_d11_30!,
    d31_60: ageing_d31_60!,
    over_60: ageing_over_60!,
  };
  return {
    ...r,
    ageing: ageingTotals,
    institutions: Number(r.institutions),
    balanced_institutions: Number(r.balanced_institutions),
    declared_cnt: Number(r.declared_cnt),
    recorded_cnt: Number(r.recorded_cnt),
  } as unknown as ReportTotals;
}
