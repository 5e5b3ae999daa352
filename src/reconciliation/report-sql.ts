/**
 * The run report, computed in SQL over the whole region-period (spec: joins and aggregates, never a
 * round trip per settlement) and stored as rows of the run. The two clocks of spec §5, kept apart:
 * a fact counts only if the gateway had received it by `known_at` (received_at ≤ known_at: a run
 * with an earlier known_at reproduces an earlier report exactly), and an event only if it had
 * happened by `as_of` (pay_time, recovered_at, disbursed_at ≤ as_of). A month loaded today for a past
 * period therefore reports in full as of any time after its events.
 *
 * Parameters throughout: $1 run_id, $2 admdvs LIKE pattern ('5331%'), $3 period, $4 known_at, $5 as_of.
 */
import type { Sql } from '../db/db';
import { periodEnd, periodStart } from '../time';
import { INSTITUTION_INSURER_PAIRS } from '../matching/sweep';
import { LOOP_SUMS, MISSING_LOOPS, OWED_FROM_FACTS, OWED_FROM_LOOPS, RECOMPUTE_MAX, REVERSED_LOOPS, unsettled, type LoopSumRow } from './owed-sql';

/**
 * Current declarations: batches of the period received by known_at that no batch received by then replaces.
 * A batch belongs to the region when one of its items names a settlement of the region, or when its
 * institution's code carries a county code of the region (H + 6 digits), as fallbackAdmdvs reads it.
 */
const DECLARED = `
  current_batches AS (
    SELECT b.batch_id, b.fixmedins_code
      FROM batches b
     WHERE b.period = $3 AND b.received_at <= $4
       AND NOT EXISTS (SELECT 1 FROM batches n WHERE n.fixmedins_code = b.fixmedins_code AND n.replaces_batch_id = b.batch_id AND n.received_at <= $4)
       AND (b.fixmedins_code LIKE 'H' || $2::text
         OR EXISTS (SELECT 1 FROM batch_items i JOIN settlement_records x ON x.setl_id = i.setl_id
                     WHERE i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id AND x.insuplc_admdvs LIKE $2 AND x.received_at <= $4))
  ),
  declared AS (
    SELECT b.fixmedins_code, count(i.setl_id) AS cnt, coalesce(sum(i.hifob_pay), 0) AS hifob
      FROM current_batches b LEFT JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id
     GROUP BY b.fixmedins_code
  )`;

/**
 * `balanced` is the 3201 check: the institution's declaration (count and hifob_pay total) equals the
 * agency's direct settlements. Manual claims (零星报销) are the person's, never declared by the
 * institution, so they count in recorded_* but not in the balance (recorded_direct_* shows the base).
 */
const insertInstitutions = (owed: string) => `
  WITH ${owed}, ${DECLARED}
  INSERT INTO reconciliation_institutions (run_id, fixmedins_code, declared_cnt, declared_hifob, recorded_cnt, recorded_hifob,
      recorded_direct_cnt, recorded_direct_hifob, paid, rejected, recovered, outstanding, balanced)
  SELECT $1, coalesce(r.fixmedins_code, d.fixmedins_code), coalesce(d.cnt, 0), coalesce(d.hifob, 0), coalesce(r.cnt, 0), coalesce(r.hifob, 0),
         coalesce(r.direct_cnt, 0), coalesce(r.direct_hifob, 0), coalesce(r.paid, 0), coalesce(r.rejected, 0), coalesce(r.recovered, 0),
         coalesce(r.outstanding, 0),
         coalesce(d.cnt, 0) = coalesce(r.direct_cnt, 0) AND coalesce(d.hifob, 0) = coalesce(r.direct_hifob, 0)
    FROM recorded r FULL JOIN declared d ON d.fixmedins_code = r.fixmedins_code`;

/** SQL: the regions (admdvs prefixes) a and b overlap — one lies inside the other. */
const overlap = (a: string, b: string) => `(${a} LIKE ${b} || '%' OR ${b} LIKE ${a} || '%')`;

/** SQL: the region where a and b (overlapping prefixes) meet — the longer of the two. */
const meet = (a: string, b: string) => `(CASE WHEN length(${a}) >= length(${b}) THEN ${a} ELSE ${b} END)`;

/**
 * SQL: insurer `ins` owes, pays or is planned for settlements in region `r` (spec §3): a settlement of
 * the region it owes (any month), a payment of the period naming a settlement of the region, or its
 * latest plan naming a region that overlaps. What a plan or a disbursement without admdvs attaches to.
 */
