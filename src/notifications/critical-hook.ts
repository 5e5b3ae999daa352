/**
 * The one hook in the discrepancy store (`syncGroup`): for each newly opened (or reopened) case that
 * is critical, queue its notification in the caller's transaction, through the outbox, so an alert is
 * never lost between the commit and the queue. The job carries the id only; the worker loads the
 * case. Kept free of BullMQ and HTTP imports: the store should not load them to open a case.
 */
import type { Sql } from '../db/db';

export const NOTIFICATIONS_QUEUE = 'notifications';

/** Job id `notify-<id>` (BullMQ refuses a single `:` in custom job ids; the relay would fail the batch). */
export async function queueCriticalNotifications(q: Sql, openedIds: string[]): Promise<void> {
  if (!openedIds.length) return;
  await q.query(
    `INSERT INTO outbox (message_id, queue, payload)
     SELECT id, $2, jsonb_build_object('discrepancy_id', id, 'job_id', 'notify-' || id)
     FROM discrepancies WHERE id = ANY($1::uuid[]) AND severity = 'critical'`,
    [openedIds, NOTIFICATIONS_QUEUE],
  );
}
