/**
 * ORDER DOES NOT MATTER (spec §4, issue 3): for a generated month, every arrival order of its messages
 * ends — after a sweep at a fixed as_of — in the same open discrepancies (code, subject, amounts) and
 * the same loop state of every settlement as the in-order pass. Real PostgreSQL, real handlers.
 */
import fc from 'fast-check';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { arrivalOrder, generateMonth } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopRows, openCases, postAndApply, truncateLedger, type LoopRow, type OpenCase } from './matching-support';

const CLOCK = Date.parse('2025-05-20T10:00:00+08:00');
const AS_OF = new Date('2025-06-10T00:00:00+08:00');
const PERIODS = ['2025-03', '2025-04', '2025-05'];

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('matching-order', { workers: false, now: () => CLOCK });
});
afterAll(async () => {
  await t.close();
});

/** `before`: what the handlers alone derived (as of the fixed clock); the rest: after the sweep. */
interface Outcome {
  before: { cases: OpenCase[]; loops: LoopRow[] };
  cases: OpenCase[];
  loops: LoopRow[];
}

async function run(seed: number, order: number[]): Promise<Outcome> {
  const messages = generateMonth(seed, 10);
  await truncateLedger(t.gw.db);
  await postAndApply(t, messages, arrivalOrder(messages, order));
  // Without the sweep first: the handlers alone must already be order-independent (the sweep would hide a missed re-evaluation).
  const before = { cases: await openCases(t.gw.db), loops: await loopRows(t.gw.db) };
  for (const p of PERIODS) await sweepRegionPeriod(t.gw, '5331', p, AS_OF);
  return { before, cases: await openCases(t.gw.db), loops: await loopRows(t.gw.db) };
}

const baselines = new Map<number, Outcome>();
async function baseline(seed: number): Promise<Outcome> {
  let b = baselines.get(seed);
  if (!b) {
    b = await run(
      seed,
      generateMonth(seed, 10).map((_, i) => i),
    );
    baselines.set(seed, b);
  }
  return b;
}

test('the in-order pass of a generated month opens findings and keeps a loop row per recorded settlement', async () => {
  const b = await baseline(1);
  expect(b.cases.length).toBeGreaterThan(3);
  expect(b.loops.length).toBeGreaterThanOrEqual(10);
  expect(new Set(b.cases.map((c) => c.code))).toContain('UNKNOWN_SETTLEMENT');
  expect(new Set(b.cases.map((c) => c.code))).toContain('DECLARED_NOT_RECORDED');
});

test('every arrival order of a month gives the same open discrepancies and loop states as the in-order pass', async () => {
  const arb = fc.integer({ min: 1, max: 3 }).chain((seed) => {
    const n = generateMonth(seed, 10).length;
    const idx = Array.from({ length: n }, (_, i) => i);
    return fc.tuple(fc.constant(seed), fc.shuffledSubarray(idx, { minLength: n, maxLength: n }));
  });
  await fc.assert(
    fc.asyncProperty(arb, async ([seed, order]) => {
      const expected = await baseline(seed);
      const got = await run(seed, order);
      expect(got.before).toEqual(expected.before);
      expect(got.cases).toEqual(expected.cases);
      expect(got.loops).toEqual(expected.loops);
    }),
    { numRuns: 20, endOnFailure: true },
  );
}, 240_000);
