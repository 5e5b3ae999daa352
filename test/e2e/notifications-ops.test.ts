/**
 * Operating notifications: the subscriber API and its scope, the delivery log, replay with the same
 * webhook-id, the emergency stop, a worker restart mid-flight without a duplicate, the subscribers
 * file, and disabling a subscriber that has failed for days.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import {
  DELIVERIES_QUEUE,
  createDestinationGuard,
  createHttpSender,
  loadSubscribersFile,
  processDelivery,
} from '../../src/notifications';
import {
  ALLOW_RECEIVERS_ENV,
  RECEIVER_HOST,
  api,
  deliveriesOf,
  finding,
  jobFinished,
  openCases,
  startReceiver,
  subscribe,
  until,
  type Receiver,
  type Reply,
} from './notifications-support';

let t: TestGateway;
let workers: Worker[] = [];
const receivers: Receiver[] = [];
const receiver = async (...a: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...a);
  receivers.push(r);
  return r;
};
const SCHEDULE = [0, 200, 200, 200, 200, 200, 200, 200];

beforeAll(async () => {
  // Workers started here, not by the harness, so a test can close and restart them.
  t = await startTestGateway('notifications_ops', {
    workers: false,
    env: {
      ...ALLOW_RECEIVERS_ENV,
      GATEWAY_DELIVERY_SCHEDULE_MS: SCHEDULE.join(','),
      GATEWAY_DELIVERY_TIMEOUT_MS: '10000',
    },
  });
  workers = t.gw.startWorkers();
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

const deliveryDeps = () => ({
  db: t.gw.db,
  log: t.gw.log,
  now: t.gw.now,
  scheduleMs: SCHEDULE,
  timeoutMs: 5000,
  disableAfterDays: 5,
  send: createHttpSender(createDestinationGuard([RECEIVER_HOST])),
});

describe('the subscriber API', () => {
  test('when ops create a subscriber, then the secret is returned once and never listed', async () => {
    const r = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: 'https://ops.example.cn/hook',
      format: 'wecom',
      filter: { severities: ['critical', 'high'] },
    });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({
      id: expect.stringMatching(/^sub_/),
      format: 'wecom',
      enabled: true,
      source: 'api',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const list = await api(t, 'get', '/v1/subscribers', 'ops');
    const listed = list.data.items.find((s: any) => s.id === r.data.id);
    expect(listed).toMatchObject({ url: 'https://ops.example.cn/hook', filter: { severities: ['critical', 'high'] } });
    expect(listed.secret).toBeUndefined();
  });

  test('when the body is invalid, then 422 names each field by JSON pointer', async () => {
    const r = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: 'ftp://x.example/hook',
      format: 'sms',
      filter: { codes: ['bad code'], extra: 1 },
    });
    expect(r.status).toBe(422);
    expect(r.data.errors.map((e: any) => e.path).sort()).toEqual([
      '/filter/codes/0',
      '/filter/extra',
      '/format',
      '/url',
    ]);
    const missing = await api(t, 'post', '/v1/subscribers', 'ops', { format: 'json' });
    expect(missing.data.errors).toEqual([expect.objectContaining({ path: '/url', code: 'required' })]);
    const creds = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: 'https://user:pw@x.example/hook',
      format: 'json',
    });
    expect(creds.data.errors).toEqual([expect.objectContaining({ path: '/url' })]);
  });

  test('when an insurer subscribes for another insurer, then 403; an institution may not subscribe at all', async () => {
    const other = await api(t, 'post', '/v1/subscribers', 'insurerA', {
      url: 'https://picc.example.cn/hook',
      format: 'json',
      filter: { insurer_code: 'CPIC_DH' },
    });
    expect(other.status).toBe(403);
    expect(other.data.errors).toEqual([expect.objectContaining({ path: '/filter/insurer_code' })]);
    expect(
      (await api(t, 'post', '/v1/subscribers', 'hospital1', { url: 'https://h.example.cn/hook', format: 'json' }))
        .status,
    ).toBe(403);
  });

  test('when insurers list or delete, then they see and delete only their own subscribers', async () => {
    const a = await subscribe(t, { url: 'https://picc.example.cn/a', format: 'json' }, 'insurerA');
    const b = await subscribe(t, { url: 'https://cpic.example.cn/b', format: 'json' }, 'insurerB');
    const listA = await api(t, 'get', '/v1/subscribers', 'insurerA');
    expect(listA.data.items.map((s: any) => s.id)).toEqual([a.id]);
    expect((await api(t, 'delete', `/v1/subscribers/${b.id}`, 'insurerA')).status).toBe(404);
    expect((await api(t, 'delete', `/v1/subscribers/${a.id}`, 'insurerA')).status).toBe(204);
    expect((await api(t, 'get', '/v1/subscribers', 'insurerA')).data.items).toEqual([]);
    expect((await api(t, 'get', `/v1/subscribers/${b.id}`, 'insurerB')).status).toBe(200);
  });
});

describe('deliveries', () => {
  test('when ops read the delivery log, then they can filter by subscriber and status; an insurer sees only its own', async () => {
    const rx = await receiver();
    const mine = await subscribe(t, { url: rx.url, format: 'json' }, 'insurerA');
    const [caseId] = await openCases(t, [finding({ insurer_code: 'PICC_DH' })]);
    await until(
      async () => (await deliveriesOf(t, mine.id)).some((d) => d.status === 'delivered'),
      10_000,
      'delivered',
    );
    const log = await api(t, 'get', `/v1/deliveries?subscriber_id=${mine.id}&status=delivered`, 'ops');
    expect(log.status).toBe(200);
    expect(log.data.items).toEqual([
      expect.objectContaining({
        subscriber_id: mine.id,
        status: 'delivered',
        event_key: `critical:${caseId}`,
        attempts: 1,
      }),
    ]);
    expect((await api(t, 'get', '/v1/deliveries?status=nonsense', 'ops')).data.errors).toEqual([
      expect.objectContaining({ path: '?status' }),
    ]);
    const insurerB = await api(t, 'get', `/v1/deliveries?subscriber_id=${mine.id}`, 'insurerB');
    expect(insurerB.data.items).toEqual([]);
    expect((await api(t, 'get', `/v1/deliveries/${log.data.items[0].id}`, 'insurerB')).status).toBe(404);
    await api(t, 'delete', `/v1/subscribers/${mine.id}`, 'insurerA');
  });

  test('when ops replay a delivered webhook, then it is sent again with the same webhook-id and body', async () => {
    const rx = await receiver();
    const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_REPLAY' } });
    await openCases(t, [finding({ insurer_code: 'INS_REPLAY' })]);
    const [first] = await rx.waitFor(1);
    await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered', 10_000, 'delivered');
    expect((await api(t, 'post', `/v1/deliveries/${first!.id}/replay`, 'insurerA')).status).toBe(403);
    const r = await api(t, 'post', `/v1/deliveries/${first!.id}/replay`, 'ops');
    expect(r.status).toBe(202);
    const [, second] = await rx.waitFor(2);
    expect(second!.id).toBe(first!.id);
    expect(second!.body).toBe(first!.body);
    await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered', 10_000, 'delivered again');
    expect((await deliveriesOf(t, sub.id))[0]).toMatchObject({ replays: 1, attempts: 1 });
    expect((await api(t, 'post', '/v1/deliveries/msg_00000000-0000-0000-0000-000000000000/replay', 'ops')).status).toBe(
      404,
    );
  });

  test('when a subscriber has failed for more than the configured days, then the next failure disables it', async () => {
    const rx = await receiver(() => ({ status: 500 }));
    const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_DAYS' } });
    await t.gw.db.query(`UPDATE subscribers SET failing_since = $2 WHERE id = $1`, [
      sub.id,
      new Date(t.gw.now() - 6 * 86_400_000),
    ]);
    await openCases(t, [finding({ insurer_code: 'INS_DAYS' })]);
    await rx.waitFor(1);
    await until(
      async () => (await api(t, 'get', `/v1/subscribers/${sub.id}`, 'ops')).data.enabled === false,
      10_000,
      'disabled',
    );
    expect((await api(t, 'get', `/v1/subscribers/${sub.id}`, 'ops')).data.disabled_reason).toBe(
      'failing for more than 5 days',
    );
    expect((await deliveriesOf(t, sub.id))[0].status).toBe('cancelled');
  });
});

describe('the emergency stop', () => {
  test('when ops stop notifications, then no attempt is made until they resume, and pending deliveries are held, not lost', async () => {
    let answer: Reply = { status: 500 };
    const rx = await receiver(() => answer);
    const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_STOP' } });
    await openCases(t, [finding({ insurer_code: 'INS_STOP' })]);
    await rx.waitFor(1);
    const stop = await api(t, 'post', '/v1/notifications/stop', 'ops', { reason: '接收方故障，暂停推送' });
    expect(stop.status).toBe(200);
    expect(stop.data).toMatchObject({
      stopped: true,
      queue_paused: true,
      reason: '接收方故障，暂停推送',
      changed_by: 'ops',
    });
    // An attempt already on the wire when the stop committed may finish; after it, nothing starts.
    await until(
      async () => (await deliveriesOf(t, sub.id))[0]?.status !== 'sending',
      10_000,
      'in-flight attempt to finish',
    );
    const [held] = await deliveriesOf(t, sub.id);
    const seen = rx.received.length;
    // A worker that still runs the job (another process, or before the pause) holds it without sending.
    expect(await processDelivery(deliveryDeps(), held.id)).toEqual({ outcome: 'held', retryAt: expect.any(Number) });
    expect(rx.received).toHaveLength(seen);
    expect((await deliveriesOf(t, sub.id))[0]).toMatchObject({ status: held.status, attempts: held.attempts });
    expect(await t.gw.queues.get(DELIVERIES_QUEUE).isPaused()).toBe(true);

    answer = { status: 200 };
    const resume = await api(t, 'post', '/v1/notifications/resume', 'ops');
    expect(resume.data).toMatchObject({ stopped: false, queue_paused: false });
    await until(
      async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered',
      10_000,
      'delivered after resume',
    );
    expect(new Set(rx.received.map((r) => r.id))).toEqual(new Set([held.id]));
  });
});

describe('a worker restart', () => {
  test('when the workers are closed and restarted while a webhook is on the wire, then that webhook-id is delivered once', async () => {
    let release!: (r: Reply) => void;
    const hold = new Promise<Reply>((resolve) => {
      release = resolve;
    });
    const rx = await receiver((_r, n) => (n === 1 ? hold : { status: 200 }));
    const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_RESTART' } });
    await openCases(t, [finding({ insurer_code: 'INS_RESTART' })]);
    const [inFlight] = await rx.waitFor(1);

    const closing = Promise.all(workers.map((w) => w.close()));
    workers = t.gw.startWorkers();
    // What a stalled job or a relay re-add would do: a second job for the same delivery, on the new workers.
    const queue = t.gw.queues.get(DELIVERIES_QUEUE);
    await queue.add('again', { delivery_id: inFlight!.id }, { jobId: `${inFlight!.id}-again` });
    await until(
      async () => (await queue.getJobState(`${inFlight!.id}-again`)) === 'delayed',
      10_000,
      'second job to find the lease',
    );
    expect((await deliveriesOf(t, sub.id))[0].status).toBe('sending');

    release({ status: 200 });
    await closing;
    expect(await jobFinished(t, DELIVERIES_QUEUE, `${inFlight!.id}-again`)).toBe('completed');
    expect((await queue.getJob(`${inFlight!.id}-again`))?.returnvalue).toBe('skipped');
    expect(rx.received.map((r) => r.id)).toEqual([inFlight!.id]);
    expect((await deliveriesOf(t, sub.id))[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});

describe('the subscribers file', () => {
  test('when the file lists subscribers, then they are upserted; a bad file names the entry and field', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-subs-'));
    const file = path.join(dir, 'subscribers.json');
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    fs.writeFileSync(
      file,
      JSON.stringify([
        {
          id: 'ops-dingtalk',
          url: 'https://oapi.dingtalk.com/robot/send?access_token=x',
          format: 'dingtalk',
          secret,
          filter: { severities: ['critical'] },
        },
      ]),
    );
    expect(await loadSubscribersFile(t.gw.db, file, new Date(t.gw.now()))).toBe(1);
    fs.writeFileSync(
      file,
      JSON.stringify([
        { id: 'ops-dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=y', format: 'dingtalk', secret },
      ]),
    );
    await loadSubscribersFile(t.gw.db, file, new Date(t.gw.now()));
    const s = await api(t, 'get', '/v1/subscribers/ops-dingtalk', 'ops');
    expect(s.data).toMatchObject({
      source: 'file',
      url: 'https://oapi.dingtalk.com/robot/send?access_token=y',
      filter: {},
      enabled: true,
    });
    fs.writeFileSync(file, JSON.stringify([{ id: 'sub_x', url: 'gopher://x', format: 'json', secret }]));
    await expect(loadSubscribersFile(t.gw.db, file, new Date())).rejects.toThrow(/\/0\/id .*\/0\/url/);
    await api(t, 'delete', '/v1/subscribers/ops-dingtalk', 'ops');
    fs.rmSync(dir, { recursive: true });
  });
});
