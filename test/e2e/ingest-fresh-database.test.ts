/**
 * A fresh database on a Redis that still holds an earlier database's jobs under the same queue
 * prefix: what `npm start` meets after its data directory was removed, or `gateway demo` run a
 * second time. Found by hand: the relay named a batch job after its outbox row ids, which restart at
 * 1 in a fresh database, so BullMQ took the new job for the earlier database's completed one and never
 * ran it — the messages answered 202 and stayed `accepted` for ever (the demo waited 5 minutes for
 * them and went on). The job ids now come from the messages' own ids.
 */
import { startTestGateway, obliterateQueues, type TestGateway } from '../support/test-gateway';
import { payment } from '../support/fixtures';

const prefix = `gwt-fresh-db-shared-${process.pid}`;
let first: TestGateway | undefined;
let second: TestGateway | undefined;

afterAll(async () => {
  await first?.close();
  await second?.close();
  await obliterateQueues(prefix);
});

async function postPayments(t: TestGateway, tag: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await t.post(
      '/v1/insurer-payments',
      payment({ payment_id: `PAY-FD-${tag}-${i}`, bank_txn_no: `BK-FD-${tag}-${i}` }),
      'insurerA',
    );
    expect(r.status).toBe(202);
    ids.push(r.data.message_id as string);
  }
  return ids;
}

async function statuses(t: TestGateway, ids: string[]): Promise<string[]> {
  const { rows } = await t.gw.db.query<{ status: string }>(
    'SELECT status FROM messages WHERE message_id = ANY($1::uuid[]) ORDER BY message_id',
    [ids],
  );
  return rows.map((r) => r.status);
}

test('when a fresh database starts on the Redis of an earlier one, then its messages are processed too', async () => {
  const env = { GATEWAY_QUEUE_PREFIX: prefix };
  first = await startTestGateway('fresh_db_first', { env });
  // The relay runs only when the test says, so both databases relay the same outbox rows in the same passes.
  await first.gw.relay.stop();
  const earlier = await postPayments(first, 'A', 4);
  expect(await first.gw.relay.relayOnce()).toBe(4);
  await first.drain(30_000);
  expect(await statuses(first, earlier)).toEqual(['processed', 'processed', 'processed', 'processed']);
  await first.close();
  first = undefined;

  // The earlier database is gone; its completed jobs are still in Redis (kept for a day).
  second = await startTestGateway('fresh_db_second', { env });
  await second.gw.relay.stop();
  const later = await postPayments(second, 'B', 4);
  expect(await second.gw.relay.relayOnce()).toBe(4);
  await second.drain(30_000);
  expect(await statuses(second, later)).toEqual(['processed', 'processed', 'processed', 'processed']);
});
