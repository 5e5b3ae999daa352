/**
 * Transaction-scoped advisory locks by name, and the database's clock — what the two evaluations
 * that work in locked chunks share: matching (settlements, institution-periods) and the benefit audit
 * (person-years). Locks are taken in lock-key order, so two chunks never wait on each other in a
 * cycle; whoever evaluates last sees every fact committed before it took the lock.
 */
import type { Sql } from './db';

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
 * The database's clock (as PostgreSQL prints it, exact to the microsecond): read after a message was
 * claimed, it is after the message's facts were committed, so an evaluation that read the facts
 * later saw them.
 */
export async function databaseClock(q: Pick<Sql, 'query'>): Promise<string> {
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