const presentIn = (ins: string, r: string) => `(
    EXISTS (SELECT 1 FROM settlement_records s WHERE s.insurer_code = ${ins} AND s.insuplc_admdvs LIKE ${r} || '%' AND s.received_at <= $4)
    OR EXISTS (SELECT 1 FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
                 JOIN settlement_records s ON s.setl_id = l.setl_id
                WHERE l.insurer_code = ${ins} AND p.pay_time >= $6 AND p.pay_time < $7 AND p.pay_time <= $5 AND p.received_at <= $4
                  AND s.insuplc_admdvs LIKE ${r} || '%' AND s.received_at <= $4)
    OR EXISTS (SELECT 1 FROM latest_plan lp WHERE lp.insurer_code = ${ins} AND lp.admdvs IS NOT NULL AND ${overlap('lp.admdvs', r)}))`;

/**
 * Insurer rows. planned: the latest revision of the (insurer, period) plan received by known_at,
 * when attributed to the region. paid: the insurer's payment lines whose payment's pay_time falls in
 * the period (spec §4: "a period's payments are those whose pay_time falls in that month") and by
 * as_of, and whose setl_id names a settlement of the region (of any settlement month: April's
 * payments settle March's claims). Lines naming a setl_id the agency never recorded cannot be
 * attributed to a region and are left out. Gross of recoveries. disbursed: Σ the (insurer, period)
 * disbursements attributed to the region, disbursed by as_of.
 *
 * Attribution (spec §3): a plan or a disbursement with admdvs belongs to the regions that overlap it
 * (a run of 5331 counts one for 533102, and a run of 533102 one for 5331); without admdvs, to every
 * region in which the insurer owes, pays or is planned for settlements (presentIn). A disbursement
 * counts only in regions inside its sending agency's scope (recorded with it, sender_scope): without
 * admdvs it is read as one for each prefix of that scope; with admdvs, ingest has already refused
 * one outside the scope. Insurers listed: those owing settlements of the region-period, and those
 * with a plan, a payment or a disbursement attributed to the region — whether or not they owe
 * settlements there. (Those owing settlements of the region-period are found by walking the
 * (institution, insurer) pairs, INSTITUTION_INSURER_PAIRS, not by reading the region's history.)
 *
 * Parameters: $1 run_id, $2 admdvs LIKE pattern, $3 period, $4 known_at, $5 as_of, $6–$7 the period's
 * bounds, $8 the admdvs prefix.
 */
const INSERT_INSURERS = `
  WITH RECURSIVE ${INSTITUTION_INSURER_PAIRS},
  period_insurers AS (
    SELECT DISTINCT p.i AS insurer_code FROM pairs p
     WHERE EXISTS (SELECT 1 FROM settlement_records s WHERE s.fixmedins_code = p.f AND s.insurer_code = p.i AND s.period = $3
                     AND s.insuplc_admdvs LIKE $2 AND s.received_at <= $4)
  ),
  paid AS (
    SELECT l.insurer_code, sum(l.paid_amount) AS paid, count(DISTINCT l.payment_id) AS payments
      FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
     WHERE p.pay_time >= $6 AND p.pay_time < $7 AND p.pay_time <= $5 AND p.received_at <= $4
       AND EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = l.setl_id AND s.insuplc_admdvs LIKE $2 AND s.received_at <= $4)
     GROUP BY l.insurer_code
  ),
  latest_plan AS MATERIALIZED (
    SELECT DISTINCT ON (insurer_code) insurer_code, revision, message_id, planned_amount, admdvs
      FROM spending_plans WHERE period = $3 AND received_at <= $4
     ORDER BY insurer_code, revision DESC
  ),
  plan AS (
    SELECT pl.* FROM latest_plan pl
     WHERE CASE WHEN pl.admdvs IS NOT NULL THEN ${overlap('pl.admdvs', '$8')}
           ELSE pl.insurer_code IN (SELECT insurer_code FROM period_insurers) OR pl.insurer_code IN (SELECT insurer_code FROM paid)
                OR ${presentIn('pl.insurer_code', '$8')} END
  ),
  disb AS (
    SELECT d.insurer_code, sum(d.amount) AS disbursed,
           jsonb_agg(jsonb_build_object('disbursement_id', d.disbursement_id, 'message_id', d.message_id, 'amount', d.amount::text) ORDER BY d.disbursement_id) AS list
      FROM disbursements d
     WHERE d.period = $3 AND d.received_at <= $4 AND d.disbursed_at <= $5
       AND CASE WHEN d.admdvs IS NOT NULL THEN ${overlap('d.admdvs', '$8')}
           -- before migration 090 the sender's scope was not recorded: read as this region
           ELSE EXISTS (SELECT 1 FROM unnest(coalesce(d.sender_scope, ARRAY[$8::text])) AS sc(s)
                         WHERE ${overlap('sc.s', '$8')} AND ${presentIn('d.insurer_code', meet('sc.s', '$8'))}) END
     GROUP BY d.insurer_code
  )
  INSERT INTO reconciliation_insurers (run_id, insurer_code, plan_revision, plan_message_id, planned, paid, payments_count, disbursed, disbursements)
  SELECT $1, i.insurer_code, pl.revision, pl.message_id, coalesce(pl.planned_amount, 0), coalesce(pd.paid, 0), coalesce(pd.payments, 0),
         coalesce(d.disbursed, 0), coalesce(d.list, '[]'::jsonb)
    FROM (SELECT insurer_code FROM period_insurers UNION SELECT insurer_code FROM plan UNION SELECT insurer_code FROM paid UNION SELECT insurer_code FROM disb) i
    LEFT JOIN plan pl USING (insurer_code) LEFT JOIN paid pd USING (insurer_code) LEFT JOIN disb d USING (insurer_code)`;

