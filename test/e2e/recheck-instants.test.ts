/**
 * Re-checks of loops are queued one per instant, not one per settlement: a month's owed settlements
 * share a few due dates, and each evaluation queued a delayed job per settlement. The job of an
 * instant re-evaluates every loop due by then (the loops' next_check_at), as of the time it runs;
 * a reference to a settlement the agency has not recorded (no loop row) keeps a job of its own
 * (matching-grace.test.ts).
 */
import type { Job } from 'bullmq';
import { RECHECK_QUEUE } from '../../src/queue/queue-names';
import { createPgDb } from '../../src/db/db';
import { databaseIdentity, migrate } from '../../src/db/migrate';
import {
  processRecheck,
  recheckAtJobId,
  recheckJobId,
  scheduleRechecks,
  type MatchingServiceDeps,
  type RecheckJob,
} from '../../src/matching/matching-service';
import { record } from '../support/month-generator';
import { createTestDatabase } from '../support/test-db';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopRows, openCases, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  PICC = 'PICC_DH';
const RECEIVED = Date.parse('2025-04-16T10:00:00+08:00');
let clock = RECEIVED;

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('recheck-instants', { now: () => clock });
});
afterAll(async () => {
  await t.close();
});

/** The matching service's dependencies as the test gateway's worker has them, on the test's clock. */
const matching = (): MatchingServiceDeps => ({
  db: t.gw.db,
  log: t.gw.log,
  queues: t.gw.queues,
  regions: t.gw.regions,
  calendar: t.gw.calendar,
  now: () => clock,
});

const owed = ['RI-1', 'RI-2', 'RI-3'].map((id, k) =>
  record(id, { fixmedins: H1, insurer: PICC, hifob: '100.00', day: 10 + k }),
);

describe('re-checks of owed loops', () => {
  let dueAt: number;
  beforeAll(async () => {
    await postAccepted(t, { path: '/v1/agency/settlements', as: 'agency', body: { settlements: owed } });
    await t.drain();
    const loops = await loopRows(t.gw.db);
    expect(loops.map((l) => l.status)).toEqual(['owed', 'owed', 'owed']);
    // Direct settlements of one month are due at the same instant.
    expect(new Set(loops.map((l) => l.due_at)).size).toBe(1);
    dueAt = Date.parse(loops[0]!.due_at);
  });

  test('one delayed job for the instant, none per settlement', async () => {
    const q = t.gw.queues.get(RECHECK_QUEUE);
    const database = await databaseIdentity(t.gw.db);
    const job = await q.getJob(recheckAtJobId(database, dueAt));
    expect(job?.data).toEqual({ at: dueAt });
    expect(await job?.getState()).toBe('delayed');
    for (const s of owed)
      expect(await q.getJob(recheckJobId(database, { setl_id: s.setl_id, at: new Date(dueAt) }))).toBeUndefined();
  });

  test('the job of the instant, run after it, makes every loop due then overdue', async () => {
    clock = dueAt + 1;
    await processRecheck(matching(), { data: { at: dueAt } } as Job<RecheckJob>);
    expect((await loopRows(t.gw.db)).map((l) => [l.setl_id, l.status])).toEqual([
      ['RI-1', 'overdue'],
      ['RI-2', 'overdue'],
      ['RI-3', 'overdue'],
    ]);
    expect(
      (await openCases(t.gw.db)).filter((c) => c.code === 'PAYMENT_OVERDUE').map((c) => [c.code, c.subject_key]),
    ).toEqual([
      ['PAYMENT_OVERDUE', 'setl:RI-1'],
      ['PAYMENT_OVERDUE', 'setl:RI-2'],
      ['PAYMENT_OVERDUE', 'setl:RI-3'],
    ]);
  });

  test('a job of one settlement (queued before the per-instant jobs) still re-checks it', async () => {
    await processRecheck(matching(), { data: { setl_id: 'RI-1' } } as Job<RecheckJob>);
    expect((await loopRows(t.gw.db)).find((l) => l.setl_id === 'RI-1')?.status).toBe('overdue');
  });
});

describe('another database on the same Redis and queue prefix', () => {
  // A fresh database (a new data directory, a test database) on the Redis of an earlier one: the
  // earlier database's job of the same instant, completed and kept for a day, must not stand in for
  // the new one's, or the new loops would never be re-checked at their due date (only by the sweep).
  test('schedules a re-check job of its own for the same instant', async () => {
    const other = await createTestDatabase('recheck-instants-other');
    const db = createPgDb(other.url, 2);
    try {
      await migrate(db);
      const mine = await databaseIdentity(t.gw.db);
      const theirs = await databaseIdentity(db);
      expect(theirs).not.toBe(mine);
      // Stable for the database's life: another connection pool to it names it the same.
      const again = createPgDb(other.url, 1);
      expect(await databaseIdentity(again)).toBe(theirs);
      await again.close();

      const at = Date.parse('2025-06-30T00:00:00+08:00');
      const q = t.gw.queues.get(RECHECK_QUEUE);
      const deps = (d: typeof db) => ({ db: d, queues: t.gw.queues, log: t.gw.log, now: () => clock });
      await scheduleRechecks(deps(t.gw.db), [{ setl_id: 'RI-1', at: new Date(at), stored: true }]);
      await scheduleRechecks(deps(db), [{ setl_id: 'RI-1', at: new Date(at), stored: true }]);
      const ids = [recheckAtJobId(mine, at), recheckAtJobId(theirs, at)];
      for (const id of ids) expect(await (await q.getJob(id))?.getState()).toBe('delayed');
    } finally {
      await db.close();
      await other.drop();
    }
  });
});
