/**
 * The matching sweep's selection of one region-period as of a time (src/matching/sweep.ts says why
 * these and no others): settlements due a re-evaluation, settlements a message matching has not
 * applied yet can change (the rule of fact-loader.ts), references to a still-unknown setl_id
 * (grace expiries), and the institution-periods whose DECLARATION_MISSING can be open.
 */
import type { Sql } from '../db/db';
import { periodEnd, periodStart } from '../time';
import { monthWithLoops, type MonthLoopSums } from './owed-read-model';
import {
  CURRENT_BATCH,
  PENDING_BATCHES,
  SETTLEMENTS_OF_PENDING,
  pendingFrom,
  type InstitutionPeriod,
} from './fact-loader';

/**
 * Region of a reference without a settlement, in SQL: the county code inside an `H` + 6-digit
 * fixmedins_code (as fallbackAdmdvs does); a reference with no such code has no region and is swept
 * with every region (its findings are filed under UNKNOWN_ADMDVS).
 */
const inRegion = (col: string, param: string) =>
  `(${col} !~ '^H[0-9]{6}' OR substr(${col}, 2, 6) LIKE ${param} || '%')`;

// The selection is three plain SELECTs (no CTE around the month's rows, so that PostgreSQL can scan
// and hash-join the month in parallel). Parameters: $1 admdvs prefix, $2 period, $3 as_of;
// UNMATCHED_IN_MONTH: $3 the unmatched message ids; UNKNOWN_REFERENCES: $3–$4 the period's bounds.

/** Never evaluated, evaluated as of a later time, or a check point passed. */
const DUE_SETTLEMENTS = `
  SELECT s.setl_id FROM settlement_records s
    -- The loop rows of the region-period only (a loop row copies its settlement's region and period;
    -- one that differs reads as missing and is re-evaluated): the month, not the history.
    LEFT JOIN settlement_loops l ON l.setl_id = s.setl_id AND l.admdvs LIKE $1 || '%' AND l.period = $2
   WHERE s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2 AND (l.setl_id IS NULL OR l.evaluated_at > $3 OR l.next_check_at <= $3)`;

/** A fact not yet applied by matching (a few rows, by key). */
const UNMATCHED_IN_MONTH = `
  WITH ${pendingFrom('$3')}, ${PENDING_BATCHES}
  SELECT s.setl_id FROM settlement_records s WHERE s.setl_id IN (${SETTLEMENTS_OF_PENDING}) AND s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2`;

/**
 * setl_ids the agency has recorded: those with a loop row of the region-period (a loop row is only
 * written for a recorded settlement, and records are never deleted). One hash (a hashed NOT IN),
 * whatever the planner guesses of the batches; from the loop rows rather than the settlement records,
 * a third of their size (no JSON).
 */
const MONTH_IDS = `SELECT m.setl_id FROM settlement_loops m WHERE m.admdvs LIKE $1 || '%' AND m.period = $2`;

/**
 * Payment lines paid in the period and items of the period's current batches naming a setl_id the
 * agency has not recorded. Looked up first among the month's loop rows (MONTH_IDS), and only the
 * rest in the whole ledger (a settlement without a loop row yet is found there).
 */
const UNKNOWN_REFERENCES = `
  SELECT l.setl_id FROM payment_lines l JOIN payments p USING (insurer_code, payment_id)
   WHERE p.pay_time >= $3 AND p.pay_time < $4 AND l.setl_id NOT IN (${MONTH_IDS})
     AND NOT EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = l.setl_id)
     AND (p.payee_type = 'person' OR ${inRegion('p.payee_id', '$1')})
  UNION
  SELECT i.setl_id FROM batch_items i JOIN batches b USING (fixmedins_code, batch_id)
   WHERE b.period = $2 AND ${CURRENT_BATCH} AND ${inRegion('b.fixmedins_code', '$1')} AND i.setl_id NOT IN (${MONTH_IDS})
     AND NOT EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = i.setl_id)`;

/**
 * A recursive CTE `pairs (f, i)`: the distinct (fixmedins_code, insurer_code) of the ledger, walked on
 * the index settlement_records_inst_period_admdvs (one probe per pair: hundreds, where a scan of a month's
 * settlements reads a million rows). Needs `WITH RECURSIVE`. For the ledger's read models.
 */