/** The two clocks of a run (spec §5): business time and the knowledge cut-off. */
export interface RunClocks { asOf: Date; knownAt: Date }

/**
 * Replaces the stored report rows of a run (a retried run recomputes them whole). `from` forces one of
 * the two ways to the institution figures (owed-sql.ts; the tests compare them); by default the loop
 * rows unless more than RECOMPUTE_MAX settlements have to be recomputed. The loop rows are those the
 * run's sweep has just brought to as_of: a run without a sweep (report-only) passes 'facts'.
 */
export async function computeReport(q: Sql, runId: string, admdvs: string, period: string, clocks: RunClocks | Date, from?: 'loops' | 'facts'): Promise<void> {
  // A single time is both clocks (what the facts known then could show as of then).
  const { asOf, knownAt } = clocks instanceof Date ? { asOf: clocks, knownAt: clocks } : clocks;
  // The month's settlements and their loop rows meet in one hash join: in memory, not in batches on
  // disk. No JIT: compiling these statements took seconds (6.6 s at 100k) for statements that run in
  // less. Both transaction-scoped: the caller's transaction.
  await q.query(`SET LOCAL work_mem = '128MB'`);
  await q.query('SET LOCAL jit = off');
  await q.query('DELETE FROM reconciliation_institutions WHERE run_id = $1', [runId]);
  await q.query('DELETE FROM reconciliation_insurers WHERE run_id = $1', [runId]);
  const base = [runId, `${admdvs}%`, period, knownAt, asOf];
  // The loop rows, unless many settlements have facts the report cannot count (received after
  // known_at, paid after as_of): then the month is computed from the facts in one set-based pass.
  const unsettledIds = from === 'facts' ? { rows: [] }
    : await q.query<{ setl_id: string }>(`WITH ${unsettled('$1', '$2')} SELECT setl_id FROM unsettled LIMIT $3`, [knownAt, asOf, from === 'loops' ? null : RECOMPUTE_MAX + 1]);
  if (from === 'facts' || (from === undefined && unsettledIds.rows.length > RECOMPUTE_MAX)) {
    await q.query(insertInstitutions(OWED_FROM_FACTS), base);
  } else {
    const month = [`${admdvs}%`, period, knownAt];
    const redo = unsettledIds.rows.map((r) => r.setl_id);
    const sums = await q.query<LoopSumRow>(LOOP_SUMS, [...month, redo]);
    for (const r of (await q.query<{ setl_id: string }>(REVERSED_LOOPS, month.slice(0, 2))).rows) redo.push(r.setl_id);
    if (sums.rows.some((r) => Number(r.missing) > 0)) for (const r of (await q.query<{ setl_id: string }>(MISSING_LOOPS, month)).rows) redo.push(r.setl_id);
    await q.query(insertInstitutions(OWED_FROM_LOOPS), [...base, JSON.stringify(sums.rows), [...new Set(redo)]]);
  }
  await q.query(INSERT_INSURERS, [...base, periodStart(period), periodEnd(period), admdvs]);
}

export interface ReportTotals {
  institutions: number; balanced_institutions: number; declared_cnt: number; declared_hifob: string; recorded_cnt: number;
  recorded_hifob: string; paid: string; rejected: string; recovered: string; outstanding: string;
  planned: string; insurer_paid: string; disbursed: string;
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
            (SELECT coalesce(sum(disbursed), 0)::numeric(18,2)::text FROM reconciliation_insurers WHERE run_id = $1) AS disbursed
       FROM reconciliation_institutions WHERE run_id = $1`, [runId],
  );
  const r = rows[0]!;
  return { ...r, institutions: Number(r.institutions), balanced_institutions: Number(r.balanced_institutions), declared_cnt: Number(r.declared_cnt), recorded_cnt: Number(r.recorded_cnt) } as unknown as ReportTotals;
}
