/**
 * Matching writes a loop row per settlement (five per payment of five lines, 100,000 in a 100k
 * month's feed), and each index of settlement_loops is upkeep on every one of them. So the table
 * keeps only the indexes a read of the loops uses (migration 240):
 * - the primary key: matching's reads and writes by setl_id (loop-store.ts);
 * - (admdvs, period): the month's loops of a run (sweep-read-model.ts, owed-read-model.ts);
 * - next_check_at, partial: the loops whose check point passed (loop-store.ts loopsDueBy);
 * - (period, admdvs) of reversed loops only: owed-read-model.ts REVERSED_LOOPS.
 * Before it, (fixmedins_code, insurer_code, period), which no statement read, and (status, due_at),
 * read only for the reversed ones, were written for every loop too.
 */
import type { Db } from '../../src/db/db';
import { upsertLoops } from '../../src/ledger/loop-store';
import { indexesOf, loopRow, migratedDatabase } from '../support/plan-probe';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('loop-indexes'));
});
afterAll(async () => {
  await close();
});

test('when a loop is written, then only the indexes the reads of loops use take an entry', async () => {
  expect(await indexesOf(db, 'settlement_loops')).toEqual([
    { indexname: 'settlement_loops_next_check', indexdef: 'btree (next_check_at) WHERE (next_check_at IS NOT NULL)' },
    { indexname: 'settlement_loops_pkey', indexdef: 'btree (setl_id)' },
    { indexname: 'settlement_loops_region_period', indexdef: 'btree (admdvs, period)' },
    { indexname: 'settlement_loops_reversed', indexdef: "btree (period, admdvs) WHERE (status = 'reversed'::text)" },
  ]);
  // 3,000 loops, 3 of them reversed: a closed or owed loop leaves the reversed ones' index alone.
  const statuses = ['closed', 'owed'] as const;
  await db.tx((q) =>
    upsertLoops(
      q,
      Array.from({ length: 3000 }, (_, k) => loopRow('LI', k, k % 1000 === 7 ? 'reversed' : statuses[k % 2]!)),
      new Date('2026-11-15T00:00:00Z'),
      undefined,
      true,
    ),
  );
  await db.query('ANALYZE settlement_loops');
  const size = await db.query<{ reversed: string; pkey: string }>(
    `SELECT (SELECT reltuples FROM pg_class WHERE relname = 'settlement_loops_reversed') AS reversed,
            (SELECT reltuples FROM pg_class WHERE relname = 'settlement_loops_pkey') AS pkey`,
  );
  expect(Number(size.rows[0]!.reversed)).toBe(3);
  expect(Number(size.rows[0]!.pkey)).toBe(3000);
});
