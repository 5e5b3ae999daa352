/**
 * The gateway schedules its own nightly runs (BullMQ job scheduler per configured region, cron in
 * Asia/Shanghai), and one region-period never runs twice at once. A cron of every second stands in
 * for the nightly one.
 */
import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS } from '../support/test-clients';
import { RECONCILIATION_QUEUE } from '../../src/queue/queue-names';
import { addMonths, periodOf } from '../../src/time';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('recon_schedule', {
    workers: false,
    env: { GATEWAY_NIGHTLY_REGIONS: '9999', GATEWAY_NIGHTLY_CRON: '* * * * * *' },
  });
});
afterAll(async () => {
  await t.close();
});

const post = (body: unknown) =>
  axios.post(`${t.baseUrl}/v1/reconciliations`, body, {
    headers: { authorization: `Bearer ${TEST_CLIENTS.ops.token}` },
    validateStatus: () => true,
  });

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

let queuedRun: string;

it('when a run of a region-period is queued, a second request gets the same run back', async () => {
  const a = await post({ admdvs: '9999', period: '2025-01' });
  const b = await post({ admdvs: '9999', period: '2025-01', as_of: '2025-03-01 00:00:00' });
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.data).toMatchObject({ run_id: a.data.run_id, existing: true });
  queuedRun = a.data.run_id;
  expect((await t.get(`/v1/reconciliations/${queuedRun}`, 'ops')).data.status).toBe('queued');
  const other = await post({ admdvs: '9999', period: '2025-02' });
  expect(other.data.run_id).not.toBe(queuedRun);
});

it('when workers start, the queued run completes', async () => {
  t.gw.startWorkers();
  const status = await until('the run to complete', async () => {
    const s = (await t.get(`/v1/reconciliations/${queuedRun}`, 'ops')).data.status;
    return s === 'completed' || s === 'failed' ? s : undefined;
  });
  expect(status).toBe('completed');
});

it('the nightly scheduler of each configured region is visible in BullMQ, in Asia/Shanghai time', async () => {
  const queue = t.gw.queues.get(RECONCILIATION_QUEUE);
  const s = await until('the job scheduler', async () =>
    (await queue.getJobSchedulers()).find((x) => x.key === 'nightly-9999'),
  );
  expect(s).toMatchObject({ key: 'nightly-9999', pattern: '* * * * * *', tz: 'Asia/Shanghai' });
  expect(s.template?.data).toEqual({ kind: 'nightly', admdvs: '9999' });
});

it('the scheduler triggers runs of the previous and the current month, which complete', async () => {
  const current = periodOf(new Date());
  const rows = await until('nightly runs', async () => {
    const { rows } = await t.gw.db.query<{ period: string; status: string }>(
      `SELECT DISTINCT ON (period) period, status FROM reconciliation_runs WHERE trigger = 'nightly' AND admdvs = '9999' AND status = 'completed' ORDER BY period`,
    );
    return rows.length === 2 ? rows : undefined;
  });
  expect(rows.map((r) => r.period).sort()).toEqual([addMonths(current, -1), current].sort());
});
