/**
 * The matching worker reads the stored loops of a chunk's settlements under their locks
 * (ledger/loop-store.ts loadLoopFreshness). That read must stay probes of the primary key: written
 * as `setl_id = ANY($1)`, the planner made it a sequential scan of the whole of settlement_loops
 * while the table was young (the matching-latency benchmark: 2.7 ms a chunk of 180 ids at 25,000
 * loops, growing with the table, where the probes take 0.3-0.5 ms).
 */
import type { Db } from '../../src/db/db';
import { loadLoopFreshness, upsertLoops } from '../../src/ledger/loop-store';
import { loopRow, migratedDatabase, seqScans } from '../support/plan-probe';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('worker-loop-freshness-plan'));
});
afterAll(async () => {
  await close();
});

test('when the loops of a chunk are read, then by their key, each stored loop once, with the clock', async () => {
  // 6,000 loops, analysed: a small table whose statistics the planner knows, where reading all of
  // it looks cheaper to it than 180 probes.
  const evaluatedAt = new Date('2026-11-15T00:00:00Z');
  for (let c = 0; c < 6; c++)
    await db.tx((q) =>
      upsertLoops(
        q,
        Array.from({ length: 1000 }, (_, k) =>
          loopRow('WF', c * 1000 + k, (c * 1000 + k) % 3 === 0 ? 'owed' : 'closed'),
        ),
        evaluatedAt,
        undefined,
        true,
      ),
    );
  await db.query('ANALYZE settlement_loops');
  // 120 stored (every 50th), 60 without a loop row, one twice.
  const ids = [
    ...Array.from({ length: 120 }, (_, k) => `WF${k * 50}`),
    ...Array.from({ length: 60 }, (_, k) => `WX${k}`),
    'WF0',
  ];
  await db.tx(async (q) => {
    const before = await seqScans(q, 'settlement_loops');
    const r = await loadLoopFreshness(q, ids, '2026-11-01 00:00:00+00', new Date('2026-12-05T00:00:00Z'));
    expect(await seqScans(q, 'settlement_loops')).toBe(before);
    expect(r.readAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00$/);
    expect(r.figures.map((f) => f.setl_id).sort()).toEqual(Array.from({ length: 120 }, (_, k) => `WF${k * 50}`).sort());
    const f0 = r.figures.find((f) => f.setl_id === 'WF0')!;
    expect(f0).toEqual({
      setl_id: 'WF0',
      status: 'owed',
      owed: '100.00',
      paid: '0.00',
      rejected: '0.00',
      recovered: '0.00',
      outstanding: '100.00',
      due_date: '2026-11-30',
      closed_at: null,
    });
    expect(r.figures.find((f) => f.setl_id === 'WF50')!.closed_at).toBe('2026-11-12T02:03:04.005Z');
    // Fresh: facts read after factsAfter (now() at the write), no check point by asOf (the owed ones' is).
    expect([...r.fresh].sort()).toEqual(
      Array.from({ length: 120 }, (_, k) => k * 50)
        .filter((n) => n % 3 !== 0)
        .map((n) => `WF${n}`)
        .sort(),
    );
  });
  // None stored: one row, the clock.
  const none = await db.tx((q) => loadLoopFreshness(q, ['WX1', 'WX2'], undefined, new Date()));
  expect(none.figures).toEqual([]);
  expect(none.fresh.size).toBe(0);
  expect(none.readAt).toBeTruthy();
});
