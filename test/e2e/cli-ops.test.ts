import { startTestGateway, REDIS_URL, type TestGateway } from '../support/test-gateway';
import { batch, payment, settlement } from '../support/fixtures';
import { syncGroup } from '../../src/discrepancies/case-store';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';

let t: TestGateway;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestGateway('cli-ops');
  env = { DATABASE_URL: t.dbUrl, REDIS_URL, GATEWAY_QUEUE_PREFIX: t.cfg.queuePrefix, LOG_LEVEL: 'silent' };
  expect((await t.post('/v1/agency/settlements', { settlements: [settlement()] }, 'agency')).status).toBe(202);
  expect((await t.post('/v1/settlement-batches', batch(), 'hospital1')).status).toBe(202);
  expect((await t.post('/v1/insurer-payments', payment(), 'insurerA')).status).toBe(202);
  await t.drain();
  await t.gw.db.tx((q) =>
    syncGroup(
      q,
      'cli-ops',
      [
        {
          code: 'PAYMENT_OVERDUE',
          severity: 'high',
          subject_key: 'settlement:SX',
          admdvs: '533102',
          insurer_code: 'PICC_DH',
          period: '2025-03',
          setl_id: 'SX',
          detail: 'test',
          evidence: {},
        },
      ],
      new Date(),
    ),
  );
});
afterAll(() => t.close());

describe('gateway verify-audit', () => {
  it('reports an intact chain with exit code 0', async () => {
    const io = memoryIo();
    expect(await main(['verify-audit'], io, env)).toBe(0);
    expect(io.stdout).toMatch(/audit trail intact: [1-9]\d* events verified/);
  });

  it('reports a tampered event with exit code 1', async () => {
    await t.gw.db.tx(async (q) => {
      // The table refuses updates; a tamperer with superuser rights would switch the trigger off.
      await q.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
      await q.query(
        `UPDATE audit_events SET data = '{"tampered":true}' WHERE seq = (SELECT max(seq) FROM audit_events)`,
      );
      await q.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
    });
    const io = memoryIo();
    expect(await main(['verify-audit'], io, env)).toBe(1);
    expect(io.stdout).toMatch(/audit trail BROKEN at event \d+: hash does not match/);
  });
});

describe('gateway explain', () => {
  it("explains a settlement's large-expense amount in Chinese by default and in English on request", async () => {
    const zh = memoryIo();
    expect(await main(['explain', 'S0001'], zh, env)).toBe(0);
    expect(zh.stdout).toMatch(/[\u4e00-\u9fff]/);
    expect(zh.stdout).toContain('90000.00');
    const en = memoryIo();
    expect(await main(['explain', 'S0001', '--lang', 'en'], en, env)).toBe(0);
    expect(en.stdout).toContain('90000.00');
  });

  it('answers exit code 1 for an unknown settlement', async () => {
    const io = memoryIo();
    expect(await main(['explain', 'NOPE', '--lang', 'en'], io, env)).toBe(1);
    expect(io.stderr).toContain('no settlement NOPE');
  });
});

describe('gateway reconcile', () => {
  it('runs the region-period now and prints the report', async () => {
    // as_of defaults to now: the report counts what the gateway had received by then.
    const io = memoryIo();
    expect(await main(['reconcile', '--admdvs', '5331', '--period', '2025-03'], io, env)).toBe(0);
    const run = JSON.parse(io.stdout);
    expect(run).toMatchObject({ status: 'completed', admdvs: '5331', period: '2025-03' });
    expect(run.institutions).toEqual([
      expect.objectContaining({ fixmedins_code: 'H53310200001', declared_cnt: 1, recorded_cnt: 1, balanced: true }),
    ]);
  });

  it('refuses a malformed period with exit code 2', async () => {
    const io = memoryIo();
    expect(await main(['reconcile', '--admdvs', '5331', '--period', '2025-3'], io, env)).toBe(2);
    expect(io.stderr).toContain('--period must be yyyy-MM');
  });
});
