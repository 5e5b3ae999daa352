/**
 * Which settlements a message can change — the rule, written once. Re-evaluating exactly these after
 * each message (plus the sweep for the clock) is what makes matching's final state independent of
 * arrival order; the sweep asks it of the messages matching has not applied yet, and the
 * reconciliation report asks its first part of them (whose loop figures may be stale).
 *
 * - Loop facts (the settlement's own records, the payment lines naming it, its recoveries): what a
 *   settlement's loop figures are computed from (computeLoop, src/matching/rules/loop-state.ts).
 * - Findings beyond the loop: every settlement of the same visit (DUPLICATE_REIMBURSEMENT is raised on
 *   the manual one, whichever of the two arrives last); a batch's items, the items of the batch it
 *   replaces (no longer current), and every settlement of the institution-periods of both (whether a
 *   batch of theirs has arrived changes RECORDED_NOT_DECLARED).
 *
 * The pieces are SQL for the ledger's own read models (sweep-read-model.ts, owed-read-model.ts);
 * other features call the functions.
 */
import type { Sql } from '../db/db';

/** An institution-period: the group of DECLARATION_MISSING. */
export interface InstitutionPeriod { fixmedins_code: string; insurer_code: string; period: string }

/** The messages, as a CTE `pending (message_id)`, from a uuid[] parameter. */
export const pendingFrom = (param: string): string => `pending AS MATERIALIZED (SELECT DISTINCT unnest(${param}::uuid[]) AS message_id)`;

/**
 * CTE `pending_batches`: the batches of the pending messages and the batches they replace (a CTE, so
 * their few rows drive the joins). Expects `pending`.
 */
export const PENDING_BATCHES = `
  pending_batches AS MATERIALIZED (
    SELECT b.batch_id, b.fixmedins_code, b.insurer_code, b.period FROM pending m JOIN batches b ON b.message_id = m.message_id
    UNION
    SELECT rb.batch_id, rb.fixmedins_code, rb.insurer_code, rb.period
      FROM pending m JOIN batches b ON b.message_id = m.message_id JOIN batches rb ON rb.fixmedins_code = b.fixmedins_code AND rb.batch_id = b.replaces_batch_id
  )`;

/** setl_ids whose loop facts a pending message brought (a SELECT of `setl_id`, with repeats). Expects `pending`. */
export const LOOP_FACTS_OF_PENDING = `
  SELECT s.setl_id FROM pending m JOIN settlement_records s ON s.message_id = m.message_id
  UNION ALL
  SELECT l.setl_id FROM pending m JOIN payments p ON p.message_id = m.message_id JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id
  UNION ALL
  SELECT r.setl_id FROM pending m JOIN recoveries r ON r.message_id = m.message_id`;

/**
 * setl_ids whose evaluation a pending message can change (a SELECT of `setl_id`, with repeats): the
 * loop facts, the same visit, the batches'. Expects `pending` and PENDING_BATCHES.
 */
export const SETTLEMENTS_OF_PENDING = `${LOOP_FACTS_OF_PENDING}
  UNION ALL
  SELECT s2.setl_id FROM pending m JOIN settlement_records s1 ON s1.message_id = m.message_id JOIN settlement_records s2 ON s2.mdtrt_id = s1.mdtrt_id
  UNION ALL
  SELECT i.setl_id FROM pending_batches b JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id
  UNION ALL
  SELECT s.setl_id FROM pending_batches b
    JOIN settlement_records s ON s.fixmedins_code = b.fixmedins_code AND s.insurer_code = b.insurer_code AND s.period = b.period`;

/** Institution-periods whose DECLARATION_MISSING a pending message can change: its records' and its batches'. */
const DECLARATIONS_OF_PENDING = `
  SELECT s.fixmedins_code, s.insurer_code, s.period FROM pending m JOIN settlement_records s ON s.message_id = m.message_id
  UNION
  SELECT fixmedins_code, insurer_code, period FROM pending_batches`;

/** What stored messages can change: the settlements to re-evaluate and the institution-periods (one round trip). */
export async function affectedByMessages(q: Sql, messageIds: readonly string[]): Promise<{ setlIds: string[]; declarations: InstitutionPeriod[] }> {
  if (!messageIds.length) return { setlIds: [], declarations: [] };
  const { rows } = await q.query<{ setl_id: string | null; fixmedins_code: string | null; insurer_code: string | null; period: string | null }>(
    `WITH ${pendingFrom('$1')}, ${PENDING_BATCHES}
     SELECT DISTINCT setl_id, NULL AS fixmedins_code, NULL AS insurer_code, NULL AS period FROM (${SETTLEMENTS_OF_PENDING}) x
     UNION ALL
     SELECT NULL, fixmedins_code, insurer_code, period FROM (${DECLARATIONS_OF_PENDING}) d`,
    [messageIds],
  );
  const setlIds: string[] = [];
  const declarations: InstitutionPeriod[] = [];
  for (const r of rows) {
    if (r.setl_id !== null) setlIds.push(r.setl_id);
    else declarations.push({ fixmedins_code: r.fixmedins_code!, insurer_code: r.insurer_code!, period: r.period! });
  }
  return { setlIds, declarations };
}
