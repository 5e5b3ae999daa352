/**
 * BullMQ wiring. Producers fail fast when Redis is down (`enableOfflineQueue: false`): the outbox
 * keeps the work and the relay tries again. Workers wait for Redis forever
 * (`maxRetriesPerRequest: null`), as BullMQ's production guide asks. Every connection reconnects by
 * itself with backoff (`retryStrategy`) and reports to the process's RedisStatus, which says once
 * that Redis is unreachable and once that it is back (redis-status.ts) instead of a line per attempt.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { redisStatus } from './redis-status';

export { workerErrorLog } from './redis-status';

export {
  INGEST_QUEUE,
  BENEFITS_QUEUE,
  RECHECK_QUEUE,
  RECONCILIATION_QUEUE,
  NOTIFICATIONS_QUEUE,
  DELIVERIES_QUEUE,
  QUEUE_NAMES,
  type QueueName,
} from './queue-names';

/** Reconnect after 200 ms, 400 ms, 800 ms … at most every 5 s: quick after a blip, quiet in an outage. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 10), 5_000);
}

export function producerConnection(url: string): Redis {
  const r = new IORedis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    retryStrategy: reconnectDelay,
  });
  return redisStatus(url).watch(r); // its 'error' listener also keeps ioredis from printing each failure
}

export function workerConnection(url: string): Redis {
  const r = new IORedis(url, { maxRetriesPerRequest: null, retryStrategy: reconnectDelay });
  return redisStatus(url).watch(r);
}

export class Queues {
  private readonly queues = new Map<string, Queue>();
  readonly connection: Redis;

  /** `log`: where the process's one "Redis is unreachable" line goes (redis-status.ts). */
  constructor(
    readonly redisUrl: string,
    readonly prefix: string,
    log?: Logger,
  ) {
    if (log) redisStatus(redisUrl).useLogger(log);
    this.connection = producerConnection(redisUrl);
  }

  /** Whether a connection failed to reach Redis since it last answered. */
  get redisUnreachable(): boolean {
    return redisStatus(this.redisUrl).unreachable;
  }

  /**
   * Whether the producers' connection is up now. BullMQ's `add` waits for a connection that is not
   * ready (whatever `enableOfflineQueue` says), so callers holding something — the relay holds a
   * transaction, and PGlite has one connection — look here first.
   */
  get connected(): boolean {
    return this.connection.status === 'ready';
  }

  get(name: string): Queue {
    const known = this.queues.get(name);
    if (known) return known;
    const q = new Queue(name, { connection: this.connection as ConnectionOptions, prefix: this.prefix });
    q.on('error', () => undefined);
    // BullMQ keeps a failed start (Redis lost while it asks the server's version) for good: every
    // later add fails with it. Dropped, the next get() builds a fresh queue (found by
    // outbox-redis-down.test.ts once the console created the queues at start-up).
    q.waitUntilReady().catch(() => {
      if (this.queues.get(name) === q) this.queues.delete(name);
      void q.close().catch(() => undefined);
    });
    this.queues.set(name, q);
    return q;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.connection.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close().catch(() => undefined)));
    this.connection.disconnect();
  }
}
