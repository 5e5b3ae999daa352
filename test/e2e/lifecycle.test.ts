/**
 * DATA LIFECYCLE (issue 7 of 7 §5): raw message bodies live in `message_bodies`, partitioned by
 * month and created ahead; `purge` drops whole expired partitions (never a long DELETE), removes
 * webhook ids older than 24 h and old relayed outbox rows in small batches, keeps the ledger, and
 * with --dry-run only reports. BullMQ keeps completed and failed jobs only as configured.
 */
import { purge, listBodyPartitions } from '../../src/lifecycle';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';
import { payment } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

// The gateway's clock: mid-January 2025 (CST); retention 30 days.
let clock = Date.parse('2025-01-15T10:00:00+08:00');
let t: TestGateway;
let messageId: string;

beforeAll(async () => {
  t = await startTestGateway('lifecycle', {
    now: () => clock,
    env: {
      GATEWAY_RAW_BODY_RETENTION_DAYS: '30',
      GATEWAY_OUTBOX_RETENTION_DAYS: '7',
      GATEWAY_JOBS_KEEP_COMPLETED_SECONDS: '3600',
      GATEWAY_JOBS_KEEP_FAILED_SECONDS: '7200',
    },
  });
  const r = await t.post('/v1/insurer-payments', payment({ payment_id: 'PAY-LIFE-1' }), 'insurerA');
  expect(r.status).toBe(202);
  messageId = r.data.message_id;
  await t.drain();
  // The database stamps relayed_at with its own clock; put it on the gateway's.
  await t.gw.db.query(`UPDATE outbox SET relayed_at = '2025-01-15T10:00:01+08:00'`);
  // A body that landed in the default partition long ago (a clock far off) and one from last month.
  await t.gw.db.query(
    `INSERT INTO message_bodies (message_id, received_at, raw_body) VALUES (gen_random_uuid(), '2020-01-01T00:00:00Z', '\\x7b7d'), (gen_random_uuid(), '2024-12-20T00:00:00+08', '\\x7b7d')`,
  );
  await t.gw.db.query(
    `INSERT INTO webhook_ids (client_id, webhook_id, body_sha256, seen_at) VALUES ('picc-dh', 'msg_old', 'x', '2025-01-10T00:00:00Z')`,
  );
});
afterAll(async () => {
  await t.close();
});

describe('raw bodies', () => {
  test("when a message is accepted, then its raw body is in this month's partition and not in the message row", async () => {
    const { rows } = await t.gw.db.query<{ part: string; body: Buffer }>(
      'SELECT tableoid::regclass::text AS part, raw_body AS body FROM message_bodies WHERE message_id = $1',
      [messageId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.part).toBe('message_bodies_y2025m01');
    expect(JSON.parse(rows[0]!.body.toString()).payment_id).toBe('PAY-LIFE-1');
    const m = await t.gw.db.query<{ raw_body: Buffer | null }>('SELECT raw_body FROM messages WHERE message_id = $1', [
      messageId,
    ]);
    expect(m.rows[0]!.raw_body).toBeNull();
  });

  test('the monthly partitions from last month to three months ahead exist', async () => {
    const names = (await listBodyPartitions(t.gw.db)).map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'message_bodies_y2024m12',
        'message_bodies_y2025m01',
        'message_bodies_y2025m02',
        'message_bodies_y2025m03',
        'message_bodies_y2025m04',
      ]),
    );
  });
});

describe('purge', () => {
  const asOf = new Date('2025-03-20T00:00:00+08:00'); // 30 days back is 2025-02-18: December and January have expired

  test('when run with --dry-run, then it reports the expired partitions, rows and ids, and changes nothing', async () => {
    const before = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM message_bodies');
    const r = await purge(t.gw, { dryRun: true, asOf });
    expect(r.dryRun).toBe(true);
    expect(r.droppedPartitions.map((p) => [p.name, p.rows])).toEqual([
      ['message_bodies_y2024m12', 1],
      ['message_bodies_y2025m01', 1],
    ]);
    expect(r.defaultPartitionRows).toBe(1);
    expect(r.webhookIds).toBeGreaterThanOrEqual(2);
    expect(r.outboxRows).toBeGreaterThanOrEqual(1);
    const after = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM message_bodies');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    expect((await listBodyPartitions(t.gw.db)).map((p) => p.name)).toContain('message_bodies_y2025m01');
  });

  test('when the CLI runs purge --dry-run, then it prints what would go', async () => {
    const io = memoryIo();
    const code = await main(['purge', '--dry-run', '--as-of', asOf.toISOString()], io, {
      DATABASE_URL: t.dbUrl,
      GATEWAY_RAW_BODY_RETENTION_DAYS: '30',
    });
    expect(code).toBe(0);
    expect(io.stdout).toContain('DRY RUN');
    expect(io.stdout).toContain('would drop partition message_bodies_y2025m01');
  });

  test('when run for real, then expired partitions are dropped whole, old ids and outbox rows go, and the ledger stays', async () => {
    const r = await purge(t.gw, { asOf });
    expect(r.droppedPartitions.map((p) => p.name)).toEqual(['message_bodies_y2024m12', 'message_bodies_y2025m01']);
    const names = (await listBodyPartitions(t.gw.db)).map((p) => p.name);
    expect(names).not.toContain('message_bodies_y2025m01');
    expect(names).toEqual(expect.arrayContaining(['message_bodies_y2025m02', 'message_bodies_y2025m06']));
    const left = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM message_bodies');
    expect(left.rows[0]!.n).toBe('0');
    const ids = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM webhook_ids');
    expect(ids.rows[0]!.n).toBe('0');
    const outbox = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
    expect(outbox.rows[0]!.n).toBe('0');
    // The ledger: the message, the payment and its loop-relevant facts are kept.
    const kept = await t.gw.db.query<{ m: string; p: string }>(
      `SELECT (SELECT count(*) FROM messages) AS m, (SELECT count(*) FROM payments WHERE payment_id = 'PAY-LIFE-1') AS p`,
    );
    expect(kept.rows[0]).toEqual({ m: '1', p: '1' });
  });

  test('when run again, then there is nothing left to purge', async () => {
    const r = await purge(t.gw, { asOf });
    expect([r.droppedPartitions.length, r.defaultPartitionRows, r.webhookIds, r.outboxRows]).toEqual([0, 0, 0, 0]);
  });
});

describe('queue retention', () => {
  test('a relayed job keeps completed and failed jobs only as long as configured', async () => {
    clock = Date.now();
    const r = await t.post('/v1/insurer-payments', payment({ payment_id: 'PAY-LIFE-2' }), 'insurerA');
    await t.drain();
    // The relay puts a pass's messages into one job and notes its id on their outbox rows.
    const row = await t.gw.db.query<{ job_id: string }>(
      `SELECT coalesce(job_id, message_id::text) AS job_id FROM outbox WHERE message_id = $1 AND queue = 'ingest'`,
      [r.data.message_id],
    );
    const job = await t.gw.queues.get('ingest').getJob(row.rows[0]!.job_id);
    expect(job?.opts.removeOnComplete).toMatchObject({ age: 3600 });
    expect(job?.opts.removeOnFail).toMatchObject({ age: 7200 });
  });
});
