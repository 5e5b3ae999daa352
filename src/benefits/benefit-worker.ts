/**
 * The 'benefits' queue's process function: every agency settlement feed puts one job there (the
 * outbox, src/ingest/message-store.ts), with only its message id. A thin adapter over `auditMessages`:
 * the audit re-evaluates whole person-years, so a retried or repeated job changes nothing.
 * (startWorker in src/queue/start-worker.ts runs it: the root's startWorkers, workers/benefits.ts.)
 *
 * Micro-batching (benefitProcessor): the jobs active at the same moment are audited together — the
 * union of their person-years, each once. Feed parts of one month name the same people (a person's
 * settlements arrive in several parts), and each part re-evaluated the whole year of each of them:
 * a 100k month audited 100,000 person-years for 33,333 people (issue 15, bench/month.ts).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../logging/logger';
import { auditMessages, latestTime, type AuditDeps, type AuditOutcome } from './audit';
import { databaseClock } from '../db/advisory-locks';

export interface BenefitWorkerDeps extends AuditDeps {
  log: Logger;
  now: () => number;
}

export interface BenefitJob {
  message_id?: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function messageIdOf(job: Job<BenefitJob>): string {
  const id = job.data.message_id;
  if (typeof id !== 'string' || !UUID.test(id)) throw new UnrecoverableError('benefit job without a message id');
  return id;
}

/** One job alone. */
export async function processBenefitJob(gw: BenefitWorkerDeps, job: Job<BenefitJob>): Promise<AuditOutcome> {
  return audit(gw, [messageIdOf(job)]);
}

async function audit(gw: BenefitWorkerDeps, ids: readonly string[], factsAfter?: string): Promise<AuditOutcome> {
  const out = await auditMessages(gw, ids, new Date(gw.now()), factsAfter);
  // Counts only: person-year keys carry psn_no (personal data).
  gw.log.debug({ message_ids: ids, ...out }, 'benefit audit done');
  return out;
}

/**
 * Benefit jobs a worker process holds active at once (its BullMQ concurrency): the jobs waiting for
 * the batch in flight, which all join the next one. With 8 (the default of other queues) a 100k
 * month's 20 feed parts were audited in batches of 1, 7, 1, 7, 1, 3 messages — each batch of several
 * parts covered all 33,333 people again; a held job costs a lock renewal, no work.
 */
export const BENEFIT_JOBS_ACTIVE = 64;

/**
 * A burst of feed parts (jobs arriving while a batch is being audited) is audited once it is over:
 * the next batch starts when no job has arrived for BENEFIT_QUIET_MS, or BENEFIT_MAX_WAIT_MS after
 * it could have started. Feed parts of one month name the same people in several parts (a 100k
 * month: each person's three settlements in three parts), and each batch re-evaluates the whole
 * year of each person it names, so batches cut in the middle of a burst audit most people twice
 * (71,666 audits for 33,333 people with batches of 1, 11 and 8 parts). A job arriving while the
 * worker is idle is audited at once (the latency of a lone feed does not change).
 */
export const BENEFIT_QUIET_MS = 2000;
export const BENEFIT_MAX_WAIT_MS = 30_000;

/**
 * The process function of a worker: jobs submitted while a batch is being audited form the next
 * batch (at most `maxInFlight` batches at once, `maxBatch` messages each), started once they stop
 * arriving (`quietMs`, at most `maxWaitMs` later); every job of a batch gets the batch's counts. If a
 * batch fails, its messages are audited one at a time, so that only a message that cannot be
 * audited fails (and is retried by the queue).
 */
export function benefitProcessor(
  gw: BenefitWorkerDeps,
  opts: { maxBatch?: number; maxInFlight?: number; quietMs?: number; maxWaitMs?: number } = {},
): (job: Job<BenefitJob>) => Promise<AuditOutcome> {
  // The batch's messages were committed before the latest of its jobs arrived (a job is relayed
  // after its message's commit): person-years another worker audited after that are up to date
  // (audit.ts auditPersonYears). Taken on arrival, not when the batch starts: a burst's jobs wait
  // for the batch in flight and then for the burst to end, while the other worker audits.
  const batcher = new Batcher(
    async (ids, arrived) => audit(gw, ids, arrived.length ? await latestTime(gw.db, arrived) : undefined),
    opts.maxBatch ?? 64,
    opts.maxInFlight ?? 1,
    opts.quietMs ?? BENEFIT_QUIET_MS,
    opts.maxWaitMs ?? BENEFIT_MAX_WAIT_MS,
  );
  return async (job) => {
    const id = messageIdOf(job);
    // Submitted at once (jobs handed over together batch together); the time is awaited by the batch.
    const arrived = gw.db.kind === 'pg' ? databaseClock(gw.db).catch(() => undefined) : Promise.resolve(undefined);
    return batcher.submit(id, arrived);
  };
}

interface Pending {
  id: string;
  /** The database's time when the job arrived (undefined if it could not be read). */
  arrived: Promise<string | undefined>;
  resolve: (o: AuditOutcome) => void;
  reject: (e: unknown) => void;
}

class Batcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** When the last job arrived, and whether jobs arrived while a batch was in flight (a burst). */
  private lastArrival = 0;
  private burst = false;
  /** When the waiting jobs could first have started (a batch in flight ended), for maxWaitMs. */
  private readySince = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apply: (ids: string[], arrived: string[]) => Promise<AuditOutcome>,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
  ) {}

  submit(id: string, arrived: Promise<string | undefined>): Promise<AuditOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, arrived, resolve, reject });
      this.lastArrival = Date.now();
      if (this.inFlight) this.burst = true;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.timer || this.inFlight >= this.maxInFlight || !this.queue.length) return;
    if (this.burst && this.quietMs > 0) {
      // A burst: wait until it is over (no job for quietMs), or maxWaitMs.
      const now = Date.now();
      this.readySince ||= now;
      const at = Math.min(this.lastArrival + this.quietMs, this.readySince + this.maxWaitMs);
      if (at > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, at - now);
        return;
      }
    }
    this.scheduled = true;
    // Let the jobs BullMQ hands over in the same turn join this batch.
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight >= this.maxInFlight || !this.queue.length) return;
      const batch = this.queue.splice(0, this.maxBatch);
      this.burst = false;
      this.readySince = 0;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
      this.schedule();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    const ids = [...new Set(batch.map((p) => p.id))];
    try {
      // Without a time for every job, none (the audit reads the clock itself).
      const times = await Promise.all(batch.map((p) => p.arrived));
      const arrived = times.every((x) => x !== undefined) ? (times as string[]) : [];
      const out = await this.apply(ids, arrived);
      for (const p of batch) p.resolve(out);
      return;
    } catch (e) {
      if (ids.length === 1) {
        for (const p of batch) p.reject(e);
        return;
      }
    }
    for (const id of ids) {
      let res: { ok: true; o: AuditOutcome } | { ok: false; e: unknown };
      try {
        res = { ok: true, o: await this.apply([id], []) };
      } catch (e) {
        res = { ok: false, e };
      }
      for (const p of batch) {
        if (p.id !== id) continue;
        if (res.ok) p.resolve(res.o);
        else p.reject(res.e);
      }
    }
  }
}
