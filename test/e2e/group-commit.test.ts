/**
 * Group commit of the write path against the real PostgreSQL: messages written together by one
 * statement get the answers they would get one at a time — accepted, a retransmission's duplicate,
 * a replayed webhook-id, an idempotency conflict — with all their rows; and a group whose statement
 * fails is written message by message, so only the bad message fails. Under the same load the outbox
 * relay, kicked after every write, runs its passes a minimum gap apart.
 */
import crypto from 'node:crypto';
import type { Db, Sql } from '../../src/db/db';
import { acceptOne, createAcceptCommitter, type KindItem } from '../../src/ingest/ingest-service';
import { paymentSpec } from '../../src/ingest/kinds';
import type { AcceptOutcome } from '../../src/ingest/message-store';
import { OutboxRelay } from '../../src/queue/outbox-relay';
import { contentHash, normalize } from '../../src/schemas/normalize';
import type { InsurerPayment } from '../../src/schemas/types';
import { payment } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('group_commit', { workers: false });
});
afterAll(async () => {
  await t.close();
});

const uid = () => crypto.randomUUID().slice(0, 8);

/** A payment as the route hands it to the committer. */
function item(p: InsurerPayment, webhookId = `msg_${uid()}`, rawText?: string): KindItem {
  const raw = Buffer.from(rawText ?? JSON.stringify(p));
  const msg = normalize<InsurerPayment>('insurer-payment', JSON.parse(raw.toString()));
  return {
    kind: 'insurer_payment',
    businessKey: paymentSpec.businessKey(msg),
    contentSha256: contentHash(msg),
    rows: paymentSpec.rows(msg),
    env: {
      clientId: 'picc-dh',
      webhookId,
      bodySha256: crypto.createHash('sha256').update(raw).digest('hex'),
      rawBody: raw,
      contentType: 'application/json',
      bodyBytes: raw.length,
      requestId: `req-${uid()}`,
      receivedAt: new Date(),
    },
  };
}

/**
 * The gateway's database, counting the messages of each message-log statement (one transaction
 * writes a group, or a message alone: that statement, then its outbox jobs and its ledger rows).
 */
function countingDb() {
  const groups: number[] = [];
  const counting = (q: Sql): Sql => ({
    query: (text, params) => {
      if (text.includes('jsonb_to_recordset($1::jsonb) AS x('))
        groups.push((JSON.parse(params![0] as string) as unknown[]).length);
      return q.query(text, params);
    },
    exec: (text) => q.exec(text),
  });
  const db: Pick<Db, 'tx'> = { tx: (fn) => t.gw.db.tx((q) => fn(counting(q))) };
  return { db, groups };
}

async function stored(messageId: string) {
  const { rows } = await t.gw.db.query<{ lines: string; bodies: string; outbox: string; payments: string }>(
    `SELECT (SELECT count(*) FROM payment_lines l JOIN payments p USING (insurer_code, payment_id) WHERE p.message_id = $1) AS lines,
            (SELECT count(*) FROM message_bodies WHERE message_id = $1) AS bodies,
            (SELECT count(*) FROM outbox WHERE message_id = $1) AS outbox,
            (SELECT count(*) FROM payments WHERE message_id = $1) AS payments`,
    [messageId],
  );
  return {
    lines: Number(rows[0]!.lines),
    bodies: Number(rows[0]!.bodies),
    outbox: Number(rows[0]!.outbox),
    payments: Number(rows[0]!.payments),
  };
}

const inserted = (o: AcceptOutcome) => ('inserted' in o && o.inserted ? o.message_id : undefined);

