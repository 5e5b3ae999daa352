/**
 * The reconciliation report's figures of a region-period, computed in SQL over the ledger (spec: joins
 * and aggregates, never a round trip per settlement): one row per institution and one per insurer,
 * which the reconciliation run stores. The two clocks of spec §5, kept apart: a fact counts only if
 * the gateway had received it by `known_at` (received_at ≤ known_at: a run with an earlier known_at
 * reproduces an earlier report exactly), and an event only if it had happened by `as_of` (pay_time,
 * recovered_at, disbursed_at ≤ as_of). A month loaded today for a past period therefore reports in
 * full as of any time after its events.
 *
 * Parameters throughout: $1 admdvs LIKE pattern ('5331%'), $2 period, $3 known_at, $4 as_of.
 */
import type { Sql } from '../db/db';
import { periodEnd, periodStart } from '../time';
import {
  arrearsByDueKey,
  owedByInstitutionCtes,
  type ArrearsKeyRow,
  type MonthLoopSums,
  type OwedQuery,
} from './owed-read-model';
import { INSTITUTION_INSURER_PAIRS } from './sweep-read-model';

/**
 * Current declarations: batches of the period received by known_at that no batch received by then replaces.
 * A batch belongs to the region when one of its items names a settlement of the region, or when its
 * institution's code carries a county code of the region (H + 6 digits), as fallbackAdmdvs reads it.
 */
const DECLARED = `
  current_batches AS (
    SELECT b.batch_id, b.fixmedins_code
      FROM batches b
     WHERE b.period = $2 AND b.received_at <= $3
       AND NOT EXISTS (SELECT 1 FROM batches n WHERE n.fixmedins_code = b.fixmedins_code AND n.replaces_batch_id = b.batch_id AND n.received_at <= $3)
       AND (b.fixmedins_code LIKE 'H' || $1::text
         OR EXISTS (SELECT 1 FROM batch_items i JOIN settlement_records x ON x.setl_id = i.setl_id
                     WHERE i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id AND x.insuplc_admdvs LIKE $1 AND x.received_at <= $3))
  ),
  declared AS (
    SELECT b.fixmedins_code, count(i.setl_id) AS cnt, coalesce(sum(i.hifob_pay), 0) AS hifob
      FROM current_batches b LEFT JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id
     GROUP BY b.fixmedins_code
  )`;

/** An institution's row of the report (amounts as numeric strings). */
export interface InstitutionFigures {
  fixmedins_code: string;
  declared_cnt: number;
  declared_hifob: string;
  recorded_cnt: number;
  recorded_hifob: string;
  recorded_direct_cnt: number;
  recorded_direct_hifob: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  balanced: boolean;
}

/**
 * `balanced` is the 3201 check: the institution's declaration (count and hifob_pay total) equals the
 * agency's direct settlements. Manual claims (零星报销) are the person's, never declared by the
 * institution, so they count in recorded_* but not in the balance (recorded_direct_* shows the base).
 */
const institutions = (owed: string) => `
  WITH ${owed}, ${DECLARED}
  SELECT coalesce(r.fixmedins_code, d.fixmedins_code) AS fixmedins_code, coalesce(d.cnt, 0)::int AS declared_cnt, coalesce(d.hifob, 0)::text AS declared_hifob,
         coalesce(r.cnt, 0)::int AS recorded_cnt, coalesce(r.hifob, 0)::text AS recorded_hifob,
         coalesce(r.direct_cnt, 0)::int AS recorded_direct_cnt, coalesce(r.direct_hifob, 0)::text AS recorded_direct_hifob,
         coalesce(r.paid, 0)::text AS paid, coalesce(r.rejected, 0)::text AS rejected, coalesce(r.recovered, 0)::text AS recovered,
         coalesce(r.outstanding, 0)::text AS outstanding,
         coalesce(d.cnt, 0) = coalesce(r.direct_cnt, 0) AND coalesce(d.hifob, 0) = coalesce(r.direct_hifob, 0) AS balanced
    FROM recorded r FULL JOIN declared d ON d.fixmedins_code = r.fixmedins_code`;

