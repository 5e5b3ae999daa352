/**
 * The one hook in the case store (`syncGroups`): for each newly opened (or reopened) case that is
 * critical, queue its notification in the caller's transaction, through the outbox, so an alert is
 * never lost between the commit and the queue. The job carries the id only; the worker loads the
 * case. Kept free of BullMQ and HTTP imports: the store should not load them to open a case.
 */
import type { Sql } from '../db/db';
import { enqueueJobs } from '../queue/outbox';
import { NOTIFICATIONS_QUEUE } from '../queue/queue-names';

/**
 * `criticalIds`: the cases just opened that are critical (the case store knows their severity).
 * Job id `notify-<id>` (BullMQ refuses a single `:` in custom job ids; the relay would fail the batch).
 */
export async function queueCriticalNotifications(q: Sql, criticalIds: string[]): Promise<void> {
  if (!criticalIds.length) return;
  await enqueueJobs(q, NOTIFICATIONS_QUEUE, criticalIds, (id) => ({ discrepancy_id: id, job_id: `notify-${id}` }));
}
