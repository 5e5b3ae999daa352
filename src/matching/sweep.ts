/**
 * The sweep of one region-period as of a time (spec §4: deadlines are judged "as of" any time): the
 * safety net under the best-effort re-check jobs, and what nightly reconciliation runs call. It
 * re-evaluates the settlements of the region-period whose result can differ as of `asOf`, every
 * reference to a still-unknown setl_id of that period (grace expiries), and DECLARATION_MISSING of
 * every institution-period concerned.
 *
 * A settlement's evaluation is a function of its facts and of asOf, and constant in asOf between its
 * check points (due-date lapses, grace expiries: settlement_loops.next_check_at). So one already
 * evaluated at or before asOf, with no check point in between and no fact it has not seen, is left as
 * it is — at a million settlements that is most of them, and the sweep's cost follows what changed.
 *
 * Which facts an evaluation has not seen is asked of the message log, set-based: the ingest worker
 * marks a message `processed` only after its matching handler (register.ts, applyMessage) has
 * re-evaluated every settlement the message can change (affected.ts), each evaluation reading the
 * facts after they were committed. So every fact of a processed message is reflected in the
 * evaluations of the settlements it concerns, and the facts not yet reflected are among those of the
 * messages not processed (accepted, processing, failed: a few, found by a partial index, migration
 * 080). Every path into the ledger goes through a message row written in the same transaction as its
 * facts (message-store.ts, the streamed feed and the agency pull: settlement-feed.ts; the CLI import
 * posts to the feed), and facts are never changed afterwards. UNMATCHED_SETTLEMENTS below mirrors
 * affected.ts for those messages. (This replaces six correlated EXISTS per settlement comparing each
 * fact's received_at with settlement_loops.facts_seen_at: 10.5 s at 100k settlements selecting none.)
 */
import type { Gateway } from '../composition-root';
import type { Db } from '../db/db';
import { periodEnd, periodStart } from '../time';
import { CURRENT_BATCH } from '../ledger/fact-loader';
import { reevaluate } from './apply';
import { reevaluateDeclarations, type DeclarationKey } from './declarations';

type SweepGateway = Pick<Gateway, 'db' | 'regions' | 'calendar' | 'log'>;

/**
 * Region of a reference without a settlement, in SQL: the county code inside an `H` + 6-digit
 * fixmedins_code (as fallbackAdmdvs does); a reference with no such code has no region and is swept
 * with every region (its findings are filed under UNKNOWN_ADMDVS).
 */
const inRegion = (col: string, param: string) => `(${col} !~ '^H[0-9]{6}' OR substr(${col}, 2, 6) LIKE ${param} || '%')`;

/** Messages whose facts matching may not have applied yet (see the header): the partial index of migration 080. */
export const UNMATCHED_MESSAGES = `SELECT message_id FROM messages WHERE status <> 'processed'`;

/**
 * The setl_ids whose evaluation a fact of an unmatched message can change: what affectedBy
 * (affected.ts) returns for those messages — the records and every settlement of the same visit; the
 * lines of payments; recoveries; a batch's items, the items of the batch it replaces, and every
 * settlement of the institution-periods of both. Expects CTEs `pending (message_id)` and
 * PENDING_BATCHES.
 */
const UNMATCHED_SETTLEMENTS = `
  SELECT s2.setl_id FROM pending m JOIN settlement_records s1 ON s1.message_id = m.message_id JOIN settlement_records s2 ON s2.mdtrt_id = s1.mdtrt_id
  UNION ALL
  SELECT l.setl_id FROM pending m JOIN payments p ON p.message_id = m.message_id JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id
  UNION ALL
  SELECT r.setl_id FROM pending m JOIN recoveries r ON r.message_id = m.message_id
  UNION ALL
  SELECT i.setl_id FROM pending_batches b JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id
  UNION ALL
  SELECT s.setl_id FROM pending_batches b
    JOIN settlement_records s ON s.fixmedins_code = b.fixmedins_code AND s.insurer_code = b.insurer_code AND s.period = b.period`;

/** The batches of unmatched messages and the batches they replace (a CTE, so their few rows drive the joins). */
const PENDING_BATCHES = `
  pending_batches AS MATERIALIZED (
    SELECT b.batch_id, b.fixmedins_code, b.insurer_code, b.period FROM pending m JOIN batches b ON b.message_id = m.message_id
    UNION
    SELECT rb.batch_id, rb.fixmedins_code, rb.insurer_code, rb.period
      FROM pending m JOIN batches b ON b.message_id = m.message_id JOIN batches rb ON rb.fixmedins_code = b.fixmedins_code AND rb.batch_id = b.replaces_batch_id
  )`;

// The selection is three plain SELECTs (no CTE around the month's rows, so that PostgreSQL can scan
// and hash-join the month in parallel). Parameters: $1 admdvs prefix, $2 period, $3 as_of;
// UNKNOWN_REFERENCES: $3–$4 the period's bounds.

/** Never evaluated, evaluated as of a later time, or a check point passed. */
const DUE_SETTLEMENTS = `
  SELECT s.setl_id FROM settlement_records s
    -- The loop rows of the region-period only (a loop row copies its settlement's region and period;
    -- one that differs reads as missing and is re-evaluated): the month, not the history.
    LEFT JOIN settlement_loops l ON l.setl_id = s.setl_id AND l.admdvs LIKE $1 || '%' AND l.period = $2
   WHERE s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2 AND (l.setl_id IS NULL OR l.evaluated_at > $3 OR l.next_check_at <= $3)`;

