/**
 * The one composition root: builds every service with plain constructors, for the API, the worker
 * entry points, the CLI and the tests alike. Nothing else wires dependencies.
 */
import { Router, type Express } from 'express';
import type { Worker } from 'bullmq';
import type { Config } from './config/config';
import { openDb, type Db } from './db/db';
import { migrate } from './db/migrate';
import { createLogger, type Logger } from './logging/logger';
import { ClientRegistry } from './http/clients';
import { createApp } from './http/app';
import { SchemaValidator } from './schemas/validator';
import { ingestRouter, messagesRouter } from './ingest/routes';
import { discrepanciesRouter } from './discrepancies/routes';
import { Queues } from './queue/queues';
import { OutboxRelay } from './queue/outbox-relay';
import { createIngestWorker, type MessageHandlers } from './queue/ingest-worker';
import { loadRegionPolicies, type RegionPolicies } from './benefits';
import { WorkCalendar } from './deadlines';
import fs from 'node:fs';

export interface Gateway {
  cfg: Config;
  db: Db;
  log: Logger;
  queues: Queues;
  relay: OutboxRelay;
  clients: ClientRegistry;
  app: Express;
  handlers: MessageHandlers;
  /** Region policies (benefit rules and loop parameters), validated at start-up. */
  regions: RegionPolicies;
  calendar: WorkCalendar;
  now: () => number;
  startWorkers(): Worker[];
  close(): Promise<void>;
}

export interface BuildOptions {
  log?: Logger;
  clients?: ClientRegistry;
  /** The clock for signature windows and receipt times (tests move it). */
  now?: () => number;
}

export async function buildGateway(cfg: Config, opts: BuildOptions = {}): Promise<Gateway> {
  const log = opts.log ?? createLogger(cfg.logLevel);
  // Bad policy or calendar files stop start-up here, with the file and path in the message.
  const regions = loadRegionPolicies(cfg.regionsDir);
  const calendar = WorkCalendar.fromData(JSON.parse(fs.readFileSync(cfg.calendarFile, 'utf8')));
  const clients = opts.clients ?? ClientRegistry.fromFile(cfg.clientsFile);
  const db = await openDb(cfg);
  await migrate(db);
  const queues = new Queues(cfg.redisUrl, cfg.queuePrefix);
  const relay = new OutboxRelay(db, queues, log, cfg.outboxPollMs);
  const now = opts.now ?? Date.now;
  const validator = new SchemaValidator();
  const handlers: MessageHandlers = {};

  const health = Router();
  health.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  health.get('/readyz', async (_req, res) => {
    const [dbOk, redisOk] = await Promise.all([db.query('SELECT 1').then(() => true, () => false), queues.ping()]);
    res.status(dbOk && redisOk ? 200 : 503).json({ status: dbOk && redisOk ? 'ready' : 'not_ready', database: dbOk ? 'ok' : 'unreachable', redis: redisOk ? 'ok' : 'unreachable' });
  });

  const app = createApp({
    log,
    rateLimitPerSecond: cfg.rateLimitPerSecond,
    publicRouters: [health],
    apiRouters: [
      ingestRouter({ db, validator, clients, now, maxBodyBytes: cfg.maxBodyBytes, maxFeedBytes: cfg.maxFeedBytes, onCommitted: () => relay.kick() }),
      messagesRouter({ db, clients }),
      discrepanciesRouter({ db, clients, now }),
    ],
  });

  const workers: Worker[] = [];
  return {
    cfg, db, log, queues, relay, clients, app, handlers, regions, calendar, now,
    startWorkers() {
      const w = createIngestWorker({ db, redisUrl: cfg.redisUrl, prefix: cfg.queuePrefix, concurrency: cfg.workerConcurrency, handlers, log });
      workers.push(w);
      return [w];
    },
    async close() {
      await relay.stop();
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      await queues.close();
      await db.close();
    },
  };
}
