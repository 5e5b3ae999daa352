/**
 * Worker threads for the agency feed's per-record work (parse, validate, normalise, hash, serialise:
 * feed-validate-worker.ts), so that one thread streams the body and writes to PostgreSQL while the
 * others check records. Batches go round-robin and come back in the order they were sent.
 *
 * A worker that fails (crashes, exits, throws) loses nothing: each batch it had not answered is run
 * again on the calling thread with the same code, so the records get exactly the results they would
 * have had; the pool starts a new worker for later batches.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Lang } from '../schemas/validator';
import type { FeedClient, PreparedBatch } from './feed-records';

export interface FeedJob {
  bytes: Uint8Array;
  start: number;
  client: FeedClient;
  lang: Lang;
}
/** The thread's answer to a job (feed-validate-worker.ts). */
export type FeedReply = { id: number; batch: PreparedBatch } | { id: number; error: string };

interface Pending {
  inThread: () => PreparedBatch;
  onWorkerError: (e: Error) => void;
  resolve: (b: PreparedBatch) => void;
  reject: (e: unknown) => void;
}
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  failed: boolean;
}

const IDLE_MS = 60_000;

// The gateway runs TypeScript through tsx, the tests through @swc/jest; a worker thread has neither
// hook, so it registers tsx's before loading the worker file.
const WORKER_FILE = path.join(__dirname, 'feed-validate-worker.ts');
const BOOT = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(WORKER_FILE)});`;

export class FeedWorkers {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private turn = 0;
  private idle: NodeJS.Timeout | undefined;
  /** Batches a failed worker left, run on the calling thread instead. */
  inThreadBatches = 0;

  constructor(private readonly size: number) {}

  /** Starts the workers now (they take a moment to compile the schemas), rather than on the first batch. */
  warm(): void {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
  }

  /** Checks one batch in a worker; `inThread` is the same work on this thread, used when a worker fails. */
  run(job: FeedJob, inThread: () => PreparedBatch, onWorkerError: (e: Error) => void): Promise<PreparedBatch> {
    clearTimeout(this.idle);
    this.warm();
    const slot = this.slots[this.turn++ % this.slots.length]!;
    const id = this.nextId++;
    return new Promise<PreparedBatch>((resolve, reject) => {
      slot.pending.set(id, { inThread, onWorkerError, resolve, reject });
      slot.worker.postMessage({ ...job, id });
    });
  }

  /** Workers currently holding unanswered batches (for tests). */
  get busy(): number {
    return this.slots.filter((s) => s.pending.size > 0).length;
  }

  /** Stops every worker; their unanswered batches are run on this thread. */
  async terminate(): Promise<void> {
    await Promise.all(this.slots.slice().map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(BOOT, { eval: true }), pending: new Map(), failed: false };
    slot.worker.on('message', (m: FeedReply) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if ('batch' in m) p.resolve(m.batch);
      else this.runInThread(p, new Error(`feed worker failed on a batch: ${m.error}`));
      if (this.slots.every((s) => s.pending.size === 0)) this.stopWhenIdle();
    });
    slot.worker.on('error', (e) => this.fail(slot, e));
    slot.worker.on('exit', (code) => this.fail(slot, new Error(`feed worker exited with code ${code}`)));
    // An idle pool must not keep a process (a CLI, a test) alive; after the listeners, which ref it again.
    slot.worker.unref();
    return slot;
  }

  /** Idle workers hold memory (a compiled validator each): they stop after IDLE_MS without a batch. */
  private stopWhenIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      for (const s of this.slots.splice(0)) {
        s.failed = true;
        void s.worker.terminate();
      }
    }, IDLE_MS);
    this.idle.unref();
  }

  private fail(slot: Slot, e: Error): void {
    if (slot.failed) return;
    slot.failed = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    for (const p of pending) this.runInThread(p, e);
  }

  private runInThread(p: Pending, e: Error): void {
    this.inThreadBatches++;
    p.onWorkerError(e);
    try {
      p.resolve(p.inThread());
    } catch (err) {
      p.reject(err);
    }
  }
}

/**
 * One pool per process. Two workers: with the stream and the inserts on the main thread and the
 * INSERTs in PostgreSQL, the per-record work is the longest stage, and splitting it keeps it from
 * being the only one that waits.
 */
let pool: FeedWorkers | undefined;
export function feedWorkers(): FeedWorkers {
  pool ??= new FeedWorkers(2);
  return pool;
}
