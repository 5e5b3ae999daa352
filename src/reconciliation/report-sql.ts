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

/**
 * Owed settlements (spec §4: valid with hifob_pay > 0) of the region-period, and what the owing
 * insurer paid and rejected to the right payee (direct → the institution, manual → the person), and
 * recovered. Lines from another insurer or to another payee do not reduce what is owed (they are
 * INSURER_MISMATCH / PAYEE_MISMATCH cases of the matching module).
 */
const OWED = `
  owed AS (
    SELECT v.setl_id, v.fixmedins_code, v.insurer_code, v.setl_mode, v.psn_no, v.hifob_pay
      FROM settlement_records v
     WHERE v.status = 'valid' AND v.insuplc_admdvs LIKE $2 AND v.period = $3 AND v.hifob_pay > 0 AND v.received_at <= $4
       AND NOT EXISTS (SELECT 1 FROM settlement_records r WHERE r.setl_id = v.setl_id AND r.status = 'reversed' AND r.received_at <= $4)
  ),
  -- The lines naming an owed settlement first (setl_id is selective), then their payments by key.
  -- Materialized on purpose: the planner cannot estimate the payee test below (no statistics for
  -- it), and left free it joins payments × owed on insurer_code first — every settlement of an
  -- institution times every payment to it, minutes at 1M settlements (bench/RESULTS.md).
  owed_lines AS MATERIALIZED (
    SELECT o.setl_id, o.setl_mode, o.fixmedins_code, o.psn_no, l.insurer_code, l.payment_id, l.paid_amount, l.rejected_amount, l.reject_reason_code
      FROM owed o JOIN payment_lines l ON l.setl_id = o.setl_id AND l.insurer_code = o.insurer_code
  ),
  line_sums AS (
    SELECT o.setl_id, sum(o.paid_amount) AS paid,
           sum(CASE WHEN o.reject_reason_code IS NOT NULL AND o.reject_reason_code <> '' THEN o.rejected_amount ELSE 0 END) AS rejected
      FROM owed_lines o
      JOIN payments p ON p.insurer_code = o.insurer_code AND p.payment_id = o.payment_id
     WHERE p.pay_time <= $4 AND p.received_at <= $4
       -- The right payee (direct → the institution, manual → the person) as equalities, not an OR
       -- of two cases, which PostgreSQL estimates at 1% and plans around. setl_mode is direct or
       -- manual (CHECK), so both forms select the same lines.
       AND p.payee_type = CASE o.setl_mode WHEN 'direct' THEN 'institution' ELSE 'person' END
       AND p.payee_id = CASE o.setl_mode WHEN 'direct' THEN o.fixmedins_code ELSE o.psn_no END
     GROUP BY o.setl_id
  ),
  recovery_sums AS (
    SELECT o.setl_id, sum(r.amount) AS recovered
      FROM owed o JOIN recoveries r ON r.setl_id = o.setl_id AND r.insurer_code = o.insurer_code
     WHERE r.recovered_at <= $4 AND r.received_at <= $4
     GROUP BY o.setl_id
  ),
  per_settlement AS (
    SELECT o.*, coalesce(l.paid, 0) AS paid, coalesce(l.rejected, 0) AS rejected, coalesce(r.recovered, 0) AS recovered
      FROM owed o LEFT JOIN line_sums l USING (setl_id) LEFT JOIN recovery_sums r USING (setl_id)
  ),
  recorded AS (
    SELECT fixmedins_code, count(*) AS cnt, sum(hifob_pay) AS hifob,
           count(*) FILTER (WHERE setl_mode = 'direct') AS direct_cnt, coalesce(sum(hifob_pay) FILTER (WHERE setl_mode = 'direct'), 0) AS direct_hifob,
           sum(paid) AS paid, sum(rejected) AS rejected, sum(recovered) AS recovered,
           sum(greatest(hifob_pay - paid - rejected, 0)) AS outstanding
      FROM per_settlement GROUP BY fixmedins_code
  )`;

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
const INSERT_INSTITUTIONS = `
  WITH ${OWED}, ${DECLARED}
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
 */
const INSERT_INSURERS = `
  WITH region_insurers AS (
    SELECT DISTINCT insurer_code FROM settlement_records WHERE insuplc_admdvs LIKE $2 AND received_at <= $4
  ),
  period_insurers AS (
    SELECT DISTINCT insurer_code FROM settlement_records WHERE insuplc_admdvs LIKE $2 AND period = $3 AND received_at <= $4
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
    FROM region_insurers i
    LEFT JOIN plan pl USING (insurer_code) LEFT JOIN paid pd USING (insurer_code) LEFT JOIN disb d USING (insurer_code)
   WHERE i.insurer_code IN (SELECT insurer_code FROM period_insurers)
      OR pl.insurer_code IS NOT NULL OR pd.insurer_code IS NOT NULL OR d.insurer_code IS NOT NULL`;

/** Replaces the stored report rows of a run (a retried run recomputes them whole). */
export async function computeReport(q: Sql, runId: string, admdvs: string, period: string, asOf: Date): Promise<void> {
  await q.query('DELETE FROM reconciliation_institutions WHERE run_id = $1', [runId]);
  await q.query('DELETE FROM reconciliation_insurers WHERE run_id = $1', [runId]);
  const base = [runId, `${admdvs}%`, period, asOf];
  await q.query(INSERT_INSTITUTIONS, base);
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
