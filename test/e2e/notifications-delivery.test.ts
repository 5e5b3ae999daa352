/**
 * Critical discrepancies go out at once, signed the Standard Webhooks way (verified with the public
 * library), masked, in each subscriber's format; failures are retried on the (shortened) schedule,
 * 429 Retry-After is honoured and 410 disables the subscriber. Receivers are servers this test starts.
 */
import { Webhook } from 'standardwebhooks';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { NOTIFICATIONS_QUEUE } from '../../src/notifications';
import { certnoCheckChar } from '../../src/schemas/gb11643';
import {
  ALLOW_RECEIVERS_ENV,
  api,
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
const receiver = async (...a: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...a);
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  t = await startTestGateway('notifications_delivery', {
    env: { ...ALLOW_RECEIVERS_ENV, GATEWAY_DELIVERY_SCHEDULE_MS: '0,50,50,50,50', GATEWAY_DELIVERY_TIMEOUT_MS: '5000' },
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

/** A subscriber for one insurer only, so tests in this file do not see each other's cases. */
const only = (insurer_code: string, extra: Record<string, unknown> = {}) => ({ filter: { insurer_code }, ...extra });

test('when a critical case opens, then it is delivered at once with a signature the standardwebhooks library verifies', async () => {
  const rx = await receiver();
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_SIG') });
  const [caseId] = await openCases(t, [finding({ insurer_code: 'INS_SIG' })]);
  const [got] = await rx.waitFor(1);
  const payload = new Webhook(sub.secret).verify(got!.body, got!.headers as Record<string, string>) as any;
  expect(got!.headers['content-type']).toBe('application/json');
  expect(got!.id).toMatch(/^msg_[0-9a-f-]{36}$/);
  expect(payload).toMatchObject({
    type: 'discrepancy.critical',
    data: { id: caseId, code: 'OVERPAID', severity: 'critical', insurer_code: 'INS_SIG', difference: '500.00' },
  });
  expect(() =>
    new Webhook(`whsec_${Buffer.from('not the secret at all, no').toString('base64')}`).verify(
      got!.body,
      got!.headers as Record<string, string>,
    ),
  ).toThrow();
  await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered', 10_000, 'delivered status');
  const [d] = await deliveriesOf(t, sub.id);
  expect(d).toMatchObject({
    id: got!.id,
    status: 'delivered',
    attempts: 1,
    last_status: 200,
    event_type: 'discrepancy.critical',
  });
});

test('when a case is not critical, then nothing is sent at once (it waits for the digest)', async () => {
  const rx = await receiver();
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_MED') });
  await openCases(t, [finding({ insurer_code: 'INS_MED', code: 'RECORDED_NOT_DECLARED', severity: 'medium' })]);
  const { rows } = await t.gw.db.query(
    `SELECT count(*)::int AS n FROM outbox WHERE queue = 'notifications' AND payload->>'discrepancy_id' IN (SELECT id::text FROM discrepancies WHERE insurer_code = 'INS_MED')`,
  );
  expect(rows[0]).toEqual({ n: 0 });
  expect(await deliveriesOf(t, sub.id)).toEqual([]);
});

test('when evidence carries certno, psn_name and psn_no, then every format masks the first two and drops psn_no', async () => {
  const rxJson = await receiver(),
    rxDing = await receiver(),
    rxWecom = await receiver();
  for (const [rx, format] of [
    [rxJson, 'json'],
    [rxDing, 'dingtalk'],
    [rxWecom, 'wecom'],
  ] as const)
    await subscribe(t, { url: rx.url, format, ...only('INS_PII') });
  const certno = `41010219900307123${certnoCheckChar('41010219900307123')}`;
  await openCases(t, [
    finding({
      insurer_code: 'INS_PII',
      detail: `参保人 ${certno} 多付`,
      subject_key: 'person:533102:PSN000123:2025',
      evidence: { certno, psn_name: '张三丰', psn_no: 'PSN000123', nested: [{ certno, psn_name: '李四' }] },
    }),
  ]);
  const all = [...(await rxJson.waitFor(1)), ...(await rxDing.waitFor(1)), ...(await rxWecom.waitFor(1))];
  for (const r of all) {
    expect(r.body).not.toContain(certno);
    expect(r.body).not.toContain('张三丰');
    expect(r.body).not.toContain('李四');
    expect(r.body).not.toContain('PSN000123');
    expect(r.body).not.toContain('psn_no');
  }
  const data = rxJson.received[0]!.json.data;
  const masked = `4101**********${certno.slice(-4)}`;
  expect(data.evidence).toEqual({ certno: masked, psn_name: '张**', nested: [{ certno: masked, psn_name: '李*' }] });
  expect(data.detail).toBe(`参保人 ${masked} 多付`);
  expect(data.subject_key).toBe('person:533102:***:2025');
});

test("when the format is dingtalk or wecom, then the body is that robot's Chinese markdown message", async () => {
  const rxDing = await receiver(),
    rxWecom = await receiver();
  await subscribe(t, { url: rxDing.url, format: 'dingtalk', ...only('INS_CHAT') });
  await subscribe(t, { url: rxWecom.url, format: 'wecom', ...only('INS_CHAT') });
  const [caseId] = await openCases(t, [finding({ insurer_code: 'INS_CHAT' })]);
  const ding = (await rxDing.waitFor(1))[0]!.json;
  const wecom = (await rxWecom.waitFor(1))[0]!.json;
  expect(ding).toEqual({
    msgtype: 'markdown',
    markdown: { title: '【严重差异】OVERPAID', text: expect.stringContaining(`差异编号：${caseId}`) },
  });
  expect(ding.markdown.text).toContain('保险公司：INS_CHAT');
  expect(wecom).toEqual({
    msgtype: 'markdown',
    markdown: { content: expect.stringContaining('### 【严重差异】OVERPAID') },
  });
  expect(wecom.markdown.content).toContain('差额：500.00');
  expect(rxDing.received[0]!.headers['webhook-signature']).toMatch(/^v1,/);
});

test('when the receiver answers 500 twice, then the same webhook-id is retried until it is delivered', async () => {
  const rx = await receiver((_r, n) => ({ status: n <= 2 ? 500 : 200 }));
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_500') });
  await openCases(t, [finding({ insurer_code: 'INS_500' })]);
  const got = await rx.waitFor(3);
  expect(new Set(got.map((r) => r.id)).size).toBe(1);
  for (const r of got)
    expect(() => new Webhook(sub.secret).verify(r.body, r.headers as Record<string, string>)).not.toThrow();
  await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered', 10_000, 'delivered status');
  const log = await api(t, 'get', `/v1/deliveries/${got[0]!.id}`, 'ops');
  expect(log.data).toMatchObject({ status: 'delivered', attempts: 3, last_status: 200 });
  expect(log.data.attempt_log.map((a: any) => a.status_code)).toEqual([500, 500, 200]);
});

test('when every attempt fails, then after the whole schedule the delivery is dead (and nothing more is sent)', async () => {
  const rx = await receiver(() => ({ status: 503 }));
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_DEAD') });
  await openCases(t, [finding({ insurer_code: 'INS_DEAD' })]);
  await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'dead', 15_000, 'dead status');
  const [d] = await deliveriesOf(t, sub.id);
  expect(d).toMatchObject({ attempts: 5, last_status: 503, last_error: 'HTTP 503' });
  expect(rx.received).toHaveLength(5);
});

test('when the receiver answers 410 Gone, then the subscriber is disabled and gets no further webhooks', async () => {
  const rx = await receiver(() => ({ status: 410 }));
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_410') });
  await openCases(t, [finding({ insurer_code: 'INS_410' })]);
  await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'dead', 10_000, 'dead status');
  const s = await api(t, 'get', `/v1/subscribers/${sub.id}`, 'ops');
  expect(s.data).toMatchObject({ enabled: false, disabled_reason: 'receiver answered 410 Gone' });
  const [second] = await openCases(t, [finding({ insurer_code: 'INS_410' })]);
  expect(await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${second}`)).toBe('completed');
  expect(await deliveriesOf(t, sub.id)).toHaveLength(1);
  expect(rx.received).toHaveLength(1);
});

test('when the receiver answers 429 with Retry-After: 1, then the next attempt comes no sooner than a second later', async () => {
  const rx = await receiver((_r, n) => (n === 1 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 }));
  const sub = await subscribe(t, { url: rx.url, format: 'json', ...only('INS_429') });
  await openCases(t, [finding({ insurer_code: 'INS_429' })]);
  const [first, second] = await rx.waitFor(2);
  // The schedule alone would retry after 50 ms; Retry-After asks for 1 s.
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
  expect(second!.id).toBe(first!.id);
  await until(async () => (await deliveriesOf(t, sub.id))[0]?.status === 'delivered', 10_000, 'delivered status');
  const { rows } = await t.gw.db.query(
    `SELECT status_code, error FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_no`,
    [first!.id],
  );
  expect(rows).toEqual([
    { status_code: 429, error: 'HTTP 429 (Retry-After: 1)' },
    { status_code: 200, error: null },
  ]);
});

test("when an insurer subscribes, then it receives its own insurer's critical cases and no other insurer's", async () => {
  const rx = await receiver();
  const created = await api(t, 'post', '/v1/subscribers', 'insurerA', { url: rx.url, format: 'json' });
  expect(created.status).toBe(201);
  expect(created.data.filter).toEqual({ insurer_code: 'PICC_DH' });
  const [mine, theirs] = await openCases(t, [
    finding({ insurer_code: 'PICC_DH' }),
    finding({ insurer_code: 'CPIC_DH' }),
  ]);
  await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${theirs}`);
  await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${mine}`);
  const got = await rx.waitFor(1);
  await until(
    async () => (await deliveriesOf(t, created.data.id)).every((d) => d.status === 'delivered'),
    10_000,
    'delivered',
  );
  expect(got.map((r) => r.json.data.id)).toEqual([mine]);
  expect(await deliveriesOf(t, created.data.id)).toHaveLength(1);
});

test('when a subscriber filters by code, then cases with other codes are not sent to it', async () => {
  const rx = await receiver();
  const sub = await subscribe(t, {
    url: rx.url,
    format: 'json',
    filter: { insurer_code: 'INS_CODE', codes: ['DUPLICATE_PAYMENT'] },
  });
  const [other, wanted] = await openCases(t, [
    finding({ insurer_code: 'INS_CODE' }),
    finding({ insurer_code: 'INS_CODE', code: 'DUPLICATE_PAYMENT' }),
  ]);
  await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${other}`);
  const got = await rx.waitFor(1);
  expect(got.map((r) => r.json.data.id)).toEqual([wanted]);
  expect(await deliveriesOf(t, sub.id)).toHaveLength(1);
});
