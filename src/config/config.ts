/**
 * The one module that reads the environment. Every entry point (API, workers, CLI) calls
 * `loadConfig()` once and passes the result down; nothing else touches `process.env`.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Config {
  port: number;
  /** PostgreSQL connection string; undefined → the embedded database (PGlite) in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  redisUrl: string;
  /** BullMQ's key prefix: GATEWAY_QUEUE_PREFIX as a Redis Cluster hash tag, e.g. `{gw}` (queueKeyPrefix). */
  queuePrefix: string;
  clientsFile?: string;
  regionsDir: string;
  calendarFile: string;
  /** Largest request body, bytes (413 beyond). */
  maxBodyBytes: number;
  /** Largest agency feed body, bytes (the feed may carry 100,000 records). */
  maxFeedBytes: number;
  /** Largest POST /v1/platform body, bytes: a 9101 carries a detail file (spec §9; zip large ones). */
  maxPlatformBodyBytes: number;
  /** Largest single feed record (an NDJSON line, a JSON array element), bytes: a longer one is that record's RECORD_TOO_LARGE. */
  feedMaxRecordBytes: number;
  /** Feeds of one client past their signature check at once (waiting for or holding the feed lock); 429 beyond. */
  feedConcurrencyPerClient: number;
  /** Where feed bodies larger than 64 KiB wait, unlinked, while their signature is checked. */
  feedSpoolDir: string;
  /** How often the outbox relay looks for messages not yet queued, ms. */
  outboxPollMs: number;
  /** Worker concurrency per queue in this process. */
  workerConcurrency: number;
  /** Ingest messages applied together at most (src/queue/ingest-worker.ts). */
  ingestBatchSize: number;
  logLevel: string;
  /** Max requests per verified client (signature or bearer token) per second before 429. */
  rateLimitPerSecond: number;
  /** Max requests per remote address per second that prove no client (unauthenticated, failed authentication) before 429. */
  unverifiedRateLimitPerSecond: number;
  /** How long raw message bodies are kept, days (the ledger itself is kept). */
  rawBodyRetentionDays: number;
  /** Relayed outbox rows are purged after this many days (`gateway purge`). */
  outboxRetentionDays: number;
  /** An unfinished message whose job was relayed this long ago is checked: its lost job re-added, its failed one retried. */
  outboxRequeueSeconds: number;
  /** BullMQ keeps completed jobs this long, and failed jobs this long, seconds (then removes them). */
  jobsKeepCompletedSeconds: number;
  jobsKeepFailedSeconds: number;
  /** Slow clients: the whole request headers within this, and the whole request within that, ms. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open, ms (above clients' pool idle timeouts). */
  keepAliveTimeoutMs: number;
  /** Nightly reconciliation cron (Asia/Shanghai) and the admdvs prefixes it runs for. */
  nightlyCron: string;
  nightlyRegions: string[];
  dbPoolSize: number;
  /** How long a request waits for a pooled PostgreSQL connection before 503, ms. */
  dbAcquireTimeoutMs: number;
  /** /readyz's database check (its own connection, not the pool's) gives up after this, ms. */
  readyTimeoutMs: number;
  /** Agency platform pull (before each nightly run): base URL and bearer token; unset → no pull. */
  agencyPullUrl?: string;
  agencyPullToken?: string;
  /** Outbound notifications (spec §6): subscribers file upserted at start-up, retry delays, timeout. */
  subscribersFile?: string;
  /** Delay before each delivery attempt, ms (first = the first attempt); Svix-like, ≥ 24 h in all. */
  deliveryScheduleMs: number[];
  deliveryTimeoutMs: number;
  /** A subscriber failing for longer than this is disabled. */
  subscriberDisableAfterDays: number;
  /**
   * Hosts (names or IP literals, as written in subscriber URLs) that webhooks may reach although
   * they are not public addresses (loopback, private, link-local, …): refused otherwise (SSRF).
   */
  subscriberAllowHosts: string[];
  /**
   * The gateway's SM2 signing key (v1sm2 deliveries, GET /v1/keys; spec §9), a PEM file. Unset: a key
   * made on first start in the data directory (`create`); set: it must exist (a mistyped path on a
   * second host would otherwise make a second key that receivers do not know).
   */
  sm2PrivateKey: { file: string; create: boolean };
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return def;
  }
  return n;
}

