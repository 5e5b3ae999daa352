/**
 * The one way the gateway runs a BullMQ worker. A feature gives its queue's name (queues.ts) and a
 * process function; this file holds what every worker needs around it: its own Redis connection
 * (waits for Redis for ever, reports to the process's one "Redis is unreachable" line), the failure
 * log line (a warning while BullMQ will retry, an error once a job failed for good), the feature's
 * `onFinalFailure`, and the bounded shutdown (closeWorkers).
 *
 * Who processes which queue is written in src/composition-root.ts (`startWorkers`); each queue also
 * has its own process entry point in workers/.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '../logging/logger';
import { workerConnection, type QueueName } from './queues';
import { workerErrorLog } from './redis-status';

/** A feature's work for one job. `token` is the job's lock token (for moveToDelayed). */
export type JobProcessor<T = unknown, R = unknown> = (job: Job<T>, token?: string) => Promise<R>;

export interface StartWorkerOptions<T> {
  redisUrl: string;
  /** The queue prefix (one per deployment, one per test file). */
  prefix: string;
  log: Logger;
  /** Jobs of this queue processed at once by this process. */
  concurrency: number;
  /** What a job is, in the failure line: "<what> failed; will retry" / "<what> failed for good". */
  what: string;
  /** The job's ids for the failure line (ids only: job payloads and logs carry no personal data). */
  describe?: (job: Job<T>) => Record<string, unknown>;
  /** Called once a job failed for the last time (not while BullMQ will retry it); its errors are ignored. */
  onFinalFailure?: (job: Job<T>, err: Error) => unknown;
  /**
   * Set where something else re-queues a job BullMQ fails as stalled (its worker was killed, OOM, a
   * deploy): such a failure is then never final (the outbox relay, for 'ingest'). Otherwise a stalled
   * job is judged like any failure, by its attempts.
   */
  stalledRequeued?: boolean;
  /** BullMQ's job lock; must outlive the longest job (default 30 s). */
  lockDuration?: number;
}

/** Whether BullMQ will not try the job again. */
export function failedForGood(job: Job, err: Error, stalledRequeued = false): boolean {
  if (stalledRequeued && /stalled more than allowable limit/.test(err.message)) return false;
  return err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
}

export function startWorker<T>(name: QueueName, process: JobProcessor<T>, o: StartWorkerOptions<T>): Worker<T> {
  const connection = workerConnection(o.redisUrl);
  const worker = new Worker<T>(name, process, {
    connection: connection as ConnectionOptions,
    prefix: o.prefix,
    concurrency: o.concurrency,
    autorun: true,
    ...(o.lockDuration ? { lockDuration: o.lockDuration } : {}),
  });
  worker.on('failed', (job, err) => {
    if (!job) {
      o.log.warn({ err, queue: name }, `${o.what} failed`);
      return;
    }
    const final = failedForGood(job, err, o.stalledRequeued ?? false);
    o.log[final ? 'error' : 'warn'](
      { err, queue: name, job_id: job.id, ...o.describe?.(job), attempt: job.attemptsMade },
      final ? `${o.what} failed for good` : `${o.what} failed; will retry`,
    );
    if (final && o.onFinalFailure) {
      try {
        void Promise.resolve(o.onFinalFailure(job, err)).catch(() => undefined);
      } catch {
        /* logged above */
      }
    }
  });
  worker.on('error', workerErrorLog(o.log, `${name} worker`, o.redisUrl));
  // BullMQ leaves a connection it was given open; this one is ours to close.
  worker.on('closed', () => connection.disconnect());
  return worker;
}

/**
 * Close workers within `graceMs`. With Redis reachable, each finishes its active jobs first
 * (BullMQ's graceful close); a graceful close cannot finish without Redis (it waits on commands
 * queued for a connection that never comes), so with Redis unreachable — or past the grace — the
 * workers are closed by force. A job cut short stays active in Redis, is found stalled and runs
 * again (jobs are at-least-once and their processors idempotent); what was accepted is in the
 * database and its outbox either way.
 */
export async function closeWorkers(
  workers: readonly Worker[],
  o: { graceMs: number; redisReachable: boolean },
): Promise<'closed' | 'forced'> {
  const bounded = (p: Promise<unknown>, ms: number) =>
    new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      t.unref();
      p.then(
        () => {
          clearTimeout(t);
          resolve(true);
        },
        () => {
          clearTimeout(t);
          resolve(true);
        },
      );
    });
  if (o.redisReachable && (await bounded(Promise.all(workers.map((w) => w.close())), o.graceMs))) return 'closed';
  // close(true) after a hanging close() returns the same promise: end the connections instead.
  await bounded(Promise.all(workers.map((w) => (w.closing ? w.disconnect() : w.close(true)))), 1_000);
  return 'forced';
}
