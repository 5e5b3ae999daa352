/**
 * Matching's wiring into the gateway: one message handler per fact-bearing kind (the ingest worker
 * calls them), and the `recheck` queue for results that change with time alone (a due date lapsing,
 * a grace period expiring). Re-checks are best-effort: the nightly sweep (sweep.ts) is the safety net.
 */
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Gateway } from '../composition-root';
import type { MessageKind } from '../ingest/kinds';
import type { MessageRow } from '../queue/ingest-worker';
import { workerConnection } from '../queue/queues';
import { affectedBy } from './affected';
import { reevaluate, type NextCheck } from './apply';
import { reevaluateDeclarations } from './declarations';

export const RECHECK_QUEUE = 'recheck';

export type MatchingGateway = Pick<Gateway, 'db' | 'log' | 'queues' | 'handlers' | 'regions' | 'calendar' | 'now'>;
export type MatchingWorkerGateway = Pick<Gateway, 'db' | 'log' | 'queues' | 'regions' | 'calendar' | 'now' | 'cfg'>;

const MATCHED_KINDS = ['agency_settlements', 'settlement_batch', 'insurer_payment', 'recovery'] as const satisfies readonly MessageKind[];

/** Re-evaluates everything one stored message can change, as of the gateway's clock. */
export async function applyMessage(gw: Omit<MatchingGateway, 'handlers'>, msg: Pick<MessageRow, 'message_id' | 'kind'>): Promise<void> {
  const asOf = new Date(gw.now());
  const affected = await affectedBy(gw.db, msg.kind, msg.message_id);
  const r = await reevaluate(gw.db, affected.setlIds, asOf, gw);
  if (affected.declarations.length) await reevaluateDeclarations(gw.db, affected.declarations, asOf, gw);
  await scheduleRechecks(gw, r.nextChecks);
}

export function registerMatching(gw: MatchingGateway): void {
  for (const kind of MATCHED_KINDS) gw.handlers[kind] = (msg) => applyMessage(gw, msg);
}

/** `recheck:<setl_id>:<epoch ms>`: the same re-check scheduled twice is one job (BullMQ allows one `:` pair). */
export function recheckJobId(c: NextCheck): string {
  return `recheck:${c.setl_id.replace(/%/g, '%25').replace(/:/g, '%3A')}:${c.at.getTime()}`;
}

export async function scheduleRechecks(gw: Pick<Gateway, 'queues' | 'log' | 'now'>, checks: readonly NextCheck[]): Promise<void> {
  if (!checks.length) return;
  const now = gw.now();
  const queue = gw.queues.get(RECHECK_QUEUE);
  try {
    for (let i = 0; i < checks.length; i += 1000) {
      await queue.addBulk(checks.slice(i, i + 1000).map((c) => ({
        name: 'recheck',
        // ids only: the worker loads the facts (no personal data in job payloads)
        data: { setl_id: c.setl_id },
        opts: {
          jobId: recheckJobId(c), delay: Math.max(0, c.at.getTime() - now), attempts: 5, backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 86_400, count: 100_000 }, removeOnFail: { age: 7 * 86_400 },
        },
      })));
    }
  } catch (err) {
    gw.log.warn({ err, count: checks.length }, 'could not schedule settlement re-checks; the nightly sweep covers them');
  }
}

export function startMatchingWorkers(gw: MatchingWorkerGateway): Worker[] {
  const connection = workerConnection(gw.cfg.redisUrl);
  const worker = new Worker(
    RECHECK_QUEUE,
    async (job: Job<{ setl_id: string }>) => {
      const r = await reevaluate(gw.db, [job.data.setl_id], new Date(gw.now()), gw);
      await scheduleRechecks(gw, r.nextChecks);
    },
    { connection: connection as ConnectionOptions, prefix: gw.cfg.queuePrefix, concurrency: gw.cfg.workerConcurrency, autorun: true },
  );
  worker.on('failed', (job, err) => gw.log.warn({ err, job_id: job?.id }, 'settlement re-check failed'));
  worker.on('error', (err) => gw.log.warn({ err }, 'recheck worker: connection problem'));
  worker.on('closed', () => connection.disconnect());
  return [worker];
}
