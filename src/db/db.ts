/**
 * The system of record. `Db` hides whether we talk to a PostgreSQL server (pg Pool) or to the
 * embedded PostgreSQL (PGlite, when DATABASE_URL is unset). Both speak the same SQL; PGlite is a
 * single connection, so its transactions are serialised.
 */
import { Pool, types as pgTypes } from 'pg';
import fs from 'node:fs';
import { lockDataDir } from './data-dir-lock';
import { EmbeddedLanes } from './embedded-lanes';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * `name`: run it as a named prepared statement (PostgreSQL server only; PGlite ignores it). Each
 * connection then parses it once and PostgreSQL may keep its plan, which is worth it for a large
 * statement run on every chunk of work (the fact loader's: ~2.5 ms of a ~10 ms run was parse and
 * plan). A name must always come with the same text.
 */
export interface QueryOptions {
  name?: string;
}

export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[], o?: QueryOptions): Promise<QueryResult<R>>;
  /** Several statements, no parameters (migrations, DDL). */
  exec(text: string): Promise<void>;
}

export interface Db extends Sql {
  readonly kind: 'pg' | 'pglite';
  /** Run `fn` in one transaction; it commits when `fn` resolves, rolls back when it throws. */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  /**
   * Whether the database answers, on a connection of its own (a saturated pool must not make the
   * gateway look down, nor wait behind the work that saturates it); absent → a pooled `SELECT 1`.
   */
  ping?(): Promise<boolean>;
  close(): Promise<void>;
}

// numeric and bigint stay strings (exact); timestamptz → Date (pg's default).
pgTypes.setTypeParser(1700, (v) => v);
pgTypes.setTypeParser(20, (v) => v);

export interface PgPoolOptions {
  /** How long a caller waits for a pooled connection before the query fails (answered 503), ms. */
  acquireTimeoutMs?: number;
  /** ping()'s connect and query limit, ms. */
  pingTimeoutMs?: number;
}

/** "cached plan must not change result type" (0A000), "prepared statement … does not exist" (26000). */
function isStalePreparedStatement(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '26000' || (code === '0A000' && /cached plan/.test(String((e as Error).message)));
}

export function createPgDb(connectionString: string, poolSize = 20, o: PgPoolOptions = {}): Db {
  // Without an acquire timeout a saturated pool made every request wait as long as the work holding
  // it (issue 13: slow feeds froze /readyz and every read); pg's error then is "timeout exceeded
  // when trying to connect", which the error handler answers 503.
  const pool = new Pool({
    connectionString,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: o.acquireTimeoutMs ?? 10_000,
  });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Readiness has its own connection: one probe at a time keeps it, a second waits briefly.
  const pingMs = o.pingTimeoutMs ?? 2_000;
  const pingPool = new Pool({
    connectionString,
    max: 1,
    idleTimeoutMillis: 60_000,
    connectionTimeoutMillis: pingMs,
    query_timeout: pingMs,
  });
  pingPool.on('error', () => undefined);
  return {
    kind: 'pg',
    async query<R>(text: string, params?: unknown[], o?: QueryOptions) {
      const r = await pool.query({ name: o?.name, text, values: params });
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A connection killed while checked out (server restart, pg_terminate_backend) emits 'error',
      // which the pool only handles for idle clients: unhandled, it would crash the process (found
      // by the chaos test). The transaction's next query fails instead, and the client is discarded.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const q: Sql = {
          async query<R>(text: string, params?: unknown[], o?: QueryOptions) {
            const r = await client.query({ name: o?.name, text, values: params });
            return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
          },
          async exec(text: string) {
            await client.query(text);
          },
        };
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        // A named statement this connection can no longer run (its table changed under it, as in a
        // rolling upgrade whose migration altered a column it returns): the connection goes, so the
        // retry parses it afresh on another one. The pool's single statements already discard a
        // connection whose statement failed.
        if (!broken && isStalePreparedStatement(e)) broken = e as Error;
        throw e;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async exec(text: string) {
      await pool.query(text);
    },
    ping: () =>
      pingPool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
    async close() {
      await Promise.all([pool.end(), pingPool.end()]);
    },
  };
}

/**
 * The embedded database. PGlite does not lock its data directory against a second process, so we
 * do (data-dir-lock.ts: refused while the owner lives; a dead owner's lock is stale).
 *
 * Durability (measured by test/e2e/journeys/crash-embedded.test.ts): PGlite writes its WAL to the data
 * directory at each commit, through Node's fs, so a committed write — a 202 — survives the process
 * being killed (kill -9, a crash, OOM). It never fsyncs (PGlite runs PostgreSQL with fsync off, and
 * its Node filesystem has no fsync), so a power cut or an OS crash can lose the last commits or
 * damage the directory; production runs on PostgreSQL (DATABASE_URL).
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  fs.mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  // Loaded only in embedded mode (it carries a WASM build of PostgreSQL).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite, types } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(dataDir, {
      parsers: { [types.NUMERIC]: (v: string) => v, [types.INT8]: (v: string) => v },
    });
  } catch (e) {
    unlock();
    throw e;
  }
  const lanes = new EmbeddedLanes();
  const q = async <R>(exec: { query: typeof pg.query }, text: string, params?: unknown[]) => {
    const r = await exec.query<R>(text, params as unknown[]);
    // pg's rowCount is the rows returned for a SELECT and the rows changed for a write. PGlite's
    // affectedRows is 0 for a SELECT (not undefined), so `affectedRows ?? rows.length` said "no rows"
    // to every SELECT: migrate() re-ran applied migrations and a second start failed.
    return { rows: r.rows, rowCount: Math.max(r.affectedRows ?? 0, r.rows.length) };
  };
  return {
    kind: 'pglite',
    // Single statements go before queued transactions (embedded-lanes.ts): reads and readiness wait
    // for at most the one transaction running, not for every chunk the workers have queued.
    query: <R>(text: string, params?: unknown[]) => lanes.run('statement', () => q<R>(pg, text, params)),
    exec: (text: string) =>
      lanes.run('statement', async () => {
        await pg.exec(text);
      }),
    tx: <T>(fn: (s: Sql) => Promise<T>) =>
      lanes.run('tx', () =>
        pg.transaction(async (t) =>
          fn({
            query: <R>(text: string, params?: unknown[]) => q<R>(t, text, params),
            exec: async (text: string) => {
              await t.exec(text);
            },
          }),
        ),
      ),
    ping: () =>
      lanes
        .run('statement', () => pg.query('SELECT 1'))
        .then(
          () => true,
          () => false,
        ),
    async close() {
      await lanes.run('tx', () => pg.close());
      unlock();
    },
  };
}

export async function openDb(cfg: {
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize?: number;
  dbAcquireTimeoutMs?: number;
  readyTimeoutMs?: number;
}): Promise<Db> {
  return cfg.databaseUrl
    ? createPgDb(cfg.databaseUrl, cfg.dbPoolSize, {
        acquireTimeoutMs: cfg.dbAcquireTimeoutMs,
        pingTimeoutMs: cfg.readyTimeoutMs,
      })
    : createPgliteDb(cfg.dataDir);
}
