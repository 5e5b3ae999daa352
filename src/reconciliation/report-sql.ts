/**
 * The run report, computed in SQL over the whole region-period (spec: joins and aggregates, never a
 * round trip per settlement) and stored as rows of the run. Every fact counts only if the gateway
 * knew it at `as_of` (received_at ≤ as_of), and every event only if it had happened by then
 * (pay_time, recovered_at, disbursed_at ≤ as_of), so a run for a past `as_of` reproduces what could
 * have been known then.
 *
 * Parameters throughout: $1 run_id, $2 admdvs LIKE pattern ('5331%'), $3 period, $4 as_of.
 */
import type { Sql } from '../db/db';
import { periodEnd, periodStart } from '../time';
import { INSTITUTION_INSURER_PAIRS } from '../matching/sweep';
import { LOOP_SUMS, MISSING_LOOPS, OWED_FROM_FACTS, OWED_FROM_LOOPS, RECOMPUTE_MAX, REVERSED_LOOPS, unsettled, type LoopSumRow } from './owed-sql';

/**
 * Current declarations: batches of the period known at as_of that no batch known at as_of replaces.
 * A batch belongs to the region when one of its items names a settlement of the region, or when its
 * institution's code carries a county code of the region (H + 6 digits), as fallbackAdmdvs reads it.
 */
