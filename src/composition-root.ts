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
import { reconciliationRouter } from './reconciliation/routes';
import { scheduleNightlyRuns, startReconciliationWorker } from './reconciliation/reconciliation-worker';
import { settlementsRouter } from './settlements/routes';
import { RECHECK_QUEUE, registerMatching, startMatchingWorkers } from './matching/register';
import { RECONCILIATION_QUEUE } from './reconciliation/run-store';
import { NOTIFICATIONS_QUEUE } from './notifications/critical-hook';
import { DELIVERIES_QUEUE } from './notifications/delivery-store';
import { closeWorkers, Queues } from './queue/queues';
import { OutboxRelay } from './queue/outbox-relay';
import { createIngestWorker, type MessageHandlers } from './queue/ingest-worker';
import { loadRegionPolicies, type RegionPolicies } from './benefits';
import { benefitsRouter } from './benefits/routes';
import { startBenefitWorker } from './benefits/benefit-worker';
import { createBenefitView } from './benefits/benefit-view';
import { WorkCalendar } from './deadlines';
import { GatewayMetrics, metricsRouter } from './metrics';
import { openApiRouter } from './openapi/openapi-router';
import { loadSubscribersFile, notificationsRouter, startNotificationWorkers } from './notifications';
import { BENEFITS_QUEUE, INGEST_QUEUE } from './ingest/message-store';
import { consoleRouter } from './console/console-router';
import { messageSearchRouter } from './console/message-search';
import { ensureBodyPartitions } from './lifecycle/partitions';
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
  /** This gateway's Prometheus registry and counters (GET /metrics). */
  metrics: GatewayMetrics;
  startWorkers(): Worker[];
  /**
   * Stop the relay and the workers, then the connections. Bounded whatever is unreachable: workers
   * get `graceMs` (default 5 s) to finish their active jobs, none without Redis (closeWorkers).
   */
  close(o?: { graceMs?: number }): Promise<void>;
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
  const queues = new Queues(cfg.redisUrl, cfg.queuePrefix, log);
  const relay = new OutboxRelay(db, queues, log, cfg.outboxPollMs, { completedSeconds: cfg.jobsKeepCompletedSeconds, failedSeconds: cfg.jobsKeepFailedSeconds, requeueAfterSeconds: cfg.outboxRequeueSeconds });
  const now = opts.now ?? Date.now;
  // Raw-body partitions for this month and the next ones (src/lifecycle); idempotent.
  await db.tx((q) => ensureBodyPartitions(q, new Date(now())));
  // A bad subscribers file stops start-up, like a bad clients file.
  await loadSubscribersFile(db, cfg.subscribersFile, new Date(now()), cfg.subscriberAllowHosts);
  const validator = new SchemaValidator();
  const handlers: MessageHandlers = {};

  const health = Router();
  health.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  health.get('/readyz', async (_req, res) => {
    // db.ping: its own connection, so a pool saturated by feeds or reads does not starve readiness.
    const [dbOk, redisOk] = await Promise.all([db.ping ? db.ping() : db.query('SELECT 1').then(() => true, () => false), queues.ping()]);
    res.status(dbOk && redisOk ? 200 : 503).json({ status: dbOk && redisOk ? 'ready' : 'not_ready', database: dbOk ? 'ok' : 'unreachable', redis: redisOk ? 'ok' : 'unreachable' });
  });

  const metrics = new GatewayMetrics({ db, queues, queueNames: [INGEST_QUEUE, BENEFITS_QUEUE, RECHECK_QUEUE, RECONCILIATION_QUEUE, NOTIFICATIONS_QUEUE, DELIVERIES_QUEUE], now });
  const app: Express = createApp({
    log,
    rateLimitPerSecond: cfg.rateLimitPerSecond,
    unverifiedRateLimitPerSecond: cfg.unverifiedRateLimitPerSecond,
    onRequest: metrics.onRequest,
    publicRouters: [health, metricsRouter(metrics), openApiRouter(() => app), consoleRouter({ clients, queues, now })],
    apiRouters: [
      ingestRouter({ db, validator, clients, now, maxBodyBytes: cfg.maxBodyBytes, maxFeedBytes: cfg.maxFeedBytes, onCommitted: () => relay.kick(), onOutcome: metrics.onOutcome,
        feed: { maxRecordBytes: cfg.feedMaxRecordBytes, concurrencyPerClient: cfg.feedConcurrencyPerClient, spoolDir: cfg.feedSpoolDir } }),
      messagesRouter({ db, clients }),
      messageSearchRouter({ db, clients }),
      // Before discrepanciesRouter: /v1/discrepancies/export must not be read as a discrepancy id.
      reconciliationRouter({ db, clients, now, onCommitted: () => relay.kick() }),
      discrepanciesRouter({ db, clients, now }),
      settlementsRouter({ db, clients, now, regions, calendar, benefitView: createBenefitView({ db, regions }) }),
      benefitsRouter({ db, clients, regions }),
      notificationsRouter({ db, clients, queues, log, now, onCommitted: () => relay.kick(), subscriberAllowHosts: cfg.subscriberAllowHosts }),
    ],
  });

  registerMatching({ db, log, queues, handlers, regions, calendar, now });
  const workers: Worker[] = [];
  return {
    cfg, db, log, queues, relay, clients, app, handlers, regions, calendar, now, metrics,
    startWorkers() {
      const w = createIngestWorker({ db, redisUrl: cfg.redisUrl, prefix: cfg.queuePrefix, batchSize: cfg.ingestBatchSize, handlers, log, onJobDone: metrics.onJobDone });
      const matching = startMatchingWorkers({ db, log, queues, regions, calendar, now, cfg });
      const benefits = startBenefitWorker({ db, regions, cfg, log, now });
      // `this` is the gateway being returned (the contextual type of an async function's literal is widened).
      const reconciliation = startReconciliationWorker(this as Gateway);
      void scheduleNightlyRuns(this as Gateway).catch((err) => log.error({ err }, 'could not schedule the nightly reconciliation runs'));
      const notifications = startNotificationWorkers({ cfg, db, log, relay, now, clients });
      workers.push(w, ...matching, benefits, reconciliation, ...notifications);
      return [w, ...matching, benefits, reconciliation, ...notifications];
    },
    async close(o: { graceMs?: number } = {}) {
      await relay.stop();
      const redisReachable = !queues.redisUnreachable && await queues.ping();
      const how = await closeWorkers(workers, { graceMs: o.graceMs ?? 5_000, redisReachable });
      if (how === 'forced' && redisReachable) log.warn({ grace_ms: o.graceMs ?? 5_000 }, 'workers stopped before their active jobs finished; those jobs run again (at-least-once)');
      else if (how === 'forced' && workers.length) log.info('workers stopped at once (Redis unreachable)');
      await queues.close();
      await db.close();
    },
  };
}
