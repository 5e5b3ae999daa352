/**
 * Whether Redis is reachable, said once. Every Redis connection of the process (the producers',
 * each worker's) reports here; without Redis they all fail together and retry on their own, and
 * each used to log a warning with a stack trace on every attempt (about ten lines a second). Now the
 * first failure logs one line that says what is unreachable, what still works and what to do; the
 * retries are quiet (with backoff, queues.ts); a reminder follows at a slow interval while it lasts,
 * and one line when Redis is back.
 *
 * One status per Redis URL per process: the line is about the process, not about each gateway a
 * test builds in it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';

/** Thrown instead of waiting for a Redis that is not connected (see Queues.connected). */
export class RedisNotConnected extends Error {
  readonly code = 'REDIS_NOT_CONNECTED';
  constructor(what: string) {
    super(`Redis is not connected: ${what} not attempted`);
  }
}

/** Errors that mean "Redis cannot be reached", as opposed to an error of a command or a job. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string } | undefined;
  if (!e) return false;
  if (err instanceof RedisNotConnected) return true;
  if (
    e.code &&
    [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ECONNRESET',
      'EPIPE',
      'ECONNABORTED',
    ].includes(e.code)
  )
    return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  const m = e.message ?? '';
  return /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|Connection is closed|enableOfflineQueue|Stream isn't writeable|connect ETIMEDOUT|Reached the max retries/.test(
    m,
  );
}

/** The URL without its password (the line is for logs). */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'REDIS_URL (unparseable)';
  }
}

const REMIND_EVERY_MS = 5 * 60_000;

export class RedisStatus {
  private log?: Logger;
  private downSince?: number;
  private reminder?: NodeJS.Timeout;

  constructor(
    readonly url: string,
    private readonly remindEveryMs = REMIND_EVERY_MS,
  ) {}

  /** The logger the lines go to (the gateway's; the last one set wins). */
  useLogger(log: Logger): void {
    this.log = log;
  }

  /** Whether the last word from any connection was a failure to reach Redis. */
  get unreachable(): boolean {
    return this.downSince !== undefined;
  }

  /** Follow a connection's failures and recoveries. */
  watch(conn: Redis): Redis {
    conn.on('error', (err) => {
      this.failed(err);
    });
    conn.on('ready', () => this.reached());
    return conn;
  }

  /**
   * A connection could not reach Redis: the first such failure logs the line, later ones are
   * quiet. Returns false for an error that is not about reaching Redis (the caller logs it).
   */
  failed(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (this.downSince !== undefined) return true;
    this.downSince = Date.now();
    const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
    this.log?.warn(
      { redis: describeRedisUrl(this.url), reason },
      `Redis is unreachable at ${describeRedisUrl(this.url)} (${reason}). Still working: the API accepts writes, stores them and keeps them in the outbox; ` +
        'matching, benefits, notifications and reconciliation wait, and catch up when Redis is back. ' +
        'Start Redis (`docker compose up -d redis`, or `redis-server`) or set REDIS_URL. Retrying quietly in the background.',
    );
    this.reminder = setInterval(() => {
      const minutes = Math.round((Date.now() - this.downSince!) / 60_000);
      this.log?.warn(
        { redis: describeRedisUrl(this.url), down_minutes: minutes },
        `Redis is still unreachable at ${describeRedisUrl(this.url)} (${minutes} min); writes are kept in the outbox until it is back`,
      );
    }, this.remindEveryMs);
    this.reminder.unref();
    return true;
  }

  /** A connection reached Redis: say so once, if it had been unreachable. */
  reached(): void {
    if (this.downSince === undefined) return;
    const seconds = Math.round((Date.now() - this.downSince) / 1000);
    this.downSince = undefined;
    clearInterval(this.reminder);
    this.reminder = undefined;
    this.log?.info(
      { redis: describeRedisUrl(this.url), down_seconds: seconds },
      `Redis is reachable again at ${describeRedisUrl(this.url)}; queued work resumes`,
    );
  }
}

const statuses = new Map<string, RedisStatus>();

/** The process's status of the Redis at `url`. */
export function redisStatus(url: string): RedisStatus {
  let s = statuses.get(url);
  if (!s) {
    s = new RedisStatus(url);
    statuses.set(url, s);
  }
  return s;
}

/**
 * A worker's 'error' listener: failures to reach Redis go to the one status line; any other error
 * (a lost lock, a script error) is logged as before.
 */
export function workerErrorLog(log: Logger, what: string, url?: string): (err: Error) => void {
  return (err) => {
    if (isConnectionError(err)) {
      if (url) redisStatus(url).failed(err);
      return;
    }
    log.warn({ err }, `${what}: ${err.message}`);
  };
}
