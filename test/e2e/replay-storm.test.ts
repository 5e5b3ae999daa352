/**
 * REPLAY STORM (issue 7 of 7 §2): every message of a generated month is sent three times —
 * concurrently, out of order, by several senders at once (two copies share a webhook-id, as a
 * retransmission; the third carries a new one, as a resend from another instance) — and the final
 * state equals a single clean pass of the same month on another gateway: the same ledger rows, the
 * same loop state of every settlement, the same open discrepancies with the same amounts, and the
 * ground truth of the pure evaluator. STORM_MESSAGES sets the size (`npm run test:storm` runs 20,000).
 */
import crypto from 'node:crypto';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { prng } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopRows, openCases } from './matching-support';
import {
  AS_OF,
  actualLoops,
  chaosMonth,
  expectedCounts,
  expectedLoops,
  ledgerCounts,
  loopDifferences,
  type Doc,
} from './chaos-support';

const MESSAGES = Number(process.env.STORM_MESSAGES ?? 2_000);
const SENDERS = 12;
const month = chaosMonth(Number(process.env.STORM_SEED ?? 424242), MESSAGES);

let clean: TestGateway;
let storm: TestGateway;
const answers: Record<string, number> = {};

async function sendOnce(t: TestGateway, d: Doc, webhookId: string): Promise<void> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const r = await t.post(d.path, d.body, d.as, { webhookId });
    answers[r.status] = (answers[r.status] ?? 0) + 1;
    if ((r.status === 202 || r.status === 200) && !(r.data?.rejected?.length > 0)) return;
    // A copy racing the first one with the same webhook-id may find it still committing: retry as a client would.
    if (r.status < 500 && r.status !== 429)
      throw new Error(`${d.path} answered ${r.status}: ${JSON.stringify(r.data).slice(0, 400)}`);
    await new Promise((res) => setTimeout(res, 20 * attempt));
  }
  throw new Error(`${d.path} not accepted after 20 attempts`);
}

/** `copies` of every document, shuffled, sent by SENDERS concurrent senders. */
async function blast(t: TestGateway, docs: Doc[], copies: number, seed: number): Promise<void> {
  const rnd = prng(seed);
  const jobs = docs.flatMap((d) => {
    const shared = `msg_${crypto.randomUUID()}`;
    return Array.from({ length: copies }, (_, k) => ({ d, webhookId: k < 2 ? shared : `msg_${crypto.randomUUID()}` }));
  });
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < jobs.length) {
        const { d, webhookId } = jobs[next++]!;
        await sendOnce(t, d, webhookId);
      }
    }),
  );
}

async function finalState(t: TestGateway) {
  await t.drain(1_200_000);
  await sweepRegionPeriod(t.gw, '5331', '2025-03', AS_OF);
  await sweepRegionPeriod(t.gw, '5331', '2025-04', AS_OF);
  return { ledger: await ledgerCounts(t.gw.db), loops: await loopRows(t.gw.db), cases: await openCases(t.gw.db) };
}

let cleanState: Awaited<ReturnType<typeof finalState>>;
let stormState: Awaited<ReturnType<typeof finalState>>;

beforeAll(async () => {
  clean = await startTestGateway('storm-clean', { env: { GATEWAY_DB_POOL_SIZE: '6' } });
  storm = await startTestGateway('storm', { env: { GATEWAY_DB_POOL_SIZE: '8' } });
  // The clean pass: each message once, one sender, in the generated order.
  for (const d of [...month.docs, ...month.recoveries]) await sendOnce(clean, d, `msg_${crypto.randomUUID()}`);
  cleanState = await finalState(clean);
  // The storm: three copies of everything at once; recoveries after every payment was accepted.
  await blast(storm, month.docs, 3, 1);
  await blast(storm, month.recoveries, 3, 2);
  stormState = await finalState(storm);
}, 1_800_000);

afterAll(async () => {
  await clean?.close();
  await storm?.close();
  process.stderr.write(`replay storm: ${JSON.stringify({ messages: month.messages, answers })}\n`);
});

describe(`a month of ${MESSAGES} messages, each sent three times at once`, () => {
  test('the copies were answered as duplicates, never as new facts', () => {
    expect(answers['200']).toBeGreaterThan(0);
    expect(Object.keys(answers).filter((s) => Number(s) >= 500)).toEqual([]);
  });

  test('every message was processed and none failed', async () => {
    const { rows } = await storm.gw.db.query<{ status: string }>('SELECT DISTINCT status FROM messages');
    expect(rows.map((r) => r.status)).toEqual(['processed']);
  });

  test('the ledger holds every fact exactly once, as after the clean pass', () => {
    expect(stormState.ledger).toEqual(cleanState.ledger);
    expect(stormState.ledger).toEqual(expectedCounts(month, month.docs.filter((d) => d.kind === 'batch').length));
  });

  test("every settlement's loop state is the clean pass's and the ground truth's", async () => {
    expect(stormState.loops).toEqual(cleanState.loops);
    expect(loopDifferences(expectedLoops(month, storm.gw), await actualLoops(storm.gw.db)).slice(0, 5)).toEqual([]);
  });

  test("the open discrepancies, with their amounts, are the clean pass's", () => {
    expect(stormState.cases.length).toBeGreaterThan(0);
    expect(stormState.cases).toEqual(cleanState.cases);
  });
});