/** A fact not yet applied by matching (a few rows, by key). */
const UNMATCHED_IN_MONTH = `
  WITH pending AS MATERIALIZED (${UNMATCHED_MESSAGES}), ${PENDING_BATCHES}
  SELECT s.setl_id FROM settlement_records s WHERE s.setl_id IN (${UNMATCHED_SETTLEMENTS}) AND s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2`;

/** The month's setl_ids: one hash (a hashed NOT IN), whatever the planner guesses of the batches. */
const MONTH_IDS = `SELECT m.setl_id FROM settlement_records m WHERE m.insuplc_admdvs LIKE $1 || '%' AND m.period = $2`;

/**
 * Payment lines paid in the period and items of the period's current batches naming a setl_id the
 * agency has not recorded. Looked up first among the month's settlements (MONTH_IDS), and only the
 * rest in the whole ledger.
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
 * the index settlement_records_inst_period (one probe per pair: hundreds, where a scan of a month's
 * settlements reads a million rows). Needs `WITH RECURSIVE`.
 */
export const INSTITUTION_INSURER_PAIRS = `pairs AS (
    (SELECT fixmedins_code AS f, insurer_code AS i FROM settlement_records ORDER BY fixmedins_code, insurer_code LIMIT 1)
    UNION ALL
    SELECT n.f, n.i FROM pairs p CROSS JOIN LATERAL (
      SELECT s.fixmedins_code AS f, s.insurer_code AS i FROM settlement_records s
       WHERE (s.fixmedins_code, s.insurer_code) > (p.f, p.i) ORDER BY s.fixmedins_code, s.insurer_code LIMIT 1) n
  )`;

/**
 * Institution-periods whose DECLARATION_MISSING can be open as of any time: owed direct settlements
 * of the region-period and no current batch (a key with a current batch evaluates to "nothing
 * found", which changes nothing unless a case is open: the second part).
 */
const SELECT_DECLARATIONS = `
  WITH RECURSIVE ${INSTITUTION_INSURER_PAIRS},
  -- the cheap test first: an institution-period without owed direct settlements reads all of its rows
  undeclared AS MATERIALIZED (
    SELECT p.f, p.i FROM pairs p
     WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.fixmedins_code = p.f AND b.insurer_code = p.i AND b.period = $2 AND ${CURRENT_BATCH})
  )
  SELECT p.f AS fixmedins_code, p.i AS insurer_code, $2 AS period FROM undeclared p
   WHERE EXISTS (SELECT 1 FROM settlement_records s WHERE s.fixmedins_code = p.f AND s.insurer_code = p.i AND s.period = $2
                   AND s.insuplc_admdvs LIKE $1 || '%' AND s.status = 'valid' AND s.setl_mode = 'direct' AND s.hifob_pay > 0)
  UNION
  SELECT fixmedins_code, insurer_code, period FROM discrepancies
   WHERE code = 'DECLARATION_MISSING' AND status <> 'resolved' AND admdvs LIKE $1 || '%' AND period = $2 AND fixmedins_code IS NOT NULL`;

export async function sweepRegionPeriod(gw: SweepGateway, admdvsPrefix: string, period: string, asOf: Date): Promise<{ settlements: number; declarations: number }> {
  if (!/^\d{2,6}$/.test(admdvsPrefix)) throw new RangeError(`admdvs prefix must be 2–6 digits: ${admdvsPrefix}`);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new RangeError(`period must be yyyy-MM: ${period}`);
  const { db } = gw;
  const ids = await selectSettlements(db, admdvsPrefix, period, asOf);
  const settled = await reevaluate(db, ids, asOf, gw);
  const decl = await db.query<DeclarationKey>(SELECT_DECLARATIONS, [admdvsPrefix, period]);
  const declared = await reevaluateDeclarations(db, decl.rows, asOf, gw);
  gw.log.info({ admdvs: admdvsPrefix, period, as_of: asOf.toISOString(), settlements: settled.evaluated, declarations: declared.evaluated }, 'matching sweep done');
  return { settlements: settled.evaluated, declarations: declared.evaluated };
}

/** The setl_ids the sweep re-evaluates (exported for the tests). */
export async function selectSettlements(db: Pick<Db, 'tx'>, admdvsPrefix: string, period: string, asOf: Date): Promise<string[]> {
  return db.tx(async (q) => {
    // The month is hash-joined with its loop rows and its references: in memory, not in batches on
    // disk. No JIT: compiling costs more than running these.
    await q.query(`SET LOCAL work_mem = '128MB'`);
    await q.query('SET LOCAL jit = off');
    const ids = new Set<string>();
    for (const [sql, params] of [
      [DUE_SETTLEMENTS, [admdvsPrefix, period, asOf]],
      [UNMATCHED_IN_MONTH, [admdvsPrefix, period]],
      [UNKNOWN_REFERENCES, [admdvsPrefix, period, periodStart(period), periodEnd(period)]],
    ] as const) {
      for (const r of (await q.query<{ setl_id: string }>(sql, [...params])).rows) ids.add(r.setl_id);
    }
    return [...ids];
  });
}
