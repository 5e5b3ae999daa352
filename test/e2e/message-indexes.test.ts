/**
 * Each message writes an entry in every index of `messages` at its insert, and again at each status
 * update (none is HOT: status is in the partial indexes' predicates). messages_unfinished (accepted or
 * processing) and messages_unmatched (anything but processed) differed only by the failed rows, so
 * migration 241 dropped the first: the unfinished messages (the relay's re-queue of lost jobs) are
 * read through messages_unmatched, its few failed rows left out.
 */
import type { Db } from '../../src/db/db';
import { countUnfinished, unfinishedMessageIds } from '../../src/ingest/message-store';
import { indexesOf, migratedDatabase, seqScans } from '../support/plan-probe';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('message-indexes'));
});
afterAll(async () => {
  await close();
});

test('when a message is stored, then one partial index holds it until it is processed', async () => {
  expect(await indexesOf(db, 'messages')).toEqual([
    { indexname: 'messages_business_key', indexdef: 'btree (kind, business_key) WHERE (business_key IS NOT NULL)' },
    { indexname: 'messages_pkey', indexdef: 'btree (message_id)' },
    { indexname: 'messages_received_at', indexdef: 'btree (received_at)' },
    { indexname: 'messages_unmatched', indexdef: "btree (message_id) WHERE (status <> 'processed'::text)" },
  ]);
});

test('when the relay looks for unfinished messages among many processed, then it reads them by the index, failed ones left out, in order', async () => {
  // 20,000 processed messages and, every 1,000th, one accepted, one processing and one failed.
  const status = (k: number) =>
    k % 1000 === 1 ? 'accepted' : k % 1000 === 2 ? 'processing' : k % 1000 === 3 ? 'failed' : 'processed';
  await db.query(
    `INSERT INTO messages (message_id, kind, client_id, webhook_id, body_sha256, content_type, body_bytes, status)
     SELECT ('00000000-0000-7000-8000-' || lpad(g::text, 12, '0'))::uuid, 'insurer_payment', 'c', 'w' || g, md5(g::text), 'application/json', 10,
            CASE g % 1000 WHEN 1 THEN 'accepted' WHEN 2 THEN 'processing' WHEN 3 THEN 'failed' ELSE 'processed' END
       FROM generate_series(0, 19999) AS g`,
  );
  await db.query('ANALYZE messages');
  const want = Array.from({ length: 20000 }, (_, k) => k)
    .filter((k) => ['accepted', 'processing'].includes(status(k)))
    .map((k) => `00000000-0000-7000-8000-${String(k).padStart(12, '0')}`);
  await db.tx(async (q) => {
    const before = await seqScans(q, 'messages');
    const first = await unfinishedMessageIds(q, null, 25);
    const rest = await unfinishedMessageIds(q, first[first.length - 1]!, 100);
    expect([...first, ...rest]).toEqual(want);
    expect(await countUnfinished(q)).toBe(want.length);
    expect(await seqScans(q, 'messages')).toBe(before);
  });
});
