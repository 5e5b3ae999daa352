/**
 * Over-sharing in notifications (issue 13): a delivery shows its subscriber only what a read by the
 * subscriber's owner would show. An insurer's callback gets the case with its own rows of the
 * evidence and the person-year key pseudonymised as on reads; an ops channel gets the whole evidence.
 */
import { Webhook } from 'standardwebhooks';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import { testClientRegistry, type TestClientName } from '../../support/test-clients';
import {
  NOTIFICATIONS_QUEUE,
  enqueueDigest,
  mayRead,
  queueCriticalNotifications,
  subscriberReader,
} from '../../../src/notifications';
import { cstInstant } from '../../../src/time';
import { auditDone, record } from '../benefits-support';
import {
  ALLOW_RECEIVERS_ENV,
  api,
  finding,
  jobFinished,
  openCases,
  startReceiver,
  subscribe,
  type Receiver,
} from '../notifications-support';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH',
  CPIC = 'CPIC_DH';

let t: TestGateway;
const receivers: Receiver[] = [];
const receiver = async () => {
  const rx = await startReceiver();
  receivers.push(rx);
  return rx;
};
let firstFeed: string, secondFeed: string;

beforeAll(async () => {
  t = await startTestGateway('security-notification-scope', {
    env: { ...ALLOW_RECEIVERS_ENV, GATEWAY_DELIVERY_SCHEDULE_MS: '0,50,50' },
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

async function feed(s: unknown[]): Promise<string> {
  const r = await t.post('/v1/agency/settlements', { settlements: s }, 'agency');
  if (r.status !== 202) throw new Error(`feed refused: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data.message_id as string;
}

/** Subscribe `as` (an insurer: its own callback, the filter forced to its insurer; ops: everything). */
async function subscriber(as: TestClientName, filter: Record<string, unknown> = {}) {
  const rx = await receiver();
  const sub = await subscribe(t, { url: rx.url, format: 'json', filter }, as);
  return { rx, sub };
}

const payloadOf = (secret: string, got: { body: string; headers: Record<string, unknown> }) =>
  new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as any;

describe('a person-year case delivered at once', () => {
  let capId = '';
  let a: Awaited<ReturnType<typeof subscriber>>,
    b: Awaited<ReturnType<typeof subscriber>>,
    ops: Awaited<ReturnType<typeof subscriber>>;
  let wecomA: Awaited<ReturnType<typeof subscriber>>;

  beforeAll(async () => {
    a = await subscriber('insurerA', { codes: ['ANNUAL_CAP_EXCEEDED'] });
    b = await subscriber('insurerB', { codes: ['ANNUAL_CAP_EXCEEDED'] });
    ops = await subscriber('ops', { codes: ['ANNUAL_CAP_EXCEEDED'] });
    const rx = await receiver();
    wecomA = {
      rx,
      sub: await subscribe(t, { url: rx.url, format: 'wecom', filter: { codes: ['ANNUAL_CAP_EXCEEDED'] } }, 'insurerA'),
    };
    // One Ulanqab person (payout cap 120,000 a year) owed by two insurers: 80,000 at hospital 2 (CPIC),
    // then 55,000 at hospital 1 (PICC), which passes the cap — the case is filed under PICC.
    firstFeed = await feed([
      record('150902', CPIC, H2, {
        setl_id: 'NCAP-1',
        psn_no: 'P-NCAP-1',
        setl_time: '2025-03-05 09:00:00',
        bases: [{ amount: '100000.00', seg: 'above_cap' }],
        hifob_pay: '80000.00',
      }),
    ]);
    secondFeed = await feed([
      record('150902', PICC, H1, {
        setl_id: 'NCAP-2',
        psn_no: 'P-NCAP-1',
        setl_time: '2025-06-05 09:00:00',
        bases: [
          { amount: '30000.00', seg: 'band_selfpay' },
          { amount: '50000.00', seg: 'above_cap' },
        ],
        hifob_pay: '55000.00',
      }),
    ]);
    await auditDone(t);
    const { rows } = await t.gw.db.query<{ id: string; insurer_code: string }>(
      `SELECT id, insurer_code FROM discrepancies WHERE code = 'ANNUAL_CAP_EXCEEDED'`,
    );
    expect(rows).toEqual([{ id: expect.any(String), insurer_code: PICC }]);
    capId = rows[0]!.id;
    // The spec's severity of the code is high (digest only); an ops escalation to critical sends it at once,
    // through the same hook the case store uses.
    await t.gw.db.tx(async (q) => {
      await q.query(`UPDATE discrepancies SET severity = 'critical' WHERE id = $1`, [capId]);
      await queueCriticalNotifications(q, [capId]);
    });
    t.gw.relay.kick();
    await jobFinished(t, NOTIFICATIONS_QUEUE, `notify-${capId}`);
  });

  test("when insurer A's callback gets it, then it carries only A's settlement, no psn_no, and the subject key a read by A shows", async () => {
    const [got] = await a.rx.waitFor(1);
    const payload = payloadOf(a.sub.secret, got!);
    expect(payload.type).toBe('discrepancy.critical');
    expect(payload.data.id).toBe(capId);
    expect(payload.data.evidence.settlements).toEqual([{ setl_id: 'NCAP-2', hifob_pay: '55000.00' }]);
    expect(payload.data.evidence.message_ids).toEqual([secondFeed]);
    expect(payload.data.evidence.rows_withheld).toBe(1);
    expect(got!.body).not.toContain('NCAP-1"');
    expect(got!.body).not.toContain('80000.00');
    expect(got!.body).not.toContain(firstFeed);
    expect(got!.body).not.toContain(CPIC);
    expect(got!.body).not.toContain(H2);
    expect(got!.body).not.toContain('P-NCAP-1');
    const read = await api(t, 'get', `/v1/discrepancies/${capId}`, 'insurerA');
    expect(read.status).toBe(200);
    expect(payload.data.subject_key).toBe(read.data.subject_key);
    expect(payload.data.subject_key).toMatch(/^person:1509:psn-[0-9a-f]{16}:2025$/);
    expect(payload.data.evidence).toEqual(read.data.evidence);
  });

  test("when insurer A's robot format renders it, then the text names no other party's settlement either", async () => {
    const [got] = await wecomA.rx.waitFor(1);
    expect(got!.body).not.toContain('NCAP-1');
    expect(got!.body).not.toContain('80000.00');
    expect(got!.body).not.toContain('P-NCAP-1');
  });

  test('when the ops channel gets it, then it carries the whole evidence, still without the psn_no', async () => {
    const [got] = await ops.rx.waitFor(1);
    const payload = payloadOf(ops.sub.secret, got!);
    expect(payload.data.evidence.settlements.map((s: { setl_id: string }) => s.setl_id)).toEqual(['NCAP-1', 'NCAP-2']);
    expect(payload.data.evidence.message_ids).toEqual([firstFeed, secondFeed].sort());
    expect(payload.data.evidence).not.toHaveProperty('rows_withheld');
    expect(payload.data.subject_key).toBe('person:1509:***:2025');
    expect(got!.body).not.toContain('P-NCAP-1');
  });

  test("when the case is filed under insurer A, then insurer B's callback gets nothing, as B cannot read the case", async () => {
    expect((await api(t, 'get', `/v1/discrepancies/${capId}`, 'insurerB')).status).toBe(404);
    const { rows } = await t.gw.db.query('SELECT id FROM deliveries WHERE subscriber_id = $1', [b.sub.id]);
    expect(rows).toHaveLength(0);
  });
});

describe('a matching case delivered at once', () => {
  test("when its evidence names another insurer's and institution's settlement, then insurer A's callback gets only its own rows and a count of the rest", async () => {
    const a = await subscriber('insurerA', { codes: ['DUPLICATE_REIMBURSEMENT'] });
    const ops = await subscriber('ops', { codes: ['DUPLICATE_REIMBURSEMENT'] });
    const row = (
      setl_id: string,
      insurer_code: string,
      fixmedins_code: string,
      message_id: string,
      hifob_pay: string,
    ) => ({
      setl_id,
      message_id,
      mdtrt_id: `M-${setl_id}`,
      setl_mode: 'direct',
      status: 'valid',
      insurer_code,
      fixmedins_code,
      medfee_sumamt: '90000.00',
      hifob_pay,
    });
    const own = row('DUP-OWN', PICC, H1, 'msg_own', '30000.00');
    const other = row('DUP-OTHER', CPIC, H2, 'msg_other', '31234.56');
    const [id] = await openCases(t, [
      finding({
        code: 'DUPLICATE_REIMBURSEMENT',
        severity: 'critical',
        insurer_code: PICC,
        fixmedins_code: H1,
        setl_id: 'DUP-OWN',
        subject_key: 'setl:DUP-OWN',
        evidence: { message_ids: ['msg_other', 'msg_own'], settlements: [own, other] } as never,
      }),
    ]);
    const payload = payloadOf(a.sub.secret, (await a.rx.waitFor(1))[0]!);
    expect(payload.data.id).toBe(id);
    expect(payload.data.evidence).toEqual({ message_ids: ['msg_own'], settlements: [own], rows_withheld: 1 });
    const whole = payloadOf(ops.sub.secret, (await ops.rx.waitFor(1))[0]!);
    expect(whole.data.evidence).toEqual({ message_ids: ['msg_other', 'msg_own'], settlements: [own, other] });
  });
});

describe('a digest', () => {
  test("when a run ends, then an insurer's digest lists and counts only the cases it may read, and the ops digest all of them", async () => {
    const a = await subscriber('insurerA', { severities: ['medium'] });
    const b = await subscriber('insurerB', { severities: ['medium'] });
    const ops = await subscriber('ops', { severities: ['medium'] });
    const medium = (insurer_code: string) =>
      finding({ code: 'RECORDED_NOT_DECLARED', severity: 'medium', insurer_code, admdvs: '533102', period: '2025-03' });
    const inside = cstInstant('2025-04-01', 10);
    const [a1, a2, b1] = await openCases(t, [medium(PICC), medium(PICC), medium(CPIC)], inside);
    await enqueueDigest(t.gw, {
      run_id: 'scope-run-1',
      window_start: cstInstant('2025-04-01', 2, 30),
      window_end: cstInstant('2025-04-02', 2, 30),
    });
    const digestOf = async (s: typeof a) => payloadOf(s.sub.secret, (await s.rx.waitFor(1))[0]!).data;
    expect(await digestOf(a)).toMatchObject({
      total: 2,
      discrepancy_ids: [a1, a2].sort(),
      counts_by_code: { RECORDED_NOT_DECLARED: 2 },
    });
    expect(await digestOf(b)).toMatchObject({ total: 1, discrepancy_ids: [b1] });
    expect(await digestOf(ops)).toMatchObject({ total: 3, discrepancy_ids: [a1, a2, b1].sort() });
  });
});

describe('whose eyes a subscriber has', () => {
  const registry = testClientRegistry();
  const owned = (owner: string, insurer_code?: string) => ({
    owner_client_id: owner,
    filter: insurer_code ? { insurer_code } : {},
  });
  const caseOf = (insurer_code: string) => ({ code: 'UNDERPAID', insurer_code, fixmedins_code: H1, admdvs: '533102' });

  test('when ops or the subscribers file made it, then it reads every case whole', () => {
    expect(subscriberReader({ owner_client_id: null, filter: { insurer_code: PICC } }, registry)).toBeUndefined();
    expect(mayRead(undefined, caseOf(CPIC))).toBe(true);
  });

  test('when an insurer made it, then it reads as that insurer, narrowed to the insurer its filter names', () => {
    const reader = subscriberReader(owned('picc-dh', PICC), registry)!;
    expect(reader).toMatchObject({ client_id: 'picc-dh', role: 'insurer', scope: [PICC] });
    expect(mayRead(reader, caseOf(PICC))).toBe(true);
    expect(mayRead(reader, caseOf(CPIC))).toBe(false);
  });

  test("when its owner is gone from the clients file, or lost the filter's insurer, then it may read nothing", () => {
    expect(mayRead(subscriberReader(owned('gone-insurer', PICC), registry), caseOf(PICC))).toBe(false);
    expect(mayRead(subscriberReader(owned('cpic-dh', PICC), registry), caseOf(PICC))).toBe(false);
    expect(mayRead(subscriberReader(owned('h1', H1), registry), caseOf(PICC))).toBe(false);
  });

  test("when no clients registry is at hand, then the filter's insurer alone is its scope", () => {
    expect(subscriberReader(owned('picc-dh', PICC))).toMatchObject({ role: 'insurer', scope: [PICC] });
    expect(subscriberReader(owned('picc-dh'))).toMatchObject({ role: 'insurer', scope: [] });
  });
});
