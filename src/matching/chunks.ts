/**
 * What the two re-evaluations share — settlements (matching-service.ts, reevaluate) and
 * institution-periods (declarations.ts, reevaluateDeclarations): their dependencies, the size of the
 * chunk one transaction evaluates, and the advisory locks of its groups.
 *
 * Concurrency: each chunk runs in one transaction that first takes a transaction-scoped advisory lock
 * per group, in lock-key order (so two chunks never wait on each other in a cycle), and only then
 * reads the facts. Whoever evaluates last therefore sees every fact committed before it took the lock,
 * and an evaluation is never interleaved with another one of the same group (db/advisory-locks.ts).
 */
import type { Db } from '../db/db';
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