const DECLARED = `
  current_batches AS (
    SELECT b.batch_id, b.fixmedins_code
      FROM batches b
     WHERE b.period = $3 AND b.received_at <= $4
       AND NOT EXISTS (SELECT 1 FROM batches n WHERE n.replaces_batch_id = b.batch_id AND n.received_at <= $4)
       AND (b.fixmedins_code LIKE 'H' || $2::text
         OR EXISTS (SELECT 1 FROM batch_items i JOIN settlement_records x ON x.setl_id = i.setl_id
                     WHERE i.batch_id = b.batch_id AND x.insuplc_admdvs LIKE $2 AND x.received_at <= $4))
  ),
  declared AS (
    SELECT b.fixmedins_code, count(i.setl_id) AS cnt, coalesce(sum(i.hifob_pay), 0) AS hifob
      FROM current_batches b LEFT JOIN batch_items i ON i.batch_id = b.batch_id
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

/**
 * Insurer rows. planned: the latest revision of the (insurer, period) plan known at as_of. paid: the
 * insurer's payment lines whose payment's pay_time falls in the period (spec §4: "a period's payments
 * are those whose pay_time falls in that month") and whose setl_id names a settlement of the region
 * (of any settlement month: April's payments settle March's claims). Lines naming a setl_id the
 * agency never recorded cannot be attributed to a region and are left out. Gross of recoveries.
 * disbursed: Σ disbursements (insurer, period). Insurers listed: those owing settlements of the
 * region-period, and those of the region with a plan, payment or disbursement in the period.
 * (Those owing settlements of the region-period are found by walking the (institution, insurer)
 * pairs, INSTITUTION_INSURER_PAIRS, not by reading the region's whole history.)
 */
const INSERT_INSURERS = `
  WITH RECURSIVE ${INSTITUTION_INSURER_PAIRS},
  period_insurers AS (
    SELECT DISTINCT p.i AS insurer_code FROM pairs p
     WHERE EXISTS (SELECT 1 FROM settlement_records s WHERE s.fixmedins_code = p.f AND s.insurer_code = p.i AND s.period = $3
                     AND s.insuplc_admdvs LIKE $2 AND s.received_at <= $4)
  ),
  plan AS (
    SELECT DISTINCT ON (insurer_code) insurer_code, revision, message_id, planned_amount
      FROM spending_plans WHERE period = $3 AND received_at <= $4
     ORDER BY insurer_code, revision DESC
  ),
  paid AS (
    SELECT l.insurer_code, sum(l.paid_amount) AS paid, count(DISTINCT l.payment_id) AS payments
      FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
     WHERE p.pay_time >= $5 AND p.pay_time < $6 AND p.pay_time <= $4 AND p.received_at <= $4
       AND EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = l.setl_id AND s.insuplc_admdvs LIKE $2 AND s.received_at <= $4)
     GROUP BY l.insurer_code
  ),
  disb AS (
    SELECT insurer_code, sum(amount) AS disbursed,
           jsonb_agg(jsonb_build_object('disbursement_id', disbursement_id, 'message_id', message_id, 'amount', amount::text) ORDER BY disbursement_id) AS list
      FROM disbursements WHERE period = $3 AND received_at <= $4 AND disbursed_at <= $4
     GROUP BY insurer_code
  )
  INSERT INTO reconciliation_insurers (run_id, insurer_code, plan_revision, plan_message_id, planned, paid, payments_count, disbursed, disbursements)
  SELECT $1, i.insurer_code, pl.revision, pl.message_id, coalesce(pl.planned_amount, 0), coalesce(pd.paid, 0), coalesce(pd.payments, 0),
         coalesce(d.disbursed, 0), coalesce(d.list, '[]'::jsonb)
    FROM (SELECT insurer_code FROM period_insurers UNION SELECT insurer_code FROM plan UNION SELECT insurer_code FROM paid UNION SELECT insurer_code FROM disb) i
    LEFT JOIN plan pl USING (insurer_code) LEFT JOIN paid pd USING (insurer_code) LEFT JOIN disb d USING (insurer_code)
   -- Of the region: the scan runs only for an insurer with no settlement in the region-period (rare).
   WHERE i.insurer_code IN (SELECT insurer_code FROM period_insurers)
      OR EXISTS (SELECT 1 FROM settlement_records s WHERE s.insurer_code = i.insurer_code AND s.insuplc_admdvs LIKE $2 AND s.received_at <= $4)`;

/**
 * Replaces the stored report rows of a run (a retried run recomputes them whole). `from` forces one of
 * the two ways to the institution figures (owed-sql.ts; the tests compare them); by default the loop
 * rows unless more than RECOMPUTE_MAX settlements have to be recomputed.
 */
export async function computeReport(q: Sql, runId: string, admdvs: string, period: string, asOf: Date, from?: 'loops' | 'facts'): Promise<void> {
  // The month's settlements and their loop rows meet in one hash join: in memory, not in batches on
  // disk. No JIT: compiling these statements took seconds (6.6 s at 100k) for statements that run in
  // less. Both transaction-scoped: the caller's transaction.
  await q.query(`SET LOCAL work_mem = '128MB'`);
  await q.query('SET LOCAL jit = off');
  await q.query('DELETE FROM reconciliation_institutions WHERE run_id = $1', [runId]);
  await q.query('DELETE FROM reconciliation_insurers WHERE run_id = $1', [runId]);
  const base = [runId, `${admdvs}%`, period, asOf];
  // The loop rows, unless many settlements have facts they cannot count at as_of (a run as of a past
  // time): then the month is computed from the facts in one set-based pass (owed-sql.ts).
  const unsettledIds = await q.query<{ setl_id: string }>(`WITH ${unsettled('$1')} SELECT setl_id FROM unsettled LIMIT $2`, [asOf, from === 'loops' ? null : RECOMPUTE_MAX + 1]);
  if (from === 'facts' || (from === undefined && unsettledIds.rows.length > RECOMPUTE_MAX)) {
    await q.query(insertInstitutions(OWED_FROM_FACTS), base);
  } else {
    const month = [`${admdvs}%`, period, asOf];
    const redo = unsettledIds.rows.map((r) => r.setl_id);
    const sums = await q.query<LoopSumRow>(LOOP_SUMS, [...month, redo]);
    for (const r of (await q.query<{ setl_id: string }>(REVERSED_LOOPS, month.slice(0, 2))).rows) redo.push(r.setl_id);
    if (sums.rows.some((r) => Number(r.missing) > 0)) for (const r of (await q.query<{ setl_id: string }>(MISSING_LOOPS, month)).rows) redo.push(r.setl_id);
    await q.query(insertInstitutions(OWED_FROM_LOOPS), [...base, JSON.stringify(sums.rows), [...new Set(redo)]]);
  }
  await q.query(INSERT_INSURERS, [...base, periodStart(period), periodEnd(period)]);
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
