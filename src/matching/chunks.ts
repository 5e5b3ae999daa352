/**
 * What the two re-evaluations share — settlements (matching-service.ts, reevaluate) and
 * institution-periods (declarations.ts, reevaluateDeclarations): their dependencies, the size of the
 * chunk one transaction evaluates, and the advisory locks of its groups.
 *
 * Concurrency: each chunk runs in one transaction that first takes a transaction-scoped advisory lock
 * per group, in lock-key order (so two chunks never wait on each other in a cycle), and only then
 * reads the facts. Whoever evaluates last therefore sees every fact committed before it took the lock,
 * and an evaluation is never interleaved with another one of the same group.
 */
import type { Db, Sql } from '../db/db';
import type { RegionPolicies } from '../benefits';
import type { WorkCalendar } from '../deadlines/calendar';
import type { Logger } from '../logging/logger';

export interface MatchingDeps {
  regions: Pick<RegionPolicies, 'loopParamsFor'>;
  calendar: WorkCalendar;
  log?: Logger;
}

/**
 * Settlements per transaction on PostgreSQL: large enough for set-based loads and few commits (with
 * `processed` in the last chunk's transaction and one settlement-and-visit load: a 20k month's
 * declarations and payments 20.7 → 6.5 s, PostgreSQL CPU 3.9 → 2.2 s, bench/month.ts), small
 * enough to keep locks short (a chunk commits in well under a second).
 */
export const CHUNK = 1000;
/**
 * On the embedded database a transaction holds its only connection, and a 200-settlement chunk took
 * 4–8 s there (issue 12: reads waited behind it): chunks of 25 keep each transaction well under a
 * second, so reads get in between.
 */
export const EMBEDDED_CHUNK = 25;
export const chunkFor = (db: Pick<Db, 'kind'>): number => (db.kind === 'pglite' ? EMBEDDED_CHUNK : CHUNK);

/** Take the advisory locks of `names`, in lock-key order, inside the current transaction. */
export async function lockAll(q: Sql, names: readonly string[]): Promise<void> {
  if (!names.length) return;
  await q.query(
    `SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(n, 0) AS k FROM unnest($1::text[]) AS n ORDER BY 1) AS keys`,
    [names],
  );
}

/**
 * Take the advisory locks of `names` if none is held by another transaction; false if one is (the
 * locks it did get are held until the transaction ends: end it at once). Never waits.
 */
export async function tryLockAll(q: Sql, names: readonly string[]): Promise<boolean> {
  if (!names.length) return true;
  const { rows } = await q.query<{ ok: boolean }>(
    `SELECT bool_and(pg_try_advisory_xact_lock(k)) AS ok FROM (SELECT DISTINCT hashtextextended(n, 0) AS k FROM unnest($1::text[]) AS n ORDER BY 1) AS keys`,
    [names],
  );
  return rows[0]!.ok;
}

/**
 * The database's clock (as PostgreSQL prints it, exact): read after a message was claimed, it is
 * after the message's facts were committed, so an evaluation that read the facts later saw them.
 */
export async function databaseClock(q: Sql): Promise<string> {
  const { rows } = await q.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  return rows[0]!.now;
}

/**
 * Chunks in one transaction each, in order, then those whose locks another transaction held, waiting
 * for them: two workers (or two batches of one) whose work overlaps each go on with chunks the other
 * is not in, instead of waiting, and find the overlap done when they come back to it (what they skip
 * then is each caller's freshness rule). `run(chunk, wait, last)` takes the chunk's locks (waiting
 * or not) and returns false if it did not get them (its transaction then ends at once); `last` is
 * true for the last transaction of all (where the caller's `finish` goes).
 */
export async function runChunks<T>(
  chunks: readonly T[],
  run: (chunk: T, wait: boolean, last: boolean) => Promise<boolean>,
): Promise<void> {
  const deferred: T[] = [];
  for (const [n, chunk] of chunks.entries()) {
    // The last chunk of the first pass with nothing deferred is the last transaction: it waits.
    const last = n === chunks.length - 1 && !deferred.length;
    if (!(await run(chunk, last, last))) deferred.push(chunk);
  }
  for (const [n, chunk] of deferred.entries()) await run(chunk, true, n === deferred.length - 1);
}
