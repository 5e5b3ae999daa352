/**
 * Journey: start → a feed and payments → SIGTERM → start again → everything is readable and new
 * writes work; on the embedded database and on PostgreSQL.
 */
import { payment, settlement } from '../../support/fixtures';
import { journeyEnv, startGateway, until, waitProcessed, type DbMode, type JourneyEnv } from './journey-support';

// Generous: a fresh embedded database takes a while to initialise on a loaded machine.
jest.setTimeout(300_000);

const modes: DbMode[] = ['embedded', 'pg'];

describe.each(modes)('on the %s database', (mode) => {
  let env: JourneyEnv;
  beforeAll(async () => {
    env = await journeyEnv(`restart-${mode}`, mode);
  });
  afterAll(async () => {
    await env.cleanup();
  });

  test('when the gateway is stopped with SIGTERM and started again, then everything accepted before is readable and new writes work', async () => {
    const feed = {
      settlements: [settlement({ setl_id: 'J-R-1' }), settlement({ setl_id: 'J-R-2', mdtrt_id: 'M0002' })],
    };
    const first = await startGateway(env);
    await first.waitReady();
    const f = await first.post('/v1/agency/settlements', feed, 'agency');
    expect(f.status).toBe(202);
    const p1 = await first.post(
      '/v1/insurer-payments',
      payment({ payment_id: 'J-R-PAY-1', lines: [{ setl_id: 'J-R-1', paid_amount: '90000.00' }] }),
      'insurerA',
    );
    expect(p1.status).toBe(202);
    await waitProcessed(first, [f.data.message_id], 'agency');
    await waitProcessed(first, [p1.data.message_id], 'insurerA');
    const stopped = await first.stop('SIGTERM', 30_000);
    expect(stopped.code).toBe(0);

    const second = await startGateway(env);
    await second.waitReady();
    expect((await second.get(`/v1/messages/${f.data.message_id}`, 'agency')).data.status).toBe('processed');
    const s1 = await second.get('/v1/settlements/J-R-1', 'insurerA');
    expect(s1.status).toBe(200);
    expect(s1.data.loop.paid).toBe('90000.00');
    const p2 = await second.post(
      '/v1/insurer-payments',
      payment({
        payment_id: 'J-R-PAY-2',
        bank_txn_no: 'BK-J-R-2',
        lines: [{ setl_id: 'J-R-2', paid_amount: '90000.00' }],
      }),
      'insurerA',
    );
    expect(p2.status).toBe(202);
    await waitProcessed(second, [p2.data.message_id], 'insurerA');
    expect((await second.get('/v1/settlements/J-R-2', 'insurerA')).data.loop.paid).toBe('90000.00');
    expect((await second.stop('SIGTERM', 30_000)).code).toBe(0);
  });
});

describe('on the pg database, as docker-compose runs it', () => {
  let env: JourneyEnv;
  beforeAll(async () => {
    env = await journeyEnv('restart-split', 'pg');
  });
  afterAll(async () => {
    await env.cleanup();
  });

  test('when the API (--role=api) and the worker process (workers/all.ts) run apart, then a payment is processed and both stop on SIGTERM', async () => {
    const api = await startGateway(env, { args: ['--role=api'] });
    await api.waitReady();
    const workers = await startGateway(env, { script: 'workers/all.ts', env: { LOG_LEVEL: 'info' } });
    await until(
      'the worker process started',
      async () => (/workers started/.test(workers.output) || workers.exit ? true : undefined),
      120_000,
    );
    const feed = await api.post(
      '/v1/agency/settlements',
      { settlements: [settlement({ setl_id: 'J-S-1' })] },
      'agency',
    );
    expect(feed.status).toBe(202);
    await waitProcessed(api, [feed.data.message_id], 'agency');
    const p = await api.post(
      '/v1/insurer-payments',
      payment({ payment_id: 'J-S-PAY-1', lines: [{ setl_id: 'J-S-1', paid_amount: '90000.00' }] }),
      'insurerA',
    );
    expect(p.status).toBe(202);
    await waitProcessed(api, [p.data.message_id], 'insurerA');
    expect((await api.get('/v1/settlements/J-S-1', 'insurerA')).data.loop.paid).toBe('90000.00');
    expect((await workers.stop('SIGTERM', 30_000)).code).toBe(0);
    expect((await api.stop('SIGTERM', 30_000)).code).toBe(0);
  });
});