function msList(env: NodeJS.ProcessEnv, name: string, def: number[], problems: string[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (!list.length || list.length > 50 || list.some((n) => !Number.isInteger(n) || n < 0 || n > 7 * 86_400_000)) {
    problems.push(`${name} must be a comma list of 1–50 delays in ms, each 0 to 604800000 (got "${raw}")`);
    return def;
  }
  return list;
}

/** A comma list of host names or IP literals (IPv6 with or without brackets), no ports. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

function hostList(env: NodeJS.ProcessEnv, name: string, problems: string[]): string[] {
  const list = (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const h of list) {
    if (!HOST_NAME.test(h) && !net.isIP(h.replace(/^\[(.*)\]$/, '$1'))) problems.push(`${name} entries must be host names or IP addresses, without scheme or port (got "${h}")`);
  }
  return list;
}

/**
 * The BullMQ prefix of a configured name: the name in braces, a Redis Cluster hash tag, so that
 * every key of the deployment's queues hashes to one slot and BullMQ's multi-key scripts run on a
 * cluster (BullMQ's documented way: docs.bullmq.io/patterns/redis-cluster). On a single Redis the
 * braces change nothing but the key names. A name already in braces is kept as it is, so a prefix
 * read back from a Config can be handed to another process's environment.
 */
export function queueKeyPrefix(name: string): string {
  return /^\{.*\}$/.test(name) ? name : `{${name}}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const root = path.resolve(__dirname, '..', '..');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push(`DATABASE_URL must start with postgres:// (got "${databaseUrl}")`);
  const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redisUrl}")`);
  const queuePrefix = queueKeyPrefix(env.GATEWAY_QUEUE_PREFIX || 'gw');
  if (!/^\{[A-Za-z0-9_.-]{1,64}\}$/.test(queuePrefix)) problems.push(`GATEWAY_QUEUE_PREFIX must be 1–64 of [A-Za-z0-9_.-], maybe in braces (got "${env.GATEWAY_QUEUE_PREFIX}")`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  const nightlyRegions = (env.GATEWAY_NIGHTLY_REGIONS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of nightlyRegions) if (!/^\d{2,6}$/.test(r)) problems.push(`GATEWAY_NIGHTLY_REGIONS entries must be 2–6 digit admdvs prefixes (got "${r}")`);
  const cfg: Config = {
    port: int(env, 'PORT', 8080, 0, 65535, problems),
    databaseUrl,
    dataDir: path.resolve(env.GATEWAY_DATA_DIR || path.join(root, '.data', 'pglite')),
    redisUrl,
    queuePrefix,
    clientsFile: env.GATEWAY_CLIENTS_FILE || undefined,
    regionsDir: path.resolve(env.GATEWAY_REGIONS_DIR || path.join(root, 'regions')),
    calendarFile: path.resolve(env.GATEWAY_CALENDAR_FILE || path.join(root, 'calendar', 'cn-workdays.json')),
    maxBodyBytes: int(env, 'GATEWAY_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1 << 30, problems),
    maxFeedBytes: int(env, 'GATEWAY_MAX_FEED_BYTES', 256 * 1024 * 1024, 1024, 4 * (1 << 30), problems),
    maxPlatformBodyBytes: int(env, 'GATEWAY_MAX_PLATFORM_BODY_BYTES', 48 * 1024 * 1024, 1024, 1 << 30, problems),
    feedMaxRecordBytes: int(env, 'GATEWAY_FEED_MAX_RECORD_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024, problems),
    feedConcurrencyPerClient: int(env, 'GATEWAY_FEED_CONCURRENCY_PER_CLIENT', 2, 1, 64, problems),
    feedSpoolDir: path.resolve(env.GATEWAY_FEED_SPOOL_DIR || os.tmpdir()),
    outboxPollMs: int(env, 'GATEWAY_OUTBOX_POLL_MS', 1000, 10, 600_000, problems),
    workerConcurrency: int(env, 'GATEWAY_WORKER_CONCURRENCY', 8, 1, 256, problems),
    ingestBatchSize: int(env, 'GATEWAY_INGEST_BATCH', 256, 1, 1000, problems),
    logLevel,
    rateLimitPerSecond: int(env, 'GATEWAY_RATE_LIMIT_PER_SECOND', 2000, 1, 1_000_000, problems),
    unverifiedRateLimitPerSecond: int(env, 'GATEWAY_RATE_LIMIT_UNVERIFIED_PER_SECOND', 200, 1, 1_000_000, problems),
    rawBodyRetentionDays: int(env, 'GATEWAY_RAW_BODY_RETENTION_DAYS', 400, 1, 100_000, problems),
    outboxRetentionDays: int(env, 'GATEWAY_OUTBOX_RETENTION_DAYS', 7, 1, 100_000, problems),
    outboxRequeueSeconds: int(env, 'GATEWAY_OUTBOX_REQUEUE_SECONDS', 120, 1, 86_400, problems),
    jobsKeepCompletedSeconds: int(env, 'GATEWAY_JOBS_KEEP_COMPLETED_SECONDS', 86_400, 0, 365 * 86_400, problems),
    jobsKeepFailedSeconds: int(env, 'GATEWAY_JOBS_KEEP_FAILED_SECONDS', 7 * 86_400, 0, 365 * 86_400, problems),
    headersTimeoutMs: int(env, 'GATEWAY_HEADERS_TIMEOUT_MS', 15_000, 100, 600_000, problems),
    requestTimeoutMs: int(env, 'GATEWAY_REQUEST_TIMEOUT_MS', 120_000, 100, 3_600_000, problems),
    keepAliveTimeoutMs: int(env, 'GATEWAY_KEEP_ALIVE_TIMEOUT_MS', 65_000, 1_000, 600_000, problems),
    nightlyCron: env.GATEWAY_NIGHTLY_CRON || '0 30 2 * * *',
    nightlyRegions,
    dbPoolSize: int(env, 'GATEWAY_DB_POOL_SIZE', 20, 1, 500, problems),
    dbAcquireTimeoutMs: int(env, 'GATEWAY_DB_ACQUIRE_TIMEOUT_MS', 10_000, 100, 600_000, problems),
    readyTimeoutMs: int(env, 'GATEWAY_READY_TIMEOUT_MS', 2_000, 100, 60_000, problems),
    agencyPullUrl: env.GATEWAY_AGENCY_PULL_URL || undefined,
    agencyPullToken: env.GATEWAY_AGENCY_PULL_TOKEN || undefined,
    subscribersFile: env.GATEWAY_SUBSCRIBERS_FILE || undefined,
    deliveryScheduleMs: msList(env, 'GATEWAY_DELIVERY_SCHEDULE_MS', [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000], problems),
    deliveryTimeoutMs: int(env, 'GATEWAY_DELIVERY_TIMEOUT_MS', 10_000, 100, 120_000, problems),
    subscriberDisableAfterDays: int(env, 'GATEWAY_SUBSCRIBER_DISABLE_DAYS', 5, 1, 365, problems),
    subscriberAllowHosts: hostList(env, 'GATEWAY_SUBSCRIBER_ALLOW_HOSTS', problems),
    sm2PrivateKey: env.GATEWAY_SM2_PRIVATE_KEY_FILE
      ? { file: path.resolve(env.GATEWAY_SM2_PRIVATE_KEY_FILE), create: false }
      : { file: path.join(path.resolve(env.GATEWAY_DATA_DIR || path.join(root, '.data', 'pglite')), 'gateway-sm2-key.pem'), create: true },
  };
  if (cfg.agencyPullUrl && !/^https?:\/\/[^\s]+$/.test(cfg.agencyPullUrl)) problems.push(`GATEWAY_AGENCY_PULL_URL must be an http(s) URL (got "${cfg.agencyPullUrl}")`);
  if (problems.length) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return cfg;
}
