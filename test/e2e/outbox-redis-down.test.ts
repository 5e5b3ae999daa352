/**
 * The transactional outbox: a message committed while Redis is down is not lost. The test runs its
 * own Redis on a spare loopback port (so killing it disturbs no other test), kills it, posts,
 * brings it back, and sees the message processed exactly once.
 */
import { OwnRedis } from '../support/own-redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { payment } from '../support/fixtures';

const redis = new OwnRedis(16390 + (process.pid % 500));
let t: TestGateway;
let handled = 0;

beforeAll(async () => {
  await redis.start();
  t = await startTestGateway('outbox_redis_down', { env: { REDIS_URL: redis.url, GATEWAY_OUTBOX_POLL_MS: '100' } });
  t.gw.handlers.insurer_payment = async (msgs) => {
    handled += msgs.length;
  };
});
afterAll(async () => {
  await t.close().catch(() => undefined);
  await redis.kill();
});

test('when Redis dies between the commit and the enqueue, then the message is queued after Redis returns and processed once', async () => {
  await redis.kill();
  const r = await t.post('/v1/insurer-payments', payment({ payment_id: 'PAY-REDIS-DOWN' }), 'insurerA');
  expect(r.status).toBe(202);
  const pending = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL');
  expect(Number(pending.rows[0]!.n)).toBe(1);

  await redis.start();
  // Generous: the claim is "queued once Redis is back and processed once", not a latency; in the full
  // suite on two loaded cores the workers' reconnection alone has taken most of 30 s.
  await t.drain(90_000);
  const m = await t.gw.db.query<{ status: string }>('SELECT status FROM messages WHERE message_id = $1', [
    r.data.message_id,
  ]);
  expect(m.rows[0]!.status).toBe('processed');
  expect(handled).toBe(1);

  // Relaying the same row again (a crash between add and mark) adds no second job.
  await t.gw.db.query('UPDATE outbox SET relayed_at = NULL');
  await t.gw.relay.relayOnce();
  await t.drain();
  expect(handled).toBe(1);
});
