/**
 * The one composition root: builds every service with plain constructors, for the API, the worker
 * entry points, the CLI and the tests alike. Nothing else wires dependencies.
 */
import { applyFundMessages } from './fund/premium-chain-service';
import { Router, type Express } from 'express';
import type { Worker } from 'bullmq';
import type { Config } from './config/config';
import { openDb, type Db } from './db/db';
import { migrate } from './db/migrate';
import { createLogger, type Logger } from './logging/logger';
import { ClientRegistry } from './http/clients';
import { createApp } from './http/app';
import { keysRouter } from './http/keys-route';
import { loadOrCreateGatewaySm2Key } from './http/sm2';
import { SchemaValidator } from './schemas/validator';
import { ingestRouter, messagesRouter } from './ingest/routes';
import { discrepanciesRouter } from './discrepancies/routes';
import { caseAnswersRouter } from './discrepancies/answer-routes';
import { reconciliationRouter } from './reconciliation/routes';
import { reportsRouter } from './reports/routes';
import { fundStatementRouter } from './fund/statement-routes';
import {
  onReconciliationJobFailed,
  processReconciliationJob,
  scheduleNightlyRuns,
  type ReconciliationJob,
  type ReconciliationWorkerDeps,
} from './reconciliation/reconciliation-worker';
import { settlementsRouter } from './settlements/routes';
import { applyMessages, processRecheck, type MatchingServiceDeps, type RecheckJob } from './matching/matching-service';
import {
  BENEFITS_QUEUE,
  DELIVERIES_QUEUE,
  INGEST_QUEUE,
  NOTIFICATIONS_QUEUE,
  QUEUE_NAMES,
  Queues,
  RECHECK_QUEUE,
  RECONCILIATION_QUEUE,
  type QueueName,
} from './queue/queues';
import { OutboxRelay } from './queue/outbox-relay';
import { closeWorkers, startWorker } from './queue/start-worker';
import {
  describeIngestJob,
  ingestJobsActive,
  ingestProcessor,
  markMessageFailed,
  type IngestJobData,
  type IngestProcessorDeps,
  type MessageHandler,
  type MessageHandlers,
} from './queue/ingest-worker';
import { loadRegionPolicies, type RegionPolicies } from './benefits';
import { benefitsRouter } from './benefits/routes';
import {
  BENEFIT_JOBS_ACTIVE,
  benefitProcessor,
  type BenefitJob,
  type BenefitWorkerDeps,
} from './benefits/benefit-worker';
import { createBenefitView } from './benefits/benefit-view';
import { WorkCalendar } from './deadlines';
import { GatewayMetrics, metricsRouter } from './metrics';
import { openApiRouter } from './openapi/openapi-router';
import {
  createDestinationGuard,
  createHttpSender,
  deliveryLockMs,
  loadSubscribersFile,
  notificationsRouter,
  processDeliveryJob,
  processNotificationJob,
  warnIfShortSchedule,
  type DeliveryDeps,
  type DeliveryJob,
  type FanOutDeps,
  type NotificationJob,
} from './notifications';
import { consoleRouter } from './console/console-router';
import { messageSearchRouter } from './console/message-search';
import { platformRouter } from './platform/routes';
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
  /** Who applies which kind of stored message (the ingest worker calls them); tests may replace one. */
  handlers: MessageHandlers;
  /** Region policies (benefit rules and loop parameters), validated at start-up. */
  regions: RegionPolicies;
  calendar: WorkCalendar;
  now: () => number;
  /** This gateway's Prometheus registry and counters (GET /metrics). */
  metrics: GatewayMetrics;
  /** Start the workers of `queues` (default: every queue) in this process; see `workerOf` in buildGateway. */
  startWorkers(queues?: readonly QueueName[]): Worker[];
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
  // The gateway's SM2 key (v1sm2 deliveries, GET /v1/keys): made on first start unless configured.
  const sm2Key = loadOrCreateGatewaySm2Key(cfg.sm2PrivateKey);
  const db = await openDb(cfg);
  await migrate(db);
  const queues = new Queues(cfg.redisUrl, cfg.queuePrefix, log);
  const relay = new OutboxRelay(db, queues, log, cfg.outboxPollMs, {
    completedSeconds: cfg.jobsKeepCompletedSeconds,
    failedSeconds: cfg.jobsKeepFailedSeconds,
    requeueAfterSeconds: cfg.outboxRequeueSeconds,
  });
  const now = opts.now ?? Date.now;
  // Raw-body partitions for this month and the next ones (src/lifecycle); idempotent.
  await db.tx((q) => ensureBodyPartitions(q, new Date(now())));
  // A bad subscribers file stops start-up, like a bad clients file.
  await loadSubscribersFile(db, cfg.subscribersFile, new Date(now()), cfg.subscriberAllowHosts);
  const validator = new SchemaValidator();

  const health = Router();
  health.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  health.get('/readyz', async (_req, res) => {
    // db.ping: its own connection, so a pool saturated by feeds or reads does not starve readiness.
    const [dbOk, redisOk] = await Promise.all([
      db.ping
        ? db.ping()
        : db.query('SELECT 1').then(
            () => true,
            () => false,
          ),
      queues.ping(),
    ]);
    res.status(dbOk && redisOk ? 200 : 503).json({
      status: dbOk && redisOk ? 'ready' : 'not_ready',
      database: dbOk ? 'ok' : 'unreachable',
      redis: redisOk ? 'ok' : 'unreachable',
    });
  });

  const metrics = new GatewayMetrics({ db, queues, queueNames: [...QUEUE_NAMES], now });
  const app: Express = createApp({
    log,
    rateLimitPerSecond: cfg.rateLimitPerSecond,
    unverifiedRateLimitPerSecond: cfg.unverifiedRateLimitPerSecond,
    onRequest: metrics.onRequest,
    publicRouters: [
      health,
      metricsRouter(metrics),
      openApiRouter(() => app),
      consoleRouter({ clients, queues, now }),
      keysRouter({ sm2PublicKey: sm2Key.publicKey }),
    ],
    apiRouters: [
      ingestRouter({
        db,
        validator,
        clients,
        now,
        maxBodyBytes: cfg.maxBodyBytes,
        maxFeedBytes: cfg.maxFeedBytes,
        onCommitted: () => relay.kick(),
        onOutcome: metrics.onOutcome,
        feed: {
          maxRecordBytes: cfg.feedMaxRecordBytes,
          concurrencyPerClient: cfg.feedConcurrencyPerClient,
          spoolDir: cfg.feedSpoolDir,
        },
      }),
      // The platform's envelope (spec §9): 2207/2208 go through the feed's path, 3201 reads the ledger.
      platformRouter({
        db,
        validator,
        clients,
        now,
        maxBodyBytes: cfg.maxPlatformBodyBytes,
        onCommitted: () => relay.kick(),
        onOutcome: metrics.onOutcome,
        platformMappingFor: (admdvs) => regions.regionFor(admdvs)?.document.platform,
        calendar,
        loopParamsFor: (admdvs) => regions.loopParamsFor(admdvs),
      }),
      messagesRouter({ db, clients }),
      messageSearchRouter({ db, clients }),
      // Before discrepanciesRouter: /v1/discrepancies/export must not be read as a discrepancy id.
      reconciliationRouter({ db, clients, now, onCommitted: () => relay.kick() }),
      fundStatementRouter({ db, clients, now, onCommitted: () => relay.kick() }),
      reportsRouter({ db, clients }),
      discrepanciesRouter({ db, clients, now }),
      caseAnswersRouter({ db, clients, now, onCommitted: () => relay.kick() }),
      settlementsRouter({ db, clients, now, regions, calendar, benefitView: createBenefitView({ db, regions }) }),
      benefitsRouter({ db, clients, regions }),
      notificationsRouter({
        db,
        clients,
        queues,
        log,
        now,
        onCommitted: () => relay.kick(),
        subscriberAllowHosts: cfg.subscriberAllowHosts,
      }),
    ],
  });

  // Each feature gets exactly what it uses (its `…Deps` type), never the gateway.
  const matching: MatchingServiceDeps = { db, log, queues, regions, calendar, now };
  const benefits: BenefitWorkerDeps = { db, regions, log, now };
  const reconciliation: ReconciliationWorkerDeps = {
    db,
    regions,
    calendar,
    log,
    now,
    relay,
    cfg: { agencyPullUrl: cfg.agencyPullUrl, agencyPullToken: cfg.agencyPullToken },
  };
  const fanOut: FanOutDeps = { db, log, now, relay, clients };
  const deliveries: DeliveryDeps = {
    db,
    log,
    now,
    scheduleMs: cfg.deliveryScheduleMs,
    timeoutMs: cfg.deliveryTimeoutMs,
    disableAfterDays: cfg.subscriberDisableAfterDays,
    send: createHttpSender(createDestinationGuard(cfg.subscriberAllowHosts)),
    sm2Key,
  };

  // Who handles which kind of stored message: the ingest worker hands each message to the handler
  // of its kind. agency_disbursement and spending_plan have none: their facts are read by the
  // reconciliation report, and their messages are marked processed as they are.
  const matchMessages: MessageHandler = (msgs, finish) => applyMessages(matching, msgs, finish);
  const fundMessages: MessageHandler = async (msgs) => {
    await applyFundMessages(
      db,
      { regions },
      msgs.map((m) => m.message_id),
      new Date(now()),
    );
  };
  const handlers: MessageHandlers = {
    agency_settlements: matchMessages,
    settlement_batch: matchMessages,
    insurer_payment: matchMessages,
    recovery: matchMessages,
    // The premium chain (spec §8): the region-periods a collection or transfer touches, re-judged.
    premium_collection: fundMessages,
    fund_transfer: fundMessages,
  };

  // Who processes which queue. npm start and workers/all.ts start them all; workers/<queue>.ts one.
  const redis = { redisUrl: cfg.redisUrl, prefix: cfg.queuePrefix, log };
  const ingest: IngestProcessorDeps = {
    db,
    handlers,
    log,
    batchSize: cfg.ingestBatchSize,
    onJobDone: metrics.onJobDone,
  };
  const workerOf: Record<QueueName, () => Worker> = {
    [INGEST_QUEUE]: () =>
      startWorker<IngestJobData>(INGEST_QUEUE, ingestProcessor(ingest), {
        ...redis,
        // A job holds the messages of a relay pass (up to 64): enough jobs for about two batches.
        concurrency: ingestJobsActive(cfg.ingestBatchSize),
        what: 'message',
        describe: describeIngestJob,
        // A stalled ingest job is re-queued by the outbox relay (requeueStuck), so it is not final.
        stalledRequeued: true,
        onFinalFailure: (job, err) => markMessageFailed(db, job, err),
      }),
    [BENEFITS_QUEUE]: () =>
      startWorker<BenefitJob>(BENEFITS_QUEUE, benefitProcessor(benefits), {
        ...redis,
        concurrency: BENEFIT_JOBS_ACTIVE,
        what: 'benefit audit',
        describe: (job) => ({ message_id: job.data.message_id }),
      }),
    [RECHECK_QUEUE]: () =>
      startWorker<RecheckJob>(RECHECK_QUEUE, (job) => processRecheck(matching, job), {
        ...redis,
        concurrency: cfg.workerConcurrency,
        what: 'settlement re-check',
      }),
    [RECONCILIATION_QUEUE]: () => {
      const w = startWorker<ReconciliationJob>(
        RECONCILIATION_QUEUE,
        (job) => processReconciliationJob(reconciliation, job),
        {
          ...redis,
          concurrency: 2,
          what: 'reconciliation job',
          describe: (job) => ({ job: job.name, data: job.data }),
          onFinalFailure: (job, err) => onReconciliationJobFailed(reconciliation, job, err),
        },
      );
      void scheduleNightlyRuns({ queues, cfg }).catch((err) =>
        log.error({ err }, 'could not schedule the nightly reconciliation runs'),
      );
      return w;
    },
    [NOTIFICATIONS_QUEUE]: () =>
      startWorker<NotificationJob>(NOTIFICATIONS_QUEUE, (job) => processNotificationJob(fanOut, job), {
        ...redis,
        concurrency: cfg.workerConcurrency,
        what: 'notification job',
      }),
    [DELIVERIES_QUEUE]: () => {
      warnIfShortSchedule(cfg.deliveryScheduleMs, log);
      return startWorker<DeliveryJob>(DELIVERIES_QUEUE, (job, token) => processDeliveryJob(deliveries, job, token), {
        ...redis,
        concurrency: cfg.workerConcurrency,
        what: 'delivery job',
        describe: (job) => ({ delivery_id: job.data.delivery_id }),
        lockDuration: deliveryLockMs(cfg.deliveryTimeoutMs),
      });
    },
  };

  const workers: Worker[] = [];
  return {
    cfg,
    db,
    log,
    queues,
    relay,
    clients,
    app,
    handlers,
    regions,
    calendar,
    now,
    metrics,
    startWorkers(names: readonly QueueName[] = QUEUE_NAMES) {
      const started = names.map((name) => workerOf[name]());
      workers.push(...started);
      return started;
    },
    async close(o: { graceMs?: number } = {}) {
      await relay.stop();
      const redisReachable = !queues.redisUnreachable && (await queues.ping());
      const how = await closeWorkers(workers, { graceMs: o.graceMs ?? 5_000, redisReachable });
      if (how === 'forced' && redisReachable)
        log.warn(
          { grace_ms: o.graceMs ?? 5_000 },
          'workers stopped before their active jobs finished; those jobs run again (at-least-once)',
        );
      else if (how === 'forced' && workers.length) log.info('workers stopped at once (Redis unreachable)');
      await queues.close();
      await db.close();
    },
  };
}
