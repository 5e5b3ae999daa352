/**
 * BullMQ wiring. Producers fail fast when Redis is down (`enableOfflineQueue: false`): the outbox
 * keeps the work and the relay tries again. Workers wait for Redis forever
 * (`maxRetriesPerRequest: null`), as BullMQ's production guide asks.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';

export function producerConnection(url: string): Redis {
  const r = new IORedis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false, retryStrategy: (n) => Math.min(n * 200, 2000) });
  r.on('error', () => undefined); // reconnects by itself; the relay reports failures
  return r;
}

export function workerConnection(url: string): Redis {
  const r = new IORedis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
  r.on('error', () => undefined);
  return r;
}

export class Queues {
  private readonly queues = new Map<string, Queue>();
  readonly connection: Redis;

  constructor(readonly redisUrl: string, readonly prefix: string) {
    this.connection = producerConnection(redisUrl);
  }

  get(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection as ConnectionOptions, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  all(): Queue[] { return [...this.queues.values()]; }

  async ping(): Promise<boolean> {
    try { return (await this.connection.ping()) === 'PONG'; } catch { return false; }
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close().catch(() => undefined)));
    this.connection.disconnect();
  }
}
