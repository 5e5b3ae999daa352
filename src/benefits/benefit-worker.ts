/**
 * The worker of the 'benefits' queue: every agency settlement feed puts one job here (the outbox,
 * src/ingest/message-store.ts), with only its message id. A thin adapter over `auditMessage`: the
 * audit re-evaluates whole person-years, so a retried or repeated job changes nothing.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { BENEFITS_QUEUE } from '../ingest/message-store';
import { workerConnection, workerErrorLog } from '../queue/queues';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { auditMessage, type AuditDeps } from './audit';

export interface BenefitWorkerDeps extends AuditDeps {
  cfg: Pick<Config, 'redisUrl' | 'queuePrefix' | 'workerConcurrency'>;
  log: Logger;
  now: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function startBenefitWorker(gw: BenefitWorkerDeps): Worker {
  const connection = workerConnection(gw.cfg.redisUrl);
  const worker = new Worker(
    BENEFITS_QUEUE,
    async (job: Job<{ message_id?: unknown }>) => {
      const id = job.data.message_id;
      if (typeof id !== 'string' || !UUID.test(id)) throw new UnrecoverableError('benefit job without a message id');
      const out = await auditMessage(gw, id, new Date(gw.now()));
      // Counts only: person-year keys carry psn_no (personal data).
      gw.log.debug({ message_id: id, ...out }, 'benefit audit done');
      return out;
    },
    { connection: connection as ConnectionOptions, prefix: gw.cfg.queuePrefix, concurrency: gw.cfg.workerConcurrency, autorun: true },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    gw.log[final ? 'error' : 'warn']({ err, message_id: job.data.message_id, attempt: job.attemptsMade }, final ? 'benefit audit failed for good' : 'benefit audit failed; will retry');
  });
  worker.on('error', workerErrorLog(gw.log, 'benefit worker', gw.cfg.redisUrl));
  // BullMQ leaves a connection it was given open; this one is ours to close.
  worker.on('closed', () => connection.disconnect());
  return worker;
}
