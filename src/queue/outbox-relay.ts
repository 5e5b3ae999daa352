/**
 * The transactional outbox relay: moves committed outbox rows to BullMQ. A message committed while
 * Redis is down stays in the outbox and is queued when Redis returns. Jobs are added with the
 * message id as job id, so a row relayed twice (crash between add and mark) is still one job; and
 * the processors are idempotent by message id for the rare re-add after a job was removed.
 *
 * The ingest rows of a pass go to BullMQ as a few jobs of up to INGEST_JOB_MESSAGES messages each
 * (issue 15): one job per message cost a Lua script in Redis and a round of job bookkeeping in each
 * process for every message, on the way of each from its 202 to its loop. A batch job's id is made
 * from its rows' ids, so the same rows relayed again after a crash between add and mark are still
 * one job; different rows are another job, and a message in two jobs is applied once and skipped
 * the second time (the ingest worker skips processed messages; matching is idempotent). The rows
 * note their job (outbox.job_id), by which requeueStuck finds a stuck message's job.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/db';
import { unfinishedMessageIds } from '../ingest/message-store';
import type { Logger } from '../logging/logger';
import { claimPending, markRelayed, relayedJobsOf, type OutboxRow } from './outbox';
import { INGEST_QUEUE } from './queue-names';
import type { Queues } from './queues';
import { isConnectionError, RedisNotConnected } from './redis-status';

const BATCH = 500;
/** Most messages in one ingest job (the worker applies the messages of its active jobs together). */
export const INGEST_JOB_MESSAGES = 64;
/** Unfinished messages read at a time by requeueStuck. */
const UNFINISHED_PAGE = 5_000;
/** Longest wait for Redis inside a relay pass's transaction (a pass normally takes milliseconds). */
const ADD_TIMEOUT_MS = 10_000;
/** Longest stop() waits for a pass in progress. */
const STOP_WAIT_MS = 3_000;

