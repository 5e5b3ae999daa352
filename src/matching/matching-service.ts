/**
 * The matching service: what the workers call. `applyMessages` is the ingest queue's handler for the
 * fact-bearing kinds (the handler map in src/composition-root.ts); `processRecheck` is the `recheck`
 * queue's process function, for results that change with time alone (a due date lapsing, a grace
 * period expiring). Re-checks are best-effort: the nightly sweep (sweep.ts) is the safety net.
 */
import type { Job } from 'bullmq';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { MessageRow } from '../queue/ingest-worker';
import { RECHECK_QUEUE, type Queues } from '../queue/queues';
import { affectedBy } from './affected';
import { reevaluate, type MatchingDeps, type NextCheck } from './apply';
import { reevaluateDeclarations, type DeclarationKey } from './declarations';

/** Where re-checks are queued, and the clock they are timed by. */
export interface RecheckDeps {
  queues: Pick<Queues, 'get'>;
  log: Logger;
  now: () => number;
}

export interface MatchingServiceDeps extends MatchingDeps, RecheckDeps {
  db: Db;
  log: Logger;
}

/**
 * Re-evaluates everything the stored messages can change, as of the service's clock: the union of
 * what each one affects, once (the messages a worker applies together share their settlements' chunks).
 */
export async function applyMessages(deps: MatchingServiceDeps, msgs: readonly Pick<MessageRow, 'message_id' | 'kind'>[]): Promise<void> {
  const asOf = new Date(deps.now());
  const setlIds = new Set<string>();
  const declarations: DeclarationKey[] = [];
  for (const kind of new Set(msgs.map((m) => m.kind))) {
    const affected = await affectedBy(deps.db, kind, msgs.filter((m) => m.kind === kind).map((m) => m.message_id));
    for (const id of affected.setlIds) setlIds.add(id);
    declarations.push(...affected.declarations);
  }
  const r = await reevaluate(deps.db, setlIds, asOf, deps);
  // reevaluateDeclarations evaluates each institution-period once, however often it is named.
  if (declarations.length) await reevaluateDeclarations(deps.db, declarations, asOf, deps);
  await scheduleRechecks(deps, r.nextChecks);
}

/** Ids only: the worker loads the facts (no personal data in job payloads). */
export interface RecheckJob { setl_id: string }

/** The `recheck` queue's job: re-evaluate one settlement as of now, and schedule its next check. */
export async function processRecheck(deps: MatchingServiceDeps, job: Job<RecheckJob>): Promise<void> {
  const r = await reevaluate(deps.db, [job.data.setl_id], new Date(deps.now()), deps);
  await scheduleRechecks(deps, r.nextChecks);
}

/** `recheck:<setl_id>:<epoch ms>`: the same re-check scheduled twice is one job (BullMQ allows one `:` pair). */
export function recheckJobId(c: NextCheck): string {
  return `recheck:${c.setl_id.replace(/%/g, '%25').replace(/:/g, '%3A')}:${c.at.getTime()}`;
}

export async function scheduleRechecks(deps: RecheckDeps, checks: readonly NextCheck[]): Promise<void> {
  if (!checks.length) return;
  const now = deps.now();
  const queue = deps.queues.get(RECHECK_QUEUE);
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
    deps.log.warn({ err, count: checks.length }, 'could not schedule settlement re-checks; the nightly sweep covers them');
  }
}
