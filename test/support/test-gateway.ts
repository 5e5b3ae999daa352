/**
 * A real gateway for e2e tests: its own PostgreSQL database and BullMQ prefix per test file, the
 * express app on an ephemeral loopback port, and helpers that sign writes with the public
 * `standardwebhooks` library (not our own signing code).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import crypto from 'node:crypto';
import axios, { type AxiosResponse } from 'axios';
import { Webhook } from 'standardwebhooks';
import { sign } from '../../src/http/signature';
import { listen } from '../../src/http/server';
import IORedis from 'ioredis';
import { loadConfig, queueKeyPrefix, type Config } from '../../src/config/config';
import { buildGateway, type Gateway } from '../../src/composition-root';
import { createLogger } from '../../src/logging/logger';
import { createTestDatabase } from './test-db';
import { TEST_CLIENTS, testClientRegistry, type TestClientName } from './test-clients';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestGateway {
  gw: Gateway;
  cfg: Config;
  baseUrl: string;
  dbUrl: string;
  /** Signed POST as a test client. */
  post(path: string, body: unknown, as: TestClientName, opts?: PostOptions): Promise<AxiosResponse>;
  get(path: string, as: TestClientName | null, headers?: Record<string, string>): Promise<AxiosResponse>;
  /** Wait until every accepted message is processed (or failed). */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface PostOptions {
  contentType?: string;
  webhookId?: string;
  timestamp?: Date;
  secret?: string;
  signature?: string;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  omitSignature?: boolean;
}

export async function startTestGateway(
  name: string,
  o: { workers?: boolean; env?: Record<string, string>; now?: () => number; adminDbUrl?: string } = {},
): Promise<TestGateway> {
  const db = await createTestDatabase(name, o.adminDbUrl);
  const prefix = `gwt-${name}-${process.pid}`;
  const cfg = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    GATEWAY_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    GATEWAY_OUTBOX_POLL_MS: '200',
    GATEWAY_DB_POOL_SIZE: '6',
    ...o.env,
  });
  const gw = await buildGateway(cfg, { clients: testClientRegistry(), log: createLogger('silent'), now: o.now });
  gw.relay.start();
  if (o.workers !== false) gw.startWorkers();
  // The production server (src/http/server.ts): its timeouts and keep-alive, not express's defaults.
  const server: Server = await listen(gw, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = axios.create({
    baseURL: baseUrl,
    validateStatus: () => true,
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    transformResponse: (d) => {
      try {
        return JSON.parse(d);
      } catch {
        return d;
      }
    },
  });

  return {
    gw,
    cfg,
    baseUrl,
    dbUrl: db.url,
    async post(path, body, as, p = {}) {
      const c = TEST_CLIENTS[as];
      const raw = p.raw ?? (typeof body === 'string' ? body : JSON.stringify(body));
      const id = p.webhookId ?? `msg_${crypto.randomUUID()}`;
      const ts = p.timestamp ?? new Date(o.now ? o.now() : Date.now());
      const headers: Record<string, string> = {
        'content-type': p.contentType ?? 'application/json',
        'x-client-id': c.client_id,
        ...p.headers,
      };
      if (!p.omitSignature) {
        headers['webhook-id'] = id;
        headers['webhook-timestamp'] = String(Math.floor(ts.getTime() / 1000));
        // The public library signs text; raw bytes that are not UTF-8 (a test of ours) are signed as bytes.
        headers['webhook-signature'] =
          p.signature ??
          (Buffer.isBuffer(raw)
            ? sign(p.secret ?? c.secret, id, Math.floor(ts.getTime() / 1000), raw)
            : new Webhook(p.secret ?? c.secret).sign(id, ts, raw));
      }
      return http.post(path, raw, { headers, transformRequest: (d) => d });
    },
    get(path, as, headers = {}) {
      return http.get(path, {
        headers: { ...(as ? { authorization: `Bearer ${TEST_CLIENTS[as].token}` } : {}), ...headers },
      });
    },
    async drain(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await gw.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM messages WHERE status IN ('accepted','processing')`,
        );
        const pending = await gw.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL');
        if (Number(rows[0]!.n) === 0 && Number(pending.rows[0]!.n) === 0) return;
        if (Date.now() > until) throw new Error(`messages still pending after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await new Promise((r) => server.close(r));
      await gw.close();
      await obliterateQueues(prefix);
      await db.drop();
    },
  };
}

/** Remove every key of a test's queue prefix (given bare or as its hash tag). */
export async function obliterateQueues(prefix: string): Promise<void> {
  const r = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${queueKeyPrefix(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
