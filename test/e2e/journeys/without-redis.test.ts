/**
 * Journey: `npm start` with Redis unreachable (REDIS_URL at a closed port). It starts, says once what
 * is unreachable, what still works and how to start Redis, accepts signed writes (202, kept in the
 * outbox), and SIGTERM ends it within its bound. Before the fix it logged about ten warnings a second,
 * each with a stack trace, and only kill -9 ended it.
 */
import net from 'node:net';
import { payment } from '../../support/fixtures';
import { journeyEnv, linesMatching, startGateway, type JourneyEnv } from './journey-support';

// Generous: a fresh embedded database takes a while to initialise on a loaded machine.
jest.setTimeout(300_000);

let env: JourneyEnv;
let closedPort: number;

beforeAll(async () => {
  // A port that was just free and is not listened on: connections are refused.
  closedPort = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  env = await journeyEnv('noredis', 'embedded', { REDIS_URL: `redis://127.0.0.1:${closedPort}`, LOG_LEVEL: 'info' });
});
afterAll(async () => {
  await env.cleanup();
});

test('when Redis is unreachable, then the gateway says so once, accepts writes, and SIGTERM ends it', async () => {
  const gw = await startGateway(env);
  await gw.waitReady({ redis: false });
  const ready = await gw.get('/readyz', null);
  expect(ready.status).toBe(503);
  expect(ready.data).toMatchObject({ database: 'ok', redis: 'unreachable' });

  const accepted = [];
  for (let i = 1; i <= 3; i++) {
    const r = await gw.post(
      '/v1/insurer-payments',
      payment({ payment_id: `NR-PAY-${i}`, bank_txn_no: `BK-NR-${i}` }),
      'insurerA',
    );
    expect(r.status).toBe(202);
    accepted.push(r.data.message_id);
  }
  // A few seconds of retrying in the background (every connection retries many times in this span).
  await new Promise((r) => setTimeout(r, 6_000));
  for (const id of accepted) expect((await gw.get(`/v1/messages/${id}`, 'insurerA')).data.status).toBe('accepted');

  const warnings = linesMatching(gw.output, /"level":(40|50|60)/);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(`Redis is unreachable at redis://127.0.0.1:${closedPort}`);
  expect(warnings[0]).toMatch(/accepts writes/);
  expect(warnings[0]).toMatch(/docker compose up -d redis/);
  expect(warnings[0]).not.toMatch(/"stack"/);

  // The bound is generous (the gateway's own is 9 s): the point is that it exits on its own.
  const exit = await gw.stop('SIGTERM', 30_000);
  if (process.env.JOURNEY_REPORT) process.stdout.write(`[without-redis] SIGTERM to exit: ${exit.ms} ms\n`);
  expect(exit.code).toBe(0);
  expect(gw.output).toMatch(/"msg":"stopped"/);
});