export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;
  private failing: false | 'quiet' | 'logged' = false;

  private lastRequeue = Date.now();
  private lastPass = 0;
  private gapTimer?: NodeJS.Timeout;

  /**
   * `keep`: how long BullMQ keeps completed and failed jobs, seconds (GATEWAY_JOBS_KEEP_*_SECONDS);
   * `requeueAfterSeconds`: see requeueStuck (GATEWAY_OUTBOX_REQUEUE_SECONDS); `minGapMs`: see kick.
   */
  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly keep: {
      completedSeconds: number;
      failedSeconds: number;
      requeueAfterSeconds?: number;
      minGapMs?: number;
    } = { completedSeconds: 86_400, failedSeconds: 7 * 86_400 },
  ) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.pollMs);
      this.timer.unref();
    };
    tick();
  }

  /**
   * Relay now, coalesced: a kick during a pass runs one more pass after it, and passes start at
   * least `minGapMs` (default 10 ms) apart. Every pass is a transaction with its own commit, so under
   * load — a kick after every accepted write — passes of a few rows each would cost the database
   * more than the writes; a few milliseconds of gap let each pass take all that arrived meanwhile.
   * A kick after a quiet spell still relays at once.
   */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.gapTimer) return; // the pass it starts will see this work too
    const wait = this.lastPass + (this.keep.minGapMs ?? 10) - Date.now();
    if (wait > 0) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.kick();
      }, wait);
      this.gapTimer.unref();
      return;
    }
    this.running = true;
    this.lastPass = Date.now();
    void this.drain().finally(() => {
      this.running = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.relayOnce()) === BATCH);
      const every = (this.keep.requeueAfterSeconds ?? 60) * 1000;
      if (!this.stopped && Date.now() - this.lastRequeue >= every) {
        this.lastRequeue = Date.now();
        await this.requeueStuck(every / 1000);
      }
      if (this.failing === 'logged') this.log.info('outbox relay: relaying again');
      this.failing = false;
    } catch (err) {
      // Redis unreachable is said once for the whole process (redis-status.ts); anything else here, once.
      if (!this.failing) {
        this.failing = isConnectionError(err) ? 'quiet' : 'logged';
        if (this.failing === 'logged')
          this.log.warn({ err }, 'outbox relay: could not queue work; it stays in the outbox and will be retried');
      }
    }
  }

  /**
   * One batch; returns how many rows were relayed. Not while Redis is away: BullMQ's add waits for
   * its connection, and it would wait inside this transaction — on the embedded database, whose one
   * connection every write needs, no write could commit until Redis came back (found by the
   * journeys, test/e2e/journeys/without-redis.test.ts). Redis vanishing mid-pass costs at most
   * ADD_TIMEOUT_MS; the rows roll back and are relayed again (same job ids, so still one job each).
   */
  async relayOnce(): Promise<number> {
    if (!this.queues.connected) throw new RedisNotConnected('relaying the outbox');
    return this.db.tx(async (q) => {
      const rows = await claimPending(q, BATCH);
      if (!rows.length) return 0;
      const byQueue = new Map<string, typeof rows>();
      for (const r of rows) {
        const list = byQueue.get(r.queue);
        if (list) list.push(r);
        else byQueue.set(r.queue, [r]);
      }
      const jobIds = new Map<string, string>();
      const adds = [...byQueue].map(([name, list]) => {
        const jobs = name === INGEST_QUEUE ? this.ingestJobs(list, jobIds) : list.map((r) => this.rowJob(name, r));
        return withTimeout(this.queues.get(name).addBulk(jobs), ADD_TIMEOUT_MS);
      });
      // The mark is written while Redis adds the jobs (it commits only after every add succeeded):
      // on the busy event loop of an API process each awaited round trip costs a turn of the loop.
      const mark = markRelayed(
        q,
        rows.map((r) => r.id),
        jobIds.size ? rows.map((r) => jobIds.get(r.id) ?? null) : undefined,
      );
      const failed = (await Promise.allSettled([...adds, mark])).find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return rows.length;
    });
  }

  /** One row, one job (job id = payload.job_id, else the row's message id). */
  private rowJob(queue: string, r: OutboxRow) {
    return {
      name: String(r.payload.kind ?? queue),
      data: r.payload,
      opts: this.jobOpts(String(r.payload.job_id ?? r.message_id)),
    };
  }

  /**
   * The ingest rows of a pass as jobs of up to INGEST_JOB_MESSAGES messages (a row naming its own
   * job id keeps its own job); `jobIds` gets each batched row's job id.
   */
  private ingestJobs(rows: readonly OutboxRow[], jobIds: Map<string, string>) {
    const jobs: ReturnType<OutboxRelay['rowJob']>[] = [];
    const batched: OutboxRow[] = [];
    for (const r of rows) {
      if (r.payload.job_id !== undefined || typeof r.payload.message_id !== 'string')
        jobs.push(this.rowJob(INGEST_QUEUE, r));
      else batched.push(r);
    }
    for (let i = 0; i < batched.length; i += INGEST_JOB_MESSAGES) {
      const part = batched.slice(i, i + INGEST_JOB_MESSAGES);
      const jobId = ingestJobId(part);
      for (const r of part) jobIds.set(r.id, jobId);
      jobs.push(this.batchJob(jobId, part));
    }
    return jobs;
  }

  private batchJob(jobId: string, rows: readonly OutboxRow[]) {
    return { name: INGEST_BATCH_JOB, data: ingestBatchData(rows), opts: this.jobOpts(jobId) };
  }

  /**
   * Found by the chaos test (test/RELIABILITY.md): a job can vanish after its outbox row was marked
   * relayed — Redis killed within its AOF fsync window, or a worker killed so often that BullMQ fails
   * the job as stalled without our 'failed' handler seeing a final attempt. Its message then stays
   * accepted/processing for ever. So: an ingest outbox row relayed more than `olderThanSeconds` ago
   * whose message is still unfinished gets its job re-added when missing, or retried when failed.
   * A job that exists and is waiting or active is left alone (same job id), so this is idempotent.
   */
  async requeueStuck(olderThanSeconds: number): Promise<number> {
    if (!this.queues.connected) throw new RedisNotConnected('re-queueing stuck messages');
    const rows = await this.stuckIngestJobs(olderThanSeconds);
    // A batched row's job is its batch's: each job looked at once, re-added with its stuck rows.
    const byJob = new Map<string, { queue: string; rows: OutboxRow[] }>();
    for (const r of rows) {
      const jobId = r.job_id ?? String(r.payload.job_id ?? r.message_id);
      const known = byJob.get(jobId);
      if (known) known.rows.push(r);
      else byJob.set(jobId, { queue: r.queue, rows: [r] });
    }
    let n = 0;
    for (const [jobId, { queue: name, rows: list }] of byJob) {
      const queue = this.queues.get(name);
      const job = await queue.getJob(jobId);
      if (!job) {
        const r = list[0]!;
        if (r.job_id) await queue.add(INGEST_BATCH_JOB, ingestBatchData(list), this.jobOpts(jobId));
        else await queue.add(String(r.payload.kind ?? r.queue), r.payload, this.jobOpts(jobId));
        n += list.length;
      } else if (await job.isFailed()) {
        await job.retry('failed');
        n += list.length;
      }
    }
    if (n)
      this.log.warn({ count: n }, 'outbox relay: re-queued messages whose jobs were lost or failed while unfinished');
    return n;
  }

  /**
   * The ingest outbox rows relayed more than `olderThanSeconds` ago whose message is unfinished, oldest
   * first, at most BATCH: the few unfinished messages (message log) page by page, then their rows.
   */
  private async stuckIngestJobs(olderThanSeconds: number): Promise<OutboxRow[]> {
    const found: OutboxRow[] = [];
    for (let after: string | null = null; ;) {
      const ids = await unfinishedMessageIds(this.db, after, UNFINISHED_PAGE);
      if (!ids.length) break;
      found.push(...(await relayedJobsOf(this.db, INGEST_QUEUE, ids, olderThanSeconds, BATCH)));
      if (ids.length < UNFINISHED_PAGE) break;
      after = ids[ids.length - 1]!;
    }
    return found.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)).slice(0, BATCH);
  }

  private jobOpts(jobId: string) {
    return {
      jobId,
      attempts: 10,
      backoff: { type: 'exponential' as const, delay: 1000 },
      removeOnComplete: { age: this.keep.completedSeconds, count: 100_000 },
      removeOnFail: { age: this.keep.failedSeconds },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.gapTimer) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
    // A pass waiting on Redis is not waited for past the bound: its transaction has not committed,
    // and its rows are relayed by the next start.
    const until = Date.now() + STOP_WAIT_MS;
    while (this.running && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }
}

