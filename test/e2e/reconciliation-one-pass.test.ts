/**
 * A run reads its month with its loop rows once (issue 15): the sweep's selection takes the loop sums
 * of the settlements it leaves as they are (owed-read-model.ts monthWithLoops), and the report adds
 * the settlements it re-evaluated, recomputed from the facts, instead of summing the loop rows again
 * after the sweep. On generated months received over a few weeks — some messages not yet applied by
 * matching, loop rows evaluated as of other times than the run's — a run's sweep (sweepForRun) and
 * then its report from those sums give, to the fen, the institution figures and arrears by due-date
 * key of the report computed from the facts (which rules-sql-agree.test.ts holds to computeLoop), for
 * clocks before, between and after the payments, recoveries and reversals; and the sweep re-evaluates
 * the settlements the plain sweep selects.
 */
import fc from 'fast-check';
import { unmatchedMessageIds } from '../../src/ingest/message-store';
import type { OwedQuery } from '../../src/ledger/owed-read-model';
import { institutionFiguresAndArrears } from '../../src/ledger/report-read-model';
import { selectSettlements, sweepForRun } from '../../src/matching/sweep';
import { Money } from '../../src/money';
import { generateMonth } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted, postAndApply, truncateLedger } from './matching-support';

const START = Date.parse('2025-04-02T10:00:00+08:00');
const DAY = 86_400_000;
const AS_OF_FROM = Date.parse('2025-03-20T00:00:00+08:00');

let clock = START;
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('recon_one_pass', { workers: false, now: () => clock });
});
afterAll(async () => {
  await t?.close();
});

const fen = (v: string) => Money.of(v).toString();
const MONEY = [
  'declared_hifob',
  'recorded_hifob',
  'recorded_direct_hifob',
  'paid',
  'rejected',
  'recovered',
  'outstanding',
];
/** Rows with every amount to the fen, sorted. */
const normal = (rows: object[]) =>
  rows
    .map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, MONEY.includes(k) && typeof v === 'string' ? fen(v) : v]),
      ),
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

const month = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  size: fc.integer({ min: 6, max: 30 }),
  spanDays: fc.integer({ min: 1, max: 70 }),
  unapplied: fc.integer({ min: 0, max: 3 }),
  /** (known_at in days from START, as_of in half days from AS_OF_FROM), each a run in turn */
  clocks: fc.array(fc.tuple(fc.integer({ min: 0, max: 75 }), fc.integer({ min: 0, max: 220 })), {
    minLength: 2,
    maxLength: 5,
  }),
});

test("a run's report from the sums its sweep took equals the report from the facts, to the fen", async () => {
  let compared = 0;
  let fromSums = 0;
  await fc.assert(
    fc.asyncProperty(month, async (m) => {
      await truncateLedger(t.gw.db);
      const messages = generateMonth(m.seed, m.size);
      const applied = messages.length - m.unapplied;
      for (let i = 0; i < messages.length; i++) {
        clock = START + Math.floor((i * m.spanDays * DAY) / messages.length);
        if (i < applied) await postAndApply(t, messages, [i]);
        else await postAccepted(t, messages[i]!);
      }
      for (const [k, a] of [[m.spanDays + 1, 220], ...m.clocks] as const) {
        const o: OwedQuery = {
          admdvs: '5331',
          period: '2025-03',
          knownAt: new Date(START + k * DAY),
          asOf: new Date(AS_OF_FROM + (a * DAY) / 2),
        };
        const selected = await selectSettlements(t.gw.db, o.admdvs, o.period, o.asOf);
        const run = await sweepForRun(t.gw, o.admdvs, o.period, o.asOf, o.knownAt);
        // The same settlements re-evaluated as by the plain sweep.
        expect(run.before?.swept ? [...run.before.swept].sort() : null).toEqual(selected.sort());
        expect(run.swept.settlements).toBe(selected.length);
        const facts = await t.gw.db.tx((q) => institutionFiguresAndArrears(q, o, [], 'facts'));
        const sums = await t.gw.db.tx(async (q) =>
          institutionFiguresAndArrears(q, o, await unmatchedMessageIds(q), undefined, true, run.before),
        );
        expect(normal(sums.institutions)).toEqual(normal(facts.institutions));
        expect(normal(sums.arrears)).toEqual(normal(facts.arrears));
        compared += facts.institutions.length;
        if (run.before) fromSums++;
      }
    }),
    { numRuns: Number(process.env.ONE_PASS_RUNS ?? 8), endOnFailure: true },
  );
  expect(compared).toBeGreaterThan(0);
  expect(fromSums).toBeGreaterThan(0);
});
