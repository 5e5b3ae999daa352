/**
 * Matching's wiring into the gateway: one message handler per fact-bearing kind (the ingest worker
 * calls them), and the `recheck` queue for results that change with time alone (a due date lapsing,
 * a grace period expiring). Re-checks are best-effort: the nightly sweep (sweep.ts) is the safety net.
 */
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Gateway } from '../composition-root';
import type { MessageKind } from '../ingest/kinds';
import type { MessageRow } from '../queue/ingest-worker';
import { workerConnection, workerErrorLog } from '../queue/queues';
import { affectedBy } from './affected';
import { reevaluate, type NextCheck } from './apply';
import { reevaluateDeclarations, type DeclarationKey } from './declarations';

export const RECHECK_QUEUE = 'recheck';

export type MatchingGateway = Pick<Gateway, 'db' | 'log' | 'queues' | 'handlers' | 'regions' | 'calendar' | 'now'>;
export type MatchingWorkerGateway = Pick<Gateway, 'db' | 'log' | 'queues' | 'regions' | 'calendar' | 'now' | 'cfg'>;

const MATCHED_KINDS = ['agency_settlements', 'settlement_batch', 'insurer_payment', 'recovery'] as const satisfies readonly MessageKind[];

/**
 * Re-evaluates everything the stored messages can change, as of the gateway's clock: the union of
 * what each one affects, once (the messages a worker applies together share their settlements' chunks).
 */
export async function applyMessages(gw: Omit<MatchingGateway, 'handlers'>, msgs: readonly Pick<MessageRow, 'message_id' | 'kind'>[]): Promise<void> {
  const asOf = new Date(gw.now());
  const setlIds = new Set<string>();
  const declarations: DeclarationKey[] = [];
  for (const kind of new Set(msgs.map((m) => m.kind))) {
    const affected = await affectedBy(gw.db, kind, msgs.filter((m) => m.kind === kind).map((m) => m.message_id));
    for (const id of affected.setlIds) setlIds.add(id);
    declarations.push(...affected.declarations);
  }
  const r = await reevaluate(gw.db, setlIds, asOf, gw);
  // reevaluateDeclarations evaluates each institution-period once, however often it is named.
  if (declarations.length) await reevaluateDeclarations(gw.db, declarations, asOf, gw);
  await scheduleRechecks(gw, r.nextChecks);
}

export function registerMatching(gw: MatchingGateway): void {
  const handler = (msgs: readonly MessageRow[]) => applyMessages(gw, msgs);
  for (const kind of MATCHED_KINDS) gw.handlers[kind] = handler;
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
  worker.on('error', workerErrorLog(gw.log, 'recheck worker', gw.cfg.redisUrl));
  worker.on('closed', () => connection.disconnect());
  return [worker];
}