/** The name of an ingest job of several messages (its data: IngestBatchJob, queue/ingest-worker.ts). */
export const INGEST_BATCH_JOB = 'messages';

/** A batch job's messages: ids, kinds and request ids only (no personal data). */
function ingestBatchData(rows: readonly OutboxRow[]) {
  return {
    messages: rows.map((r) => ({
      message_id: String(r.payload.message_id),
      kind: String(r.payload.kind ?? ''),
      request_id: (r.payload.request_id as string | null | undefined) ?? null,
    })),
  };
}

/** The same rows, the same id: the first row's id and a hash of all of them (BullMQ ids hold no ':'). */
/**
 * A batch job's id, from its messages' ids (UUIDs, unique beyond this database): the same rows relayed
 * again are the same job. Not from the outbox row ids: those restart at 1 in a fresh database, and a
 * Redis that still keeps the completed jobs of an earlier database (a data directory removed, the
 * demo run again, a test database recreated) took the new rows' job for a duplicate of an old one and
 * never ran it — the messages stayed `accepted` for ever.
 */
function ingestJobId(rows: readonly OutboxRow[]): string {
  const ids = rows.map((r) => String(r.payload.message_id));
  const h = crypto.createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 24);
  return `msgs-${ids[0]}-${rows.length}-${h}`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new RedisNotConnected(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
