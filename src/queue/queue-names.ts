/**
 * Every BullMQ queue of the gateway, named once. Producers (outbox rows, the routes that pause a
 * queue, the re-check scheduler) and the workers (src/composition-root.ts `startWorkers`,
 * workers/<queue>.ts) take the names from here. Free of imports, so a store that queues work in its
 * transaction through the outbox does not load BullMQ.
 */
/** One job per accepted message: the ingest worker applies it (src/queue/ingest-worker.ts). */
export const INGEST_QUEUE = 'ingest';
/** One job per agency settlement feed: the benefit audit (src/benefits/benefit-worker.ts). */
export const BENEFITS_QUEUE = 'benefits';
/** Results that change with time alone: a due date lapsing, a grace period expiring (src/matching). */
export const RECHECK_QUEUE = 'recheck';
/** `run` jobs (jobId = run_id) and the nightly scheduler's jobs (src/reconciliation). */
export const RECONCILIATION_QUEUE = 'reconciliation';
/** Critical cases and digests, fanned out to subscribers (src/notifications/fan-out.ts). */
export const NOTIFICATIONS_QUEUE = 'notifications';
/** One job per webhook delivery (src/notifications/delivery-worker.ts). */
export const DELIVERIES_QUEUE = 'deliveries';

export const QUEUE_NAMES = [
  INGEST_QUEUE,
  BENEFITS_QUEUE,
  RECHECK_QUEUE,
  RECONCILIATION_QUEUE,
  NOTIFICATIONS_QUEUE,
  DELIVERIES_QUEUE,
] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
