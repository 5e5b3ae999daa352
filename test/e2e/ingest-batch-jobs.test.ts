/**
 * The outbox relay puts the ingest rows of a pass into one BullMQ job of many messages (issue 15):
 * one job per message cost Redis and both processes a round of job bookkeeping per message. The
 * guarantees stay: relayed again (a crash between add and mark) it is still one job; a job lost or
 * failed while its messages are unfinished is added again or retried (requeueStuck); a message that
 * cannot be applied fails alone, its job-mates are processed.
 */
import { UnrecoverableError } from 'bullmq';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { payment } from '../support/fixtures';
import type { MessageRow } from '../../src/queue/ingest-worker';

let t: TestGateway;
const handled: string[] = [];
let poison: string | undefined;

beforeAll(async () => {
  t = await startTestGateway('ingest_batch_jobs');
  t.gw.handlers.insurer_payment = async (msgs: readonly MessageRow[]) => {
    if (poison && msgs.some((m) => m.message_id === poison)) throw new UnrecoverableError('cannot apply this one');
    handled.push(...msgs.map((m) => m.message_id));
  };
  // The relay runs only when the test says (relayOnce, requeueStuck).
  await t.gw.relay.stop();
});
afterAll(async () => {
  await t.close();
});

async function postPayments(tag: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await t.post(
      '/v1/insurer-payments',
      payment({ payment_id: `PAY-BJ-${tag}-${i}`, bank_txn_no: `BK-BJ-${tag}-${i}` }),
      'insurerA',
    );
    expect(r.status).toBe(202);
    ids.push(r.data.message_id as string);
  }
  return ids;
}

async function jobIdsOf(ids: string[]): Promise<(string | null)[]> {
  const { rows } = await t.gw.db.query<{ job_id: string | null }>(
    `SELECT job_id FROM outbox WHERE queue = 'ingest' AND message_id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  return rows.map((r) => r.job_id);
}

async function statusOf(ids: string[]): Promise<Record<string, string>> {
  const { rows } = await t.gw.db.query<{ message_id: string; status: string }>(
    'SELECT message_id, status FROM messages WHERE message_id = ANY($1::uuid[])',
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.message_id, r.status]));
}

test('when a pass relays five messages, then they go as one job, and relaying them again adds no second job', async () => {
  const ids = await postPayments('A', 5);
  expect(await t.gw.relay.relayOnce()).toBe(5);
  const jobIds = await jobIdsOf(ids);
  expect(new Set(jobIds).size).toBe(1);
  const job = await t.gw.queues.get('ingest').getJob(jobIds[0]!);
  expect((job?.data as { messages: { message_id: string }[] }).messages.map((m) => m.message_id)).toEqual(ids);
  await t.drain();
  expect(handled.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());

  // A crash between add and mark: the same rows again are the same job (BullMQ keeps the completed one).
  await t.gw.db.query(`UPDATE outbox SET relayed_at = NULL, job_id = NULL WHERE message_id = ANY($1::uuid[])`, [ids]);
  expect(await t.gw.relay.relayOnce()).toBe(5);
  expect(await jobIdsOf(ids)).toEqual(jobIds);
  await new Promise((r) => setTimeout(r, 300));
  expect(handled.filter((id) => ids.includes(id))).toHaveLength(5);
});

test('when a job of several messages is lost while they are unfinished, then requeueStuck adds it again and they are processed', async () => {
  const ids = await postPayments('B', 3);
  expect(await t.gw.relay.relayOnce()).toBe(3);
  await t.drain();
  const [jobId] = await jobIdsOf(ids);
  // As if Redis lost the job and the messages had not been applied.
  await (await t.gw.queues.get('ingest').getJob(jobId!))!.remove();
  await t.gw.db.query(
    `UPDATE messages SET status = 'accepted', processed_at = NULL WHERE message_id = ANY($1::uuid[])`,
    [ids],
  );
  await t.gw.db.query(
    `UPDATE outbox SET relayed_at = now() - interval '2 minutes' WHERE message_id = ANY($1::uuid[])`,
    [ids],
  );
  const before = handled.length;
  expect(await t.gw.relay.requeueStuck(60)).toBe(3);
  await t.drain();
  expect(Object.values(await statusOf(ids))).toEqual(['processed', 'processed', 'processed']);
  expect(handled.slice(before).sort()).toEqual([...ids].sort());
});

test('when one message of a job cannot be applied, then it alone is failed, with its own error, and its job-mates are processed', async () => {
  const ids = await postPayments('C', 4);
  poison = ids[2];
  try {
    expect(await t.gw.relay.relayOnce()).toBe(4);
    expect(new Set(await jobIdsOf(ids)).size).toBe(1);
    await t.drain();
    const st = await statusOf(ids);
    expect(ids.map((id) => st[id])).toEqual(['processed', 'processed', 'failed', 'processed']);
    const { rows } = await t.gw.db.query<{ errors: unknown }>('SELECT errors FROM messages WHERE message_id = $1', [
      poison,
    ]);
    expect(rows[0]!.errors).toEqual([{ message: 'cannot apply this one' }]);
  } finally {
    poison = undefined;
  }
});