export const INSTITUTION_INSURER_PAIRS = `pairs AS (
    (SELECT fixmedins_code AS f, insurer_code AS i FROM settlement_records ORDER BY fixmedins_code, insurer_code LIMIT 1)
    UNION ALL
    SELECT n.f, n.i FROM pairs p CROSS JOIN LATERAL (
      SELECT s.fixmedins_code AS f, s.insurer_code AS i FROM settlement_records s
       WHERE (s.fixmedins_code, s.insurer_code) > (p.f, p.i) ORDER BY s.fixmedins_code, s.insurer_code LIMIT 1) n
  )`;

/**
 * Institution-periods of the region-period with owed direct settlements and no current batch (a key
 * with a current batch evaluates to "nothing found", which changes nothing unless a case is open:
 * the caller adds those).
 */
const SELECT_UNDECLARED = `
  WITH RECURSIVE ${INSTITUTION_INSURER_PAIRS},
  -- the cheap test first: an institution-period without owed direct settlements reads all of its rows
  undeclared AS MATERIALIZED (
    SELECT p.f, p.i FROM pairs p
     WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.fixmedins_code = p.f AND b.insurer_code = p.i AND b.period = $2 AND ${CURRENT_BATCH})
  )
  SELECT p.f AS fixmedins_code, p.i AS insurer_code, $2 AS period FROM undeclared p
   WHERE EXISTS (SELECT 1 FROM settlement_records s WHERE s.fixmedins_code = p.f AND s.insurer_code = p.i AND s.period = $2
                   AND s.insuplc_admdvs LIKE $1 || '%' AND s.status = 'valid' AND s.setl_mode = 'direct' AND s.hifob_pay > 0)`;

/**
 * The setl_ids of the region-period (admdvs prefix) whose evaluation can differ as of `asOf`, given
 * the messages matching has not applied yet. In the caller's transaction: the month is hash-joined
 * with its loop rows and its references in memory, not in batches on disk, and without JIT
 * (compiling costs more than running these).
 */
export async function sweepSettlementIds(
  q: Sql,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
  unmatchedMessageIds: readonly string[],
): Promise<string[]> {
  return (await sweepSelection(q, admdvsPrefix, period, asOf, unmatchedMessageIds)).ids;
}

/**
 * sweepSettlementIds, and for a run (`knownAt`: the report's knowledge cut-off) the month's loop sums
 * taken in the same pass over the month with its loop rows (owed-read-model.ts monthWithLoops: the
 * settlements due a re-evaluation and the sums of the others, which the sweep leaves as they are).
 * The caller's transaction must then be REPEATABLE READ (see there).
 */
export async function sweepSelection(
  q: Sql,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
  unmatchedMessageIds: readonly string[],
  knownAt?: Date,
): Promise<{ ids: string[]; month: MonthLoopSums | null }> {
  await q.query(`SET LOCAL work_mem = '128MB'`);
  await q.query('SET LOCAL jit = off');
  const rowsOf = async (sql: string, params: unknown[]) =>
    (await q.query<{ setl_id: string }>(sql, params)).rows.map((r) => r.setl_id);
  const unmatched = unmatchedMessageIds.length
    ? await rowsOf(UNMATCHED_IN_MONTH, [admdvsPrefix, period, unmatchedMessageIds])
    : [];
  let due: string[];
  let month: MonthLoopSums | null = null;
  const dueSettlements = () => rowsOf(DUE_SETTLEMENTS, [admdvsPrefix, period, asOf]);
  if (knownAt) {
    const o = { admdvs: admdvsPrefix, period, knownAt, asOf };
    ({ due, sums: month } = await monthWithLoops(q, o, unmatchedMessageIds, unmatched, dueSettlements));
  } else due = await dueSettlements();
  // Serial: in parallel each process builds the hashed NOT IN again (three hashes of the month on two
  // cores; at 1M, under load, 6.5 s parallel against 3.7 s serial).
  await q.query('SET LOCAL max_parallel_workers_per_gather = 0');
  const unknown = await rowsOf(UNKNOWN_REFERENCES, [admdvsPrefix, period, periodStart(period), periodEnd(period)]);
  return { ids: [...new Set([...due, ...unmatched, ...unknown])], month };
}

/** Institution-periods of the region-period (admdvs prefix) owing direct settlements without a current batch. */
export async function undeclaredInstitutionPeriods(
  q: Sql,
  admdvsPrefix: string,
  period: string,
): Promise<InstitutionPeriod[]> {
  return (await q.query<InstitutionPeriod>(SELECT_UNDECLARED, [admdvsPrefix, period])).rows;
}