/**
 * The institution rows (owed-read-model.ts for the recorded part; `from` forces the loop rows or the
 * facts, see there). `unmatchedMessageIds`: the messages matching has not applied yet. In the
 * caller's transaction.
 */
export async function institutionFigures(
  q: Sql,
  o: OwedQuery,
  unmatchedMessageIds: readonly string[],
  from?: 'loops' | 'facts',
): Promise<InstitutionFigures[]> {
  return (await institutionFiguresAndArrears(q, o, unmatchedMessageIds, from, false)).institutions;
}

/**
 * The institution rows and, taken the same way from the same settlements, their arrears by due-date
 * key (owed-read-model.ts `arrearsByDueKey`: what the run ages, spec §10). `before`: what the run's
 * sweep summed of the month before it ran (matching/sweep.ts sweepForRun).
 */
export async function institutionFiguresAndArrears(
  q: Sql,
  o: OwedQuery,
  unmatchedMessageIds: readonly string[],
  from?: 'loops' | 'facts',
  withArrears = true,
  before?: { sums: MonthLoopSums; swept: readonly string[] },
): Promise<{ institutions: InstitutionFigures[]; arrears: ArrearsKeyRow[] }> {
  const owed = await owedByInstitutionCtes(q, o, unmatchedMessageIds, from, before);
  const institutionRows = (await q.query<InstitutionFigures>(institutions(owed.ctes), owed.params)).rows;
  return { institutions: institutionRows, arrears: withArrears ? await arrearsByDueKey(q, owed) : [] };
}

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
    EXISTS (SELECT 1 FROM settlement_records s WHERE s.insurer_code = ${ins} AND s.insuplc_admdvs LIKE ${r} || '%' AND s.received_at <= $3)
    OR EXISTS (SELECT 1 FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
                 JOIN settlement_records s ON s.setl_id = l.setl_id
                WHERE l.insurer_code = ${ins} AND p.pay_time >= $5 AND p.pay_time < $6 AND p.pay_time <= $4 AND p.received_at <= $3
                  AND s.insuplc_admdvs LIKE ${r} || '%' AND s.received_at <= $3)
    OR EXISTS (SELECT 1 FROM latest_plan lp WHERE lp.insurer_code = ${ins} AND lp.admdvs IS NOT NULL AND ${overlap('lp.admdvs', r)}))`;

/** The latest spending plan of each insurer for the period ($2), received by known_at ($3). */
const LATEST_PLAN = `latest_plan AS MATERIALIZED (
    SELECT DISTINCT ON (insurer_code) insurer_code, revision, message_id, planned_amount, admdvs
      FROM spending_plans WHERE period = $2 AND received_at <= $3
     ORDER BY insurer_code, revision DESC
  ),`;

/**
 * The disbursements of the period attributed to the region (its $7): by the admdvs they name, or — sent
 * before migration 090 recorded none — by the sender's scope and the insurer's presence in the region.
 * One rule for the report (INSURERS) and the fund-year statement (disbursedByInsurer).
 */
const DISBURSED = `disb AS (
    SELECT d.insurer_code, sum(d.amount) AS disbursed,
           jsonb_agg(jsonb_build_object('disbursement_id', d.disbursement_id, 'message_id', d.message_id, 'amount', d.amount::text) ORDER BY d.disbursement_id) AS list
      FROM disbursements d
     WHERE d.period = $2 AND d.received_at <= $3 AND d.disbursed_at <= $4
       AND CASE WHEN d.admdvs IS NOT NULL THEN ${overlap('d.admdvs', '$7')}
           -- before migration 090 the sender's scope was not recorded: read as this region
           ELSE EXISTS (SELECT 1 FROM unnest(coalesce(d.sender_scope, ARRAY[$7::text])) AS sc(s)
                         WHERE ${overlap('sc.s', '$7')} AND ${presentIn('d.insurer_code', meet('sc.s', '$7'))}) END
     GROUP BY d.insurer_code
  )`;

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
 * Parameters: $1 admdvs LIKE pattern, $2 period, $3 known_at, $4 as_of, $5–$6 the period's bounds,
 * $7 the admdvs prefix.
 */
const INSURERS = `
  WITH RECURSIVE ${INSTITUTION_INSURER_PAIRS},
  period_insurers AS (
    SELECT DISTINCT p.i AS insurer_code FROM pairs p
     WHERE EXISTS (SELECT 1 FROM settlement_records s WHERE s.fixmedins_code = p.f AND s.insurer_code = p.i AND s.period = $2
                     AND s.insuplc_admdvs LIKE $1 AND s.received_at <= $3)
  ),
  paid AS (
    SELECT l.insurer_code, sum(l.paid_amount) AS paid, count(DISTINCT l.payment_id) AS payments
      FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
     WHERE p.pay_time >= $5 AND p.pay_time < $6 AND p.pay_time <= $4 AND p.received_at <= $3
       AND EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = l.setl_id AND s.insuplc_admdvs LIKE $1 AND s.received_at <= $3)
     GROUP BY l.insurer_code
  ),
  ${LATEST_PLAN}
  plan AS (
    SELECT pl.* FROM latest_plan pl
     WHERE CASE WHEN pl.admdvs IS NOT NULL THEN ${overlap('pl.admdvs', '$7')}
           ELSE pl.insurer_code IN (SELECT insurer_code FROM period_insurers) OR pl.insurer_code IN (SELECT insurer_code FROM paid)
                OR ${presentIn('pl.insurer_code', '$7')} END
  ),
  ${DISBURSED}
  SELECT i.insurer_code, pl.revision AS plan_revision, pl.message_id AS plan_message_id, coalesce(pl.planned_amount, 0)::text AS planned,
         coalesce(pd.paid, 0)::text AS paid, coalesce(pd.payments, 0)::int AS payments_count,
         coalesce(d.disbursed, 0)::text AS disbursed, coalesce(d.list, '[]'::jsonb) AS disbursements
    FROM (SELECT insurer_code FROM period_insurers UNION SELECT insurer_code FROM plan UNION SELECT insurer_code FROM paid UNION SELECT insurer_code FROM disb) i
    LEFT JOIN plan pl USING (insurer_code) LEFT JOIN paid pd USING (insurer_code) LEFT JOIN disb d USING (insurer_code)`;

/** An insurer's row of the report (amounts as numeric strings; disbursements: the evidence list). */
export interface InsurerFigures {
  insurer_code: string;
  plan_revision: number | null;
  plan_message_id: string | null;
  planned: string;
  paid: string;
  payments_count: number;
  disbursed: string;
  disbursements: unknown;
}

/** The insurer rows of the region-period. */
export async function insurerFigures(q: Sql, o: OwedQuery): Promise<InsurerFigures[]> {
  const { rows } = await q.query<InsurerFigures>(INSURERS, [
    `${o.admdvs}%`,
    o.period,
    o.knownAt,
    o.asOf,
    periodStart(o.period),
    periodEnd(o.period),
    o.admdvs,
  ]);
  return rows;
}

/** The disbursements of the region-period (DISBURSED, as the report attributes them): each insurer's list. */
export async function disbursedByInsurer(
  q: Sql,
  o: OwedQuery,
): Promise<{ insurer_code: string; disbursements: unknown }[]> {
  const { rows } = await q.query<{ insurer_code: string; disbursements: unknown }>(
    // $1 (the LIKE pattern) is the report's; typed here so that the parameters stay the same.
    `WITH args AS (SELECT $1::text AS pattern), ${LATEST_PLAN} ${DISBURSED} SELECT insurer_code, list AS disbursements FROM disb`,
    [`${o.admdvs}%`, o.period, o.knownAt, o.asOf, periodStart(o.period), periodEnd(o.period), o.admdvs],
  );
  return rows;
}
