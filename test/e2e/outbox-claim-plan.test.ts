/**
 * The outbox relay claims the rows not yet relayed (queue/outbox.ts claimPending) several times a
 * second under load. Each relayed row leaves an entry of the partial index outbox_pending that points
 * to its dead version until a VACUUM. Read by a bitmap scan (the planner's choice while the
 * statistics say few rows are pending), every claim visited every one of them, and every heap page
 * they lie on: in the matching-latency benchmark 1.5 ms a claim after 20 s, growing as long as no
 * VACUUM came (autovacuum runs per table when it likes; on a machine with it off, never). Read by an
 * index scan in id order, the first claim marks those entries dead in the index (PostgreSQL's
 * kill_prior_tuple), and the next claims skip them without reading the heap.
 */
import type { Db, Sql } from '../../src/db/db';
import { claimPending, enqueueJobs, markRelayed } from '../../src/queue/outbox';
import { migratedDatabase } from '../support/plan-probe';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('outbox-claim-plan'));
});
afterAll(async () => {
  await close();
});

/** Heap pages of `outbox` read so far (shared buffers hit or read), every backend's counts flushed. */
async function outboxHeapPages(): Promise<number> {
  return db.tx(async (q: Sql) => {
    await q.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await q.query<{ n: string }>(
      `SELECT coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) AS n FROM pg_statio_user_tables WHERE relname = 'outbox'`,
    );
    return Number(rows[0]!.n);
  });
}

/**
 * One claim of the relay in its own transaction (and the rows it got marked relayed). Its backend's
 * table counts reach the shared statistics as the transaction ends (pg_stat_force_next_flush in the
 * same transaction: the backend flushes before it answers ready), not up to a second later — which,
 * on a busy machine, landed in the next measurement.
 */
async function relayPass(limit: number): Promise<string[]> {
  return flushedTx(async (q) => {
    const rows = await claimPending(q, limit);
    if (rows.length)
      await markRelayed(
        q,
        rows.map((r) => r.id),
      );
    return rows.map((r) => String(r.payload.n));
  });
}

/** A transaction whose table counts are in the shared statistics once it returns (as relayPass's). */
function flushedTx<T>(f: (q: Sql) => Promise<T>): Promise<T> {
  return db.tx(async (q) => {
    const out = await f(q);
    await q.query('SELECT pg_stat_force_next_flush()');
    return out;
  });
}

/**
 * Heap pages read by the fewest-reading of up to ten claims with nothing to relay, 100 ms apart. An
 * index entry is marked dead only once its row's old version is dead to every transaction of the
 * database, which on a busy server can take a moment; so the later claims read none. A bitmap scan
 * read every page at every one of them.
 */
async function idleClaimsRead(): Promise<number> {
  let least = Infinity;
  for (let k = 0; k < 10 && least >= 5; k++) {
    if (k) await new Promise((r) => setTimeout(r, 100));
    const before = await outboxHeapPages();
    expect(await relayPass(500)).toEqual([]);
    least = Math.min(least, (await outboxHeapPages()) - before);
  }
  return least;
}

test('when the relay claims again after thousands of rows were relayed, then it reads none of their heap pages', async () => {
  // 4,000 rows relayed in passes of 500; the table not analysed yet (a young outbox: autovacuum
  // analyses it when it likes), where the planner took the bitmap scan.
  const ids = Array.from({ length: 4000 }, (_, k) => `00000000-0000-7000-8000-${String(k).padStart(12, '0')}`);
  await flushedTx((q) => enqueueJobs(q, 'ingest', ids, (id) => ({ n: Number(id.slice(-12)) })));
  for (let k = 0; k < 8; k++) expect(await relayPass(500)).toHaveLength(500);
  // Three new rows: the next claim gets exactly those, oldest first.
  const fresh = Array.from({ length: 3 }, (_, k) => `00000000-0000-7000-9000-${String(k).padStart(12, '0')}`);
  await flushedTx((q) => enqueueJobs(q, 'ingest', fresh, (id) => ({ n: 10_000 + Number(id.slice(-12)) })));
  expect(await relayPass(500)).toEqual(['10000', '10001', '10002']);
  // Claims with nothing left to relay: the relayed rows' index entries are skipped, their heap pages
  // not read (4,000 rows lie on ~47 pages; a bitmap scan read every one of them at every claim).
  expect(await idleClaimsRead()).toBeLessThan(5);
  // The same once the table is analysed.
  await flushedTx((q) => q.query('ANALYZE outbox'));
  expect(await idleClaimsRead()).toBeLessThan(5);
});
