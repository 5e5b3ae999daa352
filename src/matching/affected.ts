/**
 * Which evaluation groups newly stored messages can change: every group whose facts include a fact
 * one of the messages brought (messages of one kind, applied together by the ingest worker). Re-evaluating exactly these after each message (plus the sweep for the clock)
 * is what makes the final state independent of arrival order.
 */
import type { Sql } from '../db/db';
import type { MessageKind } from '../ingest/kinds';
import type { DeclarationKey } from './declarations';

export interface Affected { setlIds: string[]; declarations: DeclarationKey[] }

interface DeclRow { fixmedins_code: string; insurer_code: string; period: string }

const ids = (rows: { setl_id: string }[]) => [...new Set(rows.map((r) => r.setl_id))];

export async function affectedBy(q: Sql, kind: MessageKind, messageIds: readonly string[]): Promise<Affected> {
  switch (kind) {
    case 'agency_settlements': {
      // The records themselves and every settlement of the same visit (DUPLICATE_REIMBURSEMENT is
      // raised on the manual one, whichever of the two arrives last).
      const s = await q.query<{ setl_id: string }>(
        `SELECT s2.setl_id FROM settlement_records s1 JOIN settlement_records s2 ON s2.mdtrt_id = s1.mdtrt_id WHERE s1.message_id = ANY($1::uuid[])`, [messageIds],
      );
      const d = await q.query<DeclRow>(
        `SELECT DISTINCT fixmedins_code, insurer_code, period FROM settlement_records WHERE message_id = ANY($1::uuid[])`, [messageIds],
      );
      return { setlIds: ids(s.rows), declarations: d.rows };
    }
    case 'settlement_batch': {
      // Its items, the replaced batch's items (no longer current), and every settlement of the
      // institution-periods of both (whether a batch of theirs has arrived changes).
      const s = await q.query<{ setl_id: string }>(
        `WITH b AS (SELECT batch_id, replaces_batch_id, fixmedins_code, insurer_code, period FROM batches WHERE message_id = ANY($1::uuid[])),
              t AS (SELECT fixmedins_code, insurer_code, period FROM b
                    UNION SELECT rb.fixmedins_code, rb.insurer_code, rb.period FROM b JOIN batches rb ON rb.fixmedins_code = b.fixmedins_code AND rb.batch_id = b.replaces_batch_id)
         SELECT i.setl_id FROM b JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND (i.batch_id = b.batch_id OR i.batch_id = b.replaces_batch_id)
         UNION SELECT s.setl_id FROM t JOIN settlement_records s USING (fixmedins_code, insurer_code, period)`,
        [messageIds],
      );
      const d = await q.query<DeclRow>(
        `SELECT fixmedins_code, insurer_code, period FROM batches WHERE message_id = ANY($1::uuid[])
         UNION SELECT rb.fixmedins_code, rb.insurer_code, rb.period FROM batches b JOIN batches rb ON rb.fixmedins_code = b.fixmedins_code AND rb.batch_id = b.replaces_batch_id WHERE b.message_id = ANY($1::uuid[])`,
        [messageIds],
      );
      return { setlIds: ids(s.rows), declarations: d.rows };
    }
    case 'insurer_payment': {
      const s = await q.query<{ setl_id: string }>(
        `SELECT l.setl_id FROM payments p JOIN payment_lines l USING (insurer_code, payment_id) WHERE p.message_id = ANY($1::uuid[])`, [messageIds],
      );
      return { setlIds: ids(s.rows), declarations: [] };
    }
    case 'recovery': {
      const s = await q.query<{ setl_id: string }>(`SELECT setl_id FROM recoveries WHERE message_id = ANY($1::uuid[])`, [messageIds]);
      return { setlIds: ids(s.rows), declarations: [] };
    }
    default:
      // Spending plans and disbursements are reconciliation's (PLAN_VARIANCE, DISBURSEMENT_MISMATCH).
      return { setlIds: [], declarations: [] };
  }
}