describe('group commit', () => {
  test('when messages are submitted together, then one statement writes them all, each with its own id and rows', async () => {
    const c = countingDb();
    const committer = createAcceptCommitter(c.db);
    const items = Array.from({ length: 12 }, (_, i) =>
      item(
        payment({
          payment_id: `PAY-G-${uid()}`,
          lines: [
            { setl_id: `S-G${i}-1`, paid_amount: '40000.00' },
            { setl_id: `S-G${i}-2`, paid_amount: '50000.00' },
          ],
        }),
      ),
    );
    const out = await Promise.all(items.map((it) => committer.submit(it)));
    expect(c.groups).toEqual([12]);
    const ids = out.map(inserted);
    expect(new Set(ids).size).toBe(12);
    for (const [i, id] of ids.entries()) {
      expect(await stored(id!)).toEqual({ lines: 2, bodies: 1, outbox: 1, payments: 1 });
      const m = await t.gw.db.query<{ business_key: string; request_id: string; body: Buffer }>(
        'SELECT m.business_key, m.request_id, b.raw_body AS body FROM messages m JOIN message_bodies b USING (message_id) WHERE m.message_id = $1',
        [id],
      );
      expect(m.rows[0]!.business_key).toBe(items[i]!.businessKey);
      expect(m.rows[0]!.request_id).toBe(items[i]!.env.requestId);
      expect(m.rows[0]!.body.equals(items[i]!.env.rawBody!)).toBe(true);
    }
  });

  test('when a group holds a replayed webhook-id, a duplicate, a conflict and a retransmission, then each gets the answer it gets alone', async () => {
    const first = payment({ payment_id: `PAY-FIRST-${uid()}` });
    const firstItem = item(first, `msg_first_${uid()}`);
    const firstId = inserted(await t.gw.db.tx((q) => acceptOne(q, firstItem)))!;

    const c = countingDb();
    const committer = createAcceptCommitter(c.db);
    const fresh = item(payment({ payment_id: `PAY-NEW-${uid()}` }));
    // The first message's webhook-id with another body: a replay.
    const replay = item(payment({ payment_id: `PAY-REPLAY-${uid()}` }), firstItem.env.webhookId);
    // The first message's business key, same content, other formatting and webhook-id: 200 duplicate.
    const duplicate = item(first, `msg_${uid()}`, JSON.stringify(first, null, 2));
    // The first message's business key with another body: 409.
    const conflicting = item({ ...first, bank_txn_no: 'OTHER' });
    // A message sent twice in the same instant with one webhook-id (a retransmission).
    const twice = payment({ payment_id: `PAY-TWICE-${uid()}` });
    const sent = item(twice, `msg_twice_${uid()}`);
    const resent = item(twice, sent.env.webhookId);
    const [a, b, d, e, f, g] = await Promise.all(
      [fresh, replay, duplicate, conflicting, sent, resent].map((it) => committer.submit(it)),
    );

    expect(inserted(a!)).toEqual(expect.any(String));
    expect(b).toEqual({ replayed: true });
    expect(d).toEqual({
      inserted: false,
      message_id: firstId,
      content_sha256: firstItem.contentSha256,
      same_client: true,
    });
    expect(e).toEqual({
      inserted: false,
      message_id: firstId,
      content_sha256: firstItem.contentSha256,
      same_client: true,
    });
    expect(conflicting.contentSha256).not.toBe(firstItem.contentSha256);
    const sentId = inserted(f!);
    expect(g).toEqual({ inserted: false, message_id: sentId, content_sha256: sent.contentSha256, same_client: true });
    // Messages sharing a key waited for the group of the first: fresh, replay, duplicate and sent went together.
    expect(c.groups[0]).toBe(4);
    expect(c.groups.reduce((x, y) => x + y, 0)).toBe(6);
    // Nothing of the replayed, duplicate or conflicting messages was written.
    const { rows } = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE business_key = $1', [
      replay.businessKey,
    ]);
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await stored(firstId)).toEqual({ lines: 1, bodies: 1, outbox: 1, payments: 1 });
  });

  test('when the group statement fails, then each message is written alone and only the bad one fails', async () => {
    const c = countingDb();
    const committer = createAcceptCommitter(c.db);
    const good = [item(payment({ payment_id: `PAY-OK1-${uid()}` })), item(payment({ payment_id: `PAY-OK2-${uid()}` }))];
    // A row the database refuses (payee_type is CHECKed); the route's schema would have refused it first.
    const bad = item(payment({ payment_id: `PAY-BAD-${uid()}`, payee_type: 'nobody' as InsurerPayment['payee_type'] }));
    const out = await Promise.allSettled([good[0]!, bad, good[1]!].map((it) => committer.submit(it)));
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23514' });
    // The group's statement, then each message alone.
    expect(c.groups).toEqual([3, 1, 1, 1]);
    for (const o of [out[0], out[2]])
      expect(await stored(inserted((o as PromiseFulfilledResult<AcceptOutcome>).value)!)).toEqual({
        lines: 1,
        bodies: 1,
        outbox: 1,
        payments: 1,
      });
    const { rows } = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM webhook_ids WHERE webhook_id = $1', [
      bad.env.webhookId,
    ]);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  test('when many signed requests arrive at once, then every one gets the answer it gets alone', async () => {
    const committed = payment({ payment_id: `PAY-HTTP-${uid()}` });
    const committedId = `msg_${uid()}`;
    const first = await t.post('/v1/insurer-payments', committed, 'insurerA', { webhookId: committedId });
    expect(first.status).toBe(202);

    const twice = payment({ payment_id: `PAY-HTTP-TWICE-${uid()}` });
    const twiceId = `msg_${uid()}`;
    const fresh = Array.from({ length: 20 }, () => payment({ payment_id: `PAY-HTTP-${uid()}` }));
    const [replayed, conflicting, duplicate, sent, resent, ...accepted] = await Promise.all([
      t.post('/v1/insurer-payments', payment({ payment_id: `PAY-HTTP-${uid()}` }), 'insurerA', {
        webhookId: committedId,
      }),
      t.post('/v1/insurer-payments', { ...committed, bank_txn_no: 'OTHER' }, 'insurerA'),
      t.post('/v1/insurer-payments', committed, 'insurerA'),
      t.post('/v1/insurer-payments', twice, 'insurerA', { webhookId: twiceId }),
      t.post('/v1/insurer-payments', twice, 'insurerA', { webhookId: twiceId }),
      ...fresh.map((p) => t.post('/v1/insurer-payments', p, 'insurerA')),
    ]);
    expect(replayed!.status).toBe(401);
    expect(replayed!.data.type).toMatch(/webhook-id-replayed$/);
    expect(conflicting!.status).toBe(409);
    expect(duplicate!.status).toBe(200);
    expect(duplicate!.data).toEqual({ message_id: first.data.message_id, status: 'accepted', duplicate: true });
    // One copy of the retransmission is accepted, the other is its duplicate.
    expect([sent!.status, resent!.status].sort()).toEqual([200, 202]);
    expect(sent!.data.message_id).toBe(resent!.data.message_id);
    for (const r of accepted) expect(r.status).toBe(202);
    expect(new Set(accepted.map((r) => r.data.message_id)).size).toBe(20);
  });
});

describe('the outbox relay under load', () => {
  test('when kicks keep coming, then passes start a minimum gap apart and still relay everything', async () => {
    const relay = new OutboxRelay(t.gw.db, t.gw.queues, t.gw.log, 60_000, {
      completedSeconds: 60,
      failedSeconds: 60,
      minGapMs: 1500,
    });
    const passes = jest.spyOn(relay, 'relayOnce');
    for (let i = 0; i < 50; i++) relay.kick();
    expect(passes).toHaveBeenCalledTimes(1);
    await passes.mock.results[0]!.value;
    // A pass just ran: this kick waits for the gap instead of starting a second transaction now.
    const committer = createAcceptCommitter(t.gw.db);
    const written = await committer.submit(item(payment({ payment_id: `PAY-RELAY-${uid()}` })));
    relay.kick();
    relay.kick();
    expect(passes).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 100 && passes.mock.calls.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(passes).toHaveBeenCalledTimes(2);
    await passes.mock.results[1]!.value;
    const { rows } = await t.gw.db.query<{ relayed_at: Date | null }>(
      'SELECT relayed_at FROM outbox WHERE message_id = $1',
      [inserted(written)],
    );
    expect(rows[0]!.relayed_at).not.toBeNull();
    await relay.stop();
  });
});
