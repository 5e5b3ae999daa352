/**
 * CONCURRENCY (issue 3): two worker processes on the same queues and database apply instalment
 * payments that touch the same settlements at the same moment. Totals stay exact and there is exactly
 * one open case per (code, subject), because evaluations of one settlement are serialised by
 * database locks, whatever the timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { batchOf, paymentOf, record } from '../support/month-generator';
import { REDIS_URL, startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopOf, openCases, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  PICC = 'PICC_DH';
const ROOT = path.resolve(__dirname, '..', '..');
const IDS = ['C01', 'C02', 'C03', 'C04'];
const INSTALMENTS = 10;

let t: TestGateway;
const children: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  // `node --import tsx` rather than the tsx wrapper: the pid we signal is the worker itself, so
  // killing it can never leave an orphaned worker behind.
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/all.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: t.dbUrl,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: t.cfg.queuePrefix,
      LOG_LEVEL: 'silent',
      GATEWAY_WORKER_CONCURRENCY: '8',
      GATEWAY_OUTBOX_POLL_MS: '200',
      GATEWAY_CLIENTS_FILE: '',
      GATEWAY_DB_POOL_SIZE: '6',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}

beforeAll(async () => {
  t = await startTestGateway('matching-concurrency', { workers: false });
  startWorkerProcess();
  startWorkerProcess();
});
afterAll(async () => {
  await Promise.all(children.map(stop));
  await t.close();
});

const settlements = IDS.map((id, i) => record(id, { fixmedins: H1, insurer: PICC, hifob: '1000.00', day: i + 1 }));

describe('two worker processes applying instalments of the same settlements at once', () => {
  beforeAll(async () => {
    await postAccepted(t, { path: '/v1/agency/settlements', as: 'agency', body: { settlements } });
    await postAccepted(t, {
      path: '/v1/settlement-batches',
      as: 'hospital1',
      body: batchOf(
        'B-CONC',
        H1,
        PICC,
        settlements.map((s) => ({ s })),
      ),
    });
    await t.drain(90_000);
    // Ten payments, each one line of 100.00 for every settlement, plus an eleventh for C01 and C02 only,
    // all posted at once so both processes evaluate the same settlements at the same moment.
    const payments = Array.from({ length: INSTALMENTS }, (_, k) =>
      paymentOf(
        PICC,
        `PAY-C-${k}`,
        { type: 'institution', id: H1 },
        `2025-04-${String(k + 1).padStart(2, '0')}T10:00:00+08:00`,
        IDS.map((id) => ({ setl_id: id, paid: '100.00' })),
      ),
    );
    payments.push(
      paymentOf(PICC, 'PAY-C-EXTRA', { type: 'institution', id: H1 }, '2025-04-25T10:00:00+08:00', [
        { setl_id: 'C01', paid: '100.00' },
        { setl_id: 'C02', paid: '100.00' },
      ]),
    );
    await Promise.all(payments.map((body) => postAccepted(t, { path: '/v1/insurer-payments', as: 'insurerA', body })));
    await t.drain(90_000);
  }, 180_000);

  test('every message was processed, none failed', async () => {
    const { rows } = await t.gw.db.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM messages GROUP BY status`,
    );
    expect(rows).toEqual([{ status: 'processed', n: String(2 + INSTALMENTS + 1) }]);
  });

  test('the loop totals are exact: ten instalments close a settlement, the eleventh is counted once', async () => {
    expect(await loopOf(t.gw.db, 'C01')).toMatchObject({
      status: 'closed',
      owed: '1000.00',
      paid: '1100.00',
      outstanding: '0.00',
    });
    expect(await loopOf(t.gw.db, 'C02')).toMatchObject({
      status: 'closed',
      owed: '1000.00',
      paid: '1100.00',
      outstanding: '0.00',
    });
    expect(await loopOf(t.gw.db, 'C03')).toMatchObject({
      status: 'closed',
      owed: '1000.00',
      paid: '1000.00',
      outstanding: '0.00',
    });
    expect(await loopOf(t.gw.db, 'C04')).toMatchObject({
      status: 'closed',
      owed: '1000.00',
      paid: '1000.00',
      outstanding: '0.00',
    });
  });

  test('exactly one open case per (code, subject): DUPLICATE_PAYMENT for the two overpaid settlements', async () => {
    const open = await openCases(t.gw.db);
    expect(open.map((c) => [c.code, c.subject_key, c.actual_amount])).toEqual([
      ['DUPLICATE_PAYMENT', 'setl:C01', '1100.00'],
      ['DUPLICATE_PAYMENT', 'setl:C02', '1100.00'],
    ]);
    const { rows } = await t.gw.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM discrepancies WHERE code = 'DUPLICATE_PAYMENT'`,
    );
    expect(Number(rows[0]!.n)).toBe(2);
  });
});
