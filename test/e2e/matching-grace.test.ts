/**
 * References to records not yet known wait the grace period (spec §4: 2 days from receipt) before
 * they are flagged, and resolve themselves when the record arrives; a reversal after payment raises
 * REVERSED_SETTLEMENT_PAID. The gateway's clock and the sweep's as_of are the test's.
 */
import { RECHECK_QUEUE } from '../../src/queue/queue-names';
import { recheckJobId } from '../../src/matching/matching-service';
import { databaseIdentity } from '../../src/db/migrate';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { batchOf, paymentOf, record } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopOf, openCases, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  PICC = 'PICC_DH';
const DAY = 86_400_000;
const RECEIVED = Date.parse('2025-04-16T10:00:00+08:00');
let clock = RECEIVED;

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('matching-grace', { now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const late = record('GR-LATE', { fixmedins: H1, insurer: PICC, hifob: '9000.00', day: 12 });
const lateItem = record('GR-ITEM', { fixmedins: H1, insurer: PICC, hifob: '800.00', day: 13 });
const lineKey = `line:${PICC}:PAY-GR-1:1`;
const itemKey = (id: string) => `item:${H1}:${PICC}:2025-03:${id}`;
const codes = async () => (await openCases(t.gw.db)).map((c) => [c.code, c.subject_key]);

describe('a payment and a declaration naming settlements the agency has not recorded yet', () => {
  beforeAll(async () => {
    await postAccepted(t, {
      path: '/v1/insurer-payments',
      as: 'insurerA',
      body: paymentOf(PICC, 'PAY-GR-1', { type: 'institution', id: H1 }, '2025-04-15T10:00:00+08:00', [
        { setl_id: 'GR-LATE', paid: '9000.00' },
      ]),
    });
    await postAccepted(t, {
      path: '/v1/settlement-batches',
      as: 'hospital1',
      body: batchOf('B-GR-1', H1, PICC, [{ s: late }, { s: lateItem }]),
    });
    await t.drain();
  });

  test('when the messages are processed, nothing is flagged yet', async () => {
    expect(await codes()).toEqual([]);
  });

  test('a re-check is scheduled for when the grace period ends, carrying only the setl_id', async () => {
    const job = await t.gw.queues
      .get(RECHECK_QUEUE)
      .getJob(recheckJobId(await databaseIdentity(t.gw.db), { setl_id: 'GR-LATE', at: new Date(RECEIVED + 2 * DAY) }));
    expect(job?.data).toEqual({ setl_id: 'GR-LATE' });
    expect(await job?.getState()).toBe('delayed');
  });

  test('when swept one day after receipt, still within the grace period, nothing is flagged', async () => {
    await sweepRegionPeriod(t.gw, '5331', '2025-04', new Date(RECEIVED + DAY));
    await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(RECEIVED + DAY));
    expect(await codes()).toEqual([]);
  });

  test('when swept after the grace period, UNKNOWN_SETTLEMENT and DECLARED_NOT_RECORDED are open', async () => {
    await sweepRegionPeriod(t.gw, '5331', '2025-04', new Date(RECEIVED + 2 * DAY));
    await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(RECEIVED + 2 * DAY));
    expect(await codes()).toEqual([
      ['DECLARED_NOT_RECORDED', itemKey('GR-ITEM')],
      ['DECLARED_NOT_RECORDED', itemKey('GR-LATE')],
      ['UNKNOWN_SETTLEMENT', lineKey],
    ]);
    const unknown = (await openCases(t.gw.db)).find((c) => c.code === 'UNKNOWN_SETTLEMENT')!;
    expect(unknown).toMatchObject({ admdvs: '533102', setl_id: 'GR-LATE', actual_amount: '9000.00', severity: 'high' });
  });

  test('when the settlements arrive, both resolve themselves and the loop closes', async () => {
    clock = RECEIVED + 3 * DAY;
    await postAccepted(t, { path: '/v1/agency/settlements', as: 'agency', body: { settlements: [late, lateItem] } });
    await t.drain();
    expect(await codes()).toEqual([]);
    const { rows } = await t.gw.db.query<{ code: string; resolution: string }>(
      `SELECT code, resolution FROM discrepancies WHERE status = 'resolved' ORDER BY code`,
    );
    expect(rows).toEqual([
      { code: 'DECLARED_NOT_RECORDED', resolution: 'auto' },
      { code: 'DECLARED_NOT_RECORDED', resolution: 'auto' },
      { code: 'UNKNOWN_SETTLEMENT', resolution: 'auto' },
    ]);
    expect(await loopOf(t.gw.db, 'GR-LATE')).toMatchObject({
      status: 'closed',
      owed: '9000.00',
      paid: '9000.00',
      outstanding: '0.00',
    });
  });

  test('when a paid settlement is then reversed, REVERSED_SETTLEMENT_PAID is raised and the loop shows reversed', async () => {
    clock = RECEIVED + 4 * DAY;
    await postAccepted(t, {
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: [{ ...late, status: 'reversed' }] },
    });
    await t.drain();
    const open = await openCases(t.gw.db);
    // Still declared by the institution: a declared amount against the 0.00 a reversed settlement owes.
    expect(open.map((c) => [c.code, c.subject_key])).toEqual([
      ['DECLARED_AMOUNT_MISMATCH', itemKey('GR-LATE')],
      ['REVERSED_SETTLEMENT_PAID', 'setl:GR-LATE'],
    ]);
    expect(open[1]).toMatchObject({
      severity: 'critical',
      expected_amount: '0.00',
      actual_amount: '9000.00',
      difference: '9000.00',
    });
    expect(await loopOf(t.gw.db, 'GR-LATE')).toMatchObject({ status: 'reversed', owed: '0.00', paid: '9000.00' });
  });

  test('when the institution replaces its batch without the reversed settlement, the declaration case resolves itself', async () => {
    await postAccepted(t, {
      path: '/v1/settlement-batches',
      as: 'hospital1',
      body: batchOf('B-GR-2', H1, PICC, [{ s: lateItem }], 'B-GR-1'),
    });
    await t.drain();
    expect(await codes()).toEqual([['REVERSED_SETTLEMENT_PAID', 'setl:GR-LATE']]);
  });

  test('when the insurer recovers the payment of the reversed settlement, the case resolves itself', async () => {
    clock = RECEIVED + 5 * DAY;
    await postAccepted(t, {
      path: '/v1/recoveries',
      as: 'insurerA',
      body: {
        insurer_code: PICC,
        recovery_id: 'REC-GR',
        setl_id: 'GR-LATE',
        amount: '9000.00',
        reason_code: 'R04',
        recovered_at: '2025-04-21T10:00:00+08:00',
      },
    });
    await t.drain();
    expect(await codes()).toEqual([]);
    expect(await loopOf(t.gw.db, 'GR-LATE')).toMatchObject({ status: 'reversed', recovered: '9000.00' });
  });
});
