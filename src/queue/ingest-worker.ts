/**
 * The worker that applies accepted messages. It is a thin adapter: it loads the message rows, skips
 * those already processed (jobs are at-least-once), hands the rest to the handler of their kind
 * (the literal map in src/composition-root.ts), and records the outcome in the message log.
 *
 * Micro-batching: the jobs that are active at the same moment are applied together — one read of the
 * message log, one re-evaluation of the union of the settlements they affect, one status update —
 * instead of one by one (RESULTS.md, matching latency). A message is marked processed only after its
 * handler's work committed, exactly as before; if a batch fails, its messages are retried one at a time
 * so that a message that cannot be applied fails alone.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import type { MessageKind } from '../ingest/kinds';
import { claimMessages, markFailed, markProcessed } from '../ingest/message-store';

export interface MessageRow {
  message_id: string;
  kind: MessageKind;
  received_at: Date;
  request_id: string | null;
}
/**
 * Applies one or more stored messages of the kinds it is registered for, in one go. `finish(q)` marks
 * them processed in the handler's transaction `q`: a handler that writes in transactions calls it in
 * its last one, so `processed` commits with its work (one statement and one commit less per batch);
 * if it does not, the worker marks them processed once the handler has returned.
 */
export type MessageHandler = (msgs: readonly MessageRow[], finish: (q: Sql) => Promise<void>) => Promise<void>;
export type MessageHandlers = Partial<Record<MessageKind, MessageHandler>>;

export interface IngestProcessorDeps {
  db: Db;
  /** Messages applied together at most (the worker keeps twice as many jobs active). */
  batchSize: number;
  handlers: MessageHandlers;
  log: Logger;
  onJobDone?: (kind: string, ms: number, ok: boolean) => void;
}

export type Outcome = 'processed' | 'skipped';

