/**
 * The 'benefits' queue's process function: every agency settlement feed puts one job there (the
 * outbox, src/ingest/message-store.ts), with only its message id. A thin adapter over `auditMessage`:
 * the audit re-evaluates whole person-years, so a retried or repeated job changes nothing.
 * (startWorker in src/queue/start-worker.ts runs it: the root's startWorkers, workers/benefits.ts.)
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../logging/logger';
import { auditMessage, type AuditDeps, type AuditOutcome } from './audit';

export interface BenefitWorkerDeps extends AuditDeps {
  log: Logger;
  now: () => number;
}

export interface BenefitJob {
  message_id?: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function processBenefitJob(gw: BenefitWorkerDeps, job: Job<BenefitJob>): Promise<AuditOutcome> {
  const id = job.data.message_id;
  if (typeof id !== 'string' || !UUID.test(id)) throw new UnrecoverableError('benefit job without a message id');
  const out = await auditMessage(gw, id, new Date(gw.now()));
  // Counts only: person-year keys carry psn_no (personal data).
  gw.log.debug({ message_id: id, ...out }, 'benefit audit done');
  return out;
}
