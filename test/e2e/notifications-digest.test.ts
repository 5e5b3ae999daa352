/**
 * The digest of a run: one message per subscriber stating the window, counts by code and severity
 * and the ids of the non-critical cases opened in it, never one message per case.
 */
import { Webhook } from 'standardwebhooks';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { NOTIFICATIONS_QUEUE, enqueueDigest, fanOutDigest } from '../../src/notifications';
import { cstInstant } from '../../src/time';
import type { FindingCode } from '../../src/matching';
import {
  ALLOW_RECEIVERS_ENV,
  deliveriesOf,
  finding,
  jobFinished,
  openCases,
  startReceiver,
  subscribe,
  until,
  type Receiver,
} from './notifications-support';

let t: TestGateway;
const receivers: Receiver[] = [];
beforeAll(async () => {
  t = await startTestGateway('notifications_digest', {
    env: { ...ALLOW_RECEIVERS_ENV, GATEWAY_DELIVERY_SCHEDULE_MS: '0,50,50' },
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

const winStart = cstInstant('2025-04-01', 2, 30);
const winEnd = cstInstant('2025-04-02', 2, 30);
const inside = cstInstant('2025-04-01', 10);
const before = cstInstant('2025-03-31', 10);

let allIds: string[] = [];
let criticalId = '';
let outsideId = '';
beforeAll(async () => {
  const medium = (code: FindingCode, insurer_code = 'INS_DIG') =>
    finding({ code, severity: 'medium', insurer_code, admdvs: '533102', period: '2025-03' });
  const opened = await openCases(
    t,
    [
      medium('RECORDED_NOT_DECLARED'),
      medium('RECORDED_NOT_DECLARED'),
      medium('DECLARATION_MISSING'),
      finding({ code: 'PAYMENT_OVERDUE', severity: 'high', insurer_code: 'INS_DIG' }),
      medium('RECORDED_NOT_DECLARED', 'INS_OTHER'),
    ],
    inside,
  );
  allIds = opened;
  criticalId = (await openCases(t, [finding({ insurer_code: 'INS_DIG' })], inside))[0]!;
  outsideId = (await openCases(t, [medium('DECLARATION_MISSING')], before))[0]!;
  await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${criticalId}`);
});

test('when a run ends, then each subscriber gets one digest with the window, counts by code and severity, and the case ids', async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_DIG' } });
  await enqueueDigest(t.gw, {
    run_id: 'run-0001',
    admdvs: '5331',
    period: '2025-03',
    window_start: winStart,
    window_end: winEnd,
  });
  const [got] = await rx.waitFor(1);
  const payload = new Webhook(sub.secret).verify(got!.body, got!.headers as Record<string, string>) as any;
  expect(payload.type).toBe('discrepancy.digest');
  expect(payload.data).toEqual({
    run_id: 'run-0001',
    admdvs: '5331',
    period: '2025-03',
    window: { start: '2025-04-01T02:30:00+08:00', end: '2025-04-02T02:30:00+08:00' },
    total: 4,
    counts_by_code: { DECLARATION_MISSING: 1, PAYMENT_OVERDUE: 1, RECORDED_NOT_DECLARED: 2 },
    counts_by_severity: { high: 1, medium: 3 },
    discrepancy_ids: [...allIds.slice(0, 4)].sort(),
    truncated: false,
  });
  // Critical cases went out at once; cases outside the window belong to another digest.
  expect(payload.data.discrepancy_ids).not.toContain(criticalId);
  expect(payload.data.discrepancy_ids).not.toContain(outsideId);
  expect(await deliveriesOf(t, sub.id)).toHaveLength(1);
});

test('when the same run asks for its digest twice, then the subscriber still gets one digest', async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_OTHER' } });
  await enqueueDigest(t.gw, { run_id: 'run-twice', window_start: winStart, window_end: winEnd });
  await rx.waitFor(1);
  // Asked again (the run's transaction retried): the job id is the same, so BullMQ keeps one job…
  await t.gw.db.tx((q) => enqueueDigest(q, { run_id: 'run-twice', window_start: winStart, window_end: winEnd }));
  t.gw.relay.kick();
  await until(
    async () => (await t.gw.db.query(`SELECT 1 FROM outbox WHERE relayed_at IS NULL`)).rowCount === 0,
    10_000,
    'outbox relayed',
  );
  // …and a fan-out that runs again anyway (job removed and re-added) finds the delivery already made.
  const again = await fanOutDigest(
    { db: t.gw.db, log: t.gw.log, now: t.gw.now, relay: t.gw.relay },
    {
      kind: 'digest',
      key: 'run-twice',
      run_id: 'run-twice',
      window_start: winStart.toISOString(),
      window_end: winEnd.toISOString(),
    },
  );
  expect(again).toBe(0);
  expect(await jobFinished(t, NOTIFICATIONS_QUEUE, 'digest-run-twice')).toBe('completed');
  await until(async () => (await deliveriesOf(t, sub.id)).every((d) => d.status === 'delivered'), 10_000, 'delivered');
  expect(await deliveriesOf(t, sub.id)).toHaveLength(1);
  expect(rx.received).toHaveLength(1);
  expect(rx.received[0]!.json.data).toMatchObject({ total: 1, counts_by_code: { RECORDED_NOT_DECLARED: 1 } });
});

test('when the digest goes to DingTalk, then the markdown states the window, the counts by code and the ids', async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  await subscribe(t, {
    url: rx.url,
    format: 'dingtalk',
    filter: { insurer_code: 'INS_DIG', codes: ['RECORDED_NOT_DECLARED'] },
  });
  await enqueueDigest(t.gw, { run_id: 'run-ding', window_start: winStart, window_end: winEnd });
  const msg = (await rx.waitFor(1))[0]!.json;
  expect(msg.msgtype).toBe('markdown');
  expect(msg.markdown.title).toBe('差异汇总：新增 2 条');
  expect(msg.markdown.text).toContain('时间窗口：2025-04-01T02:30:00+08:00 至 2025-04-02T02:30:00+08:00');
  expect(msg.markdown.text).toContain('- RECORDED_NOT_DECLARED：2 条');
  expect(msg.markdown.text).not.toContain('DECLARATION_MISSING');
  for (const id of allIds.slice(0, 2)) expect(msg.markdown.text).toContain(id);
});

test("when no case in the window passes a subscriber's filter, then it gets no (empty) digest", async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  const sub = await subscribe(t, { url: rx.url, format: 'json', filter: { insurer_code: 'INS_NONE' } });
  await enqueueDigest(t.gw, { run_id: 'run-empty', window_start: winStart, window_end: winEnd });
  expect(await jobFinished(t, NOTIFICATIONS_QUEUE, 'digest-run-empty')).toBe('completed');
  expect(await deliveriesOf(t, sub.id)).toEqual([]);
});

test('when the window is empty or reversed, then enqueueDigest refuses it', async () => {
  await expect(enqueueDigest(t.gw, { window_start: winEnd, window_end: winStart })).rejects.toThrow(RangeError);
});