/** Apply the messages `ids` together; every id gets its outcome, or the batch throws as a whole. */
export async function processMessages(
  db: Db,
  handlers: MessageHandlers,
  ids: readonly string[],
  log: Logger,
): Promise<Map<string, Outcome>> {
  // One statement: read the rows and mark the unprocessed ones as being processed.
  const rows = await claimMessages(db, ids);
  const byId = new Map(rows.map((r) => [r.message_id, r]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) throw new UnrecoverableError(`message ${missing[0]} is not in the message log`);

  const out = new Map<string, Outcome>();
  const todo: MessageRow[] = [];
  for (const r of rows) {
    if (r.status === 'processed') out.set(r.message_id, 'skipped');
    else todo.push({ message_id: r.message_id, kind: r.kind, received_at: r.received_at, request_id: r.request_id });
  }
  // One call per handler, with every message of the kinds it handles.
  const byHandler = new Map<MessageHandler, MessageRow[]>();
  for (const m of todo) {
    const h = handlers[m.kind];
    if (h) byHandler.set(h, [...(byHandler.get(h) ?? []), m]);
  }
  const finished = new Set<string>();
  for (const [h, msgs] of byHandler) {
    const ids = msgs.map((m) => m.message_id);
    let inTx = false;
    await h(msgs, async (q) => {
      await markProcessed(q, ids);
      inTx = true;
    });
    // The handler returned, so the transaction that marked them committed.
    if (inTx) for (const id of ids) finished.add(id);
  }
  const rest = todo.filter((m) => !finished.has(m.message_id));
  if (rest.length)
    await markProcessed(
      db,
      rest.map((m) => m.message_id),
    );
  for (const m of todo) {
    out.set(m.message_id, 'processed');
    log.debug({ message_id: m.message_id, kind: m.kind, request_id: m.request_id }, 'message processed');
  }
  return out;
}

export async function processMessage(
  db: Db,
  handlers: MessageHandlers,
  messageId: string,
  log: Logger,
): Promise<Outcome> {
  return (await processMessages(db, handlers, [messageId], log)).get(messageId)!;
}

interface Pending {
  id: string;
  resolve: (o: Outcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects the message ids submitted while a batch is being applied and applies them as the next
 * batch; at most `maxInFlight` batches run at once. A failed batch is retried message by message.
 */
export class MessageBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly apply: (ids: string[]) => Promise<Map<string, Outcome>>,
    private readonly batchSize: number,
    private readonly maxInFlight = 2,
  ) {}

  submit(id: string): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || !this.queue.length) return;
    this.scheduled = true;
    // Let the jobs BullMQ hands over in the same turn join this batch.
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight >= this.maxInFlight || !this.queue.length) return;
      const batch = this.queue.splice(0, this.batchSize);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
      this.schedule();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    // The same message twice in one batch (a job and its retry) is applied once.
    const ids = [...new Set(batch.map((p) => p.id))];
    try {
      const out = await this.apply(ids);
      for (const p of batch) p.resolve(out.get(p.id)!);
      return;
    } catch (e) {
      if (ids.length === 1) {
        for (const p of batch) p.reject(e);
        return;
      }
    }
    // One at a time: only a message that cannot be applied fails.
    for (const id of ids) {
      let res: { ok: true; o: Outcome } | { ok: false; e: unknown };
      try {
        res = { ok: true, o: (await this.apply([id])).get(id)! };
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

/** An ingest job of one message (as relayed before batch jobs, and for a row naming its own job id). */
export interface IngestJob {
  message_id: string;
  kind: string;
  request_id?: string | null;
}
/** An ingest job of several messages: the outbox relay's batch of a pass (outbox-relay.ts). */
export interface IngestBatchJob {
  messages: IngestJob[];
}
export type IngestJobData = IngestJob | IngestBatchJob;

/** The messages of an ingest job, either form. */
export function jobMessages(data: IngestJobData): IngestJob[] {
  return 'messages' in data && Array.isArray(data.messages) ? data.messages : [data as IngestJob];
}

/**
 * Jobs the ingest worker keeps active: a relay pass's job holds up to 64 messages (a few at a
 * trickle, tens under load), and the batcher should still see about two batches' worth at once.
 */
export function ingestJobsActive(batchSize: number): number {
  return Math.max(16, Math.ceil(batchSize / 4));
}

/** Messages of a job failed: each one's error, by message id (what markMessageFailed records). */
interface PerMessage {
  errors: Map<string, string>;
}
/** Some messages of a job failed; the job fails, and BullMQ tries it again. */
class MessagesFailed extends Error implements PerMessage {
  constructor(
    text: string,
    readonly errors: Map<string, string>,
  ) {
    super(text);
  }
}
/** Some messages of a job failed, each for good. */
class MessagesFailedForGood extends UnrecoverableError implements PerMessage {
  constructor(
    text: string,
    readonly errors: Map<string, string>,
  ) {
    super(text);
  }
}
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The 'ingest' queue's process function (started by startWorker: the root's startWorkers, workers/ingest.ts):
 * the messages of the jobs active at the same moment are applied together (MessageBatcher). A job of
 * several messages succeeds once each of them is processed (or was already); if one fails, the job
 * fails and BullMQ tries it again — the messages processed meanwhile are skipped then, so only the
 * failed ones are applied again. It fails for good at once only when each failure is for good.
 */
export function ingestProcessor(o: IngestProcessorDeps): (job: Job<IngestJobData>) => Promise<Outcome> {
  const batcher = new MessageBatcher((ids) => processMessages(o.db, o.handlers, ids, o.log), o.batchSize);
  return async (job) => {
    const t0 = performance.now();
    const msgs = jobMessages(job.data);
    const settled = await Promise.allSettled(
      msgs.map((m) =>
        batcher.submit(m.message_id).then(
          (r) => {
            o.onJobDone?.(m.kind, performance.now() - t0, true);
            return r;
          },
          (e: unknown) => {
            o.onJobDone?.(m.kind, performance.now() - t0, false);
            throw e;
          },
        ),
      ),
    );
    const failed: unknown[] = [];
    const errors = new Map<string, string>();
    settled.forEach((r, i) => {
      if (r.status !== 'rejected') return;
      failed.push(r.reason);
      errors.set(msgs[i]!.message_id, errorText(r.reason));
    });
    if (failed.length === 0)
      return settled.every((r) => r.status === 'fulfilled' && r.value === 'skipped') ? 'skipped' : 'processed';
    if (msgs.length === 1) throw failed[0];
    const text = `${failed.length} of ${msgs.length} messages failed; the first: ${errorText(failed[0])}`;
    throw failed.every((e) => e instanceof UnrecoverableError)
      ? new MessagesFailedForGood(text, errors)
      : new MessagesFailed(text, errors);
  };
}

/**
 * The messages of a job that failed for good are marked failed in the message log, unless processed
 * (a job of several messages fails for its unprocessed ones). (A job BullMQ fails as stalled lost its
 * worker — killed, OOM, deploy — not a fight with the message: not final; the outbox relay retries
 * it, requeueStuck. Found by the chaos test. startWorker: stalledRequeued.)
 */
export async function markMessageFailed(db: Db, job: Job<IngestJobData>, err: Error): Promise<void> {
  const own = (err as Partial<PerMessage>).errors;
  for (const m of jobMessages(job.data))
    await markFailed(db, m.message_id, [{ message: own?.get(m.message_id) ?? err.message }]);
}

/** The ids of an ingest job for its failure line (a job of several messages: how many, and the first). */
export const describeIngestJob = (job: Job<IngestJobData>) => {
  const msgs = jobMessages(job.data);
  const m = msgs[0];
  return {
    message_id: m?.message_id,
    request_id: m?.request_id ?? undefined,
    kind: m?.kind,
    ...(msgs.length > 1 ? { messages: msgs.length } : {}),
  };
};
