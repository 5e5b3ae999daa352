/**
 * Journey: the API (--role=api) and one worker process per queue (workers/<queue>.ts), as a
 * deployment that scales a queue apart would run them. Each process works its own queue only: with
 * the ingest worker alone, payments are matched while the benefit audit's jobs wait; the benefits
 * worker then takes them. Every process stops on SIGTERM.
 */
import { Queue } from 'bullmq';
import { queueKeyPrefix } from '../../../src/config/config';
import IORedis from 'ioredis';
import { payment, settlement } from '../../support/fixtures';
import { REDIS_URL } from '../../support/test-gateway';
import { BENEFITS_QUEUE } from '../../../src/queue/queue-names';
import { journeyEnv, startGateway, until, waitProcessed, type GatewayProc, type JourneyEnv } from './journey-support';

jest.setTimeout(300_000);

let env: JourneyEnv;
let redis: IORedis;
let benefits: Queue;
beforeAll(async () => {
  env = await journeyEnv('per-queue', 'pg');
  redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  benefits = new Queue(BENEFITS_QUEUE, { connection: redis, prefix: queueKeyPrefix(env.prefix) });
});
afterAll(async () => {
  await benefits.close();
  redis.disconnect();
  await env.cleanup();
});

const started = (p: GatewayProc) =>
  until(
    `${p.pid} to start its workers`,
    async () => (/workers started/.test(p.output) || p.exit ? true : undefined),
    120_000,
  );

test('when each queue has its own worker process, each works its own queue, and all stop on SIGTERM', async () => {
  const api = await startGateway(env, { args: ['--role=api'] });
  await api.waitReady();
  const ingest = await startGateway(env, { script: 'workers/ingest.ts', env: { LOG_LEVEL: 'info' } });
  await started(ingest);
  expect(ingest.exit).toBeUndefined();

  const feed = await api.post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'J-Q-1' })] }, 'agency');
  expect(feed.status).toBe(202);
  await waitProcessed(api, [feed.data.message_id], 'agency');
  const p = await api.post(
    '/v1/insurer-payments',
    payment({ payment_id: 'J-Q-PAY-1', lines: [{ setl_id: 'J-Q-1', paid_amount: '90000.00' }] }),
    'insurerA',
  );
  expect(p.status).toBe(202);
  await waitProcessed(api, [p.data.message_id], 'insurerA');
  expect((await api.get('/v1/settlements/J-Q-1', 'insurerA')).data.loop.paid).toBe('90000.00');
  // The feed's benefit audit job waits: no process works the benefits queue yet.
  await until('the benefit job queued', async () =>
    ((await benefits.getJobCounts('waiting')).waiting ?? 0) >= 1 ? true : undefined,
  );
  expect((await benefits.getJobCounts('completed')).completed ?? 0).toBe(0);

  const audit = await startGateway(env, { script: 'workers/benefits.ts', env: { LOG_LEVEL: 'info' } });
  await started(audit);
  await until('the benefit job done', async () => {
    const c = await benefits.getJobCounts('waiting', 'active', 'completed');
    return c.waiting === 0 && c.active === 0 && (c.completed ?? 0) >= 1 ? true : undefined;
  });

  for (const proc of [audit, ingest, api]) expect((await proc.stop('SIGTERM', 30_000)).code).toBe(0);
});
