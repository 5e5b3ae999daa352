/**
 * The worker that applies accepted messages. It is a thin adapter: it loads the message row, skips
 * one already processed (jobs are at-least-once), hands it to the handler for its kind (matching
 * registers these), and records the outcome in the message log.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { MessageKind } from '../ingest/kinds';
import { INGEST_QUEUE } from '../ingest/message-store';
import { workerConnection } from './queues';

export interface MessageRow { message_id: string; kind: MessageKind; received_at: Date; request_id: string | null }
export type MessageHandler = (msg: MessageRow) => Promise<void>;
export type MessageHandlers = Partial<Record<MessageKind, MessageHandler>>;

export interface IngestWorkerOptions {
  db: Db;
  redisUrl: string;
  prefix: string;
  concurrency: number;
  handlers: MessageHandlers;
  log: Logger;
  onJobDone?: (kind: string, ms: number, ok: boolean) => void;
}

export async function processMessage(db: Db, handlers: MessageHandlers, messageId: string, log: Logger): Promise<'processed' | 'skipped'> {
  const { rows } = await db.query<MessageRow & { status: string }>(
    'SELECT message_id, kind, status, received_at, request_id FROM messages WHERE message_id = $1', [messageId],
  );
  const msg = rows[0];
  if (!msg) throw new UnrecoverableError(`message ${messageId} is not in the message log`);
  if (msg.status === 'processed') return 'skipped';
  await db.query(`UPDATE messages SET status = 'processing' WHERE message_id = $1 AND status <> 'processed'`, [messageId]);
  const handler = handlers[msg.kind];
  if (handler) await handler(msg);
  await db.query(`UPDATE messages SET status = 'processed', processed_at = now(), errors = NULL WHERE message_id = $1`, [messageId]);
  log.debug({ message_id: messageId, kind: msg.kind, request_id: msg.request_id }, 'message processed');
  return 'processed';
}

export function createIngestWorker(o: IngestWorkerOptions): Worker {
  const connection = workerConnection(o.redisUrl);
  const worker = new Worker(
    INGEST_QUEUE,
    async (job: Job<{ message_id: string; kind: string; request_id?: string | null }>) => {
      const t0 = performance.now();
      try {
        const r = await processMessage(o.db, o.handlers, job.data.message_id, o.log);
        o.onJobDone?.(job.data.kind, performance.now() - t0, true);
        return r;
      } catch (e) {
        o.onJobDone?.(job.data.kind, performance.now() - t0, false);
        throw e;
      }
    },
    { connection: connection as ConnectionOptions, prefix: o.prefix, concurrency: o.concurrency, autorun: true },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    // A job BullMQ fails as stalled lost its worker (killed, OOM, deploy), not a fight with the
    // message: not final. The outbox relay retries it (requeueStuck). Found by the chaos test.
    const stalled = /stalled more than allowable limit/.test(err.message);
    const final = !stalled && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1));
    o.log[final ? 'error' : 'warn']({ err, message_id: job.data.message_id, request_id: job.data.request_id ?? undefined, kind: job.data.kind, attempt: job.attemptsMade }, final ? 'message failed for good' : 'message failed; will retry');
    if (final) {
      void o.db.query(`UPDATE messages SET status = 'failed', errors = $2 WHERE message_id = $1 AND status <> 'processed'`, [job.data.message_id, JSON.stringify([{ message: err.message }])]).catch(() => undefined);
    }
  });
  worker.on('error', (err) => o.log.warn({ err }, 'ingest worker: connection problem'));
  // BullMQ leaves a connection it was given open; this one is ours to close.
  worker.on('closed', () => connection.disconnect());
  return worker;
}
