/**
 * The incremental sweep (src/matching/sweep.ts) selects exactly what can have changed since the
 * settlements were last evaluated: a warm month that nothing touched selects none; a fact that
 * arrives after an evaluation selects the settlements it concerns until matching has applied it; a
 * passed check point or an as_of before the evaluations selects the settlement again. Messages are
 * applied one by one with the real handlers (no workers), so the test decides what is applied when.
 */
import { selectSettlements, sweepRegionPeriod } from '../../src/matching/sweep';
import { processMessage } from '../../src/queue/ingest-worker';
import { batchOf, paymentOf, record } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopOf, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH';
const DAY = 86_400_000;
let clock = Date.parse('2025-04-16T10:00:00+08:00');

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('sweep-selection', { workers: false, now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const a = record('SW-A', { fixmedins: H1, insurer: PICC, hifob: '1000.00' });
const b = record('SW-B', { fixmedins: H1, insurer: PICC, hifob: '2000.00' });
const c = record('SW-C', { fixmedins: H1, insurer: PICC, hifob: '3000.00' });
const d = record('SW-D', { fixmedins: H2, insurer: PICC, hifob: '4000.00' });
const selected = async (asOf = clock) => (await selectSettlements(t.gw.db, '5331', '2025-03', new Date(asOf))).sort();
const apply = (id: string) => processMessage(t.gw.db, t.gw.handlers, id, t.gw.log);
const post = (path: string, as: Parameters<typeof postAccepted>[1]['as'], body: unknown) =>
  postAccepted(t, { path, as, body });

describe('a month matched as it arrived', () => {
  beforeAll(async () => {
    await apply(await post('/v1/agency/settlements', 'agency', { settlements: [a, b, c, d] }));
    await apply(
      await post('/v1/settlement-batches', 'hospital1', batchOf('B-SW-1', H1, PICC, [{ s: a }, { s: b }, { s: c }])),
    );
    await apply(await post('/v1/settlement-batches', 'hospital2', batchOf('B-SW-2', H2, PICC, [{ s: d }])));
    // SW-A half paid (its loop stays owed until the due date), the others in full.
    await apply(
      await post(
        '/v1/insurer-payments',
        'insurerA',
        paymentOf(PICC, 'PAY-SW-1', { type: 'institution', id: H1 }, '2025-04-15T10:00:00+08:00', [
          { setl_id: 'SW-A', paid: '500.00' },
          { setl_id: 'SW-B', paid: '2000.00' },
          { setl_id: 'SW-C', paid: '3000.00' },
        ]),
      ),
    );
    await apply(
      await post(
        '/v1/insurer-payments',
        'insurerA',
        paymentOf(PICC, 'PAY-SW-2', { type: 'institution', id: H2 }, '2025-04-15T10:00:00+08:00', [
          { setl_id: 'SW-D', paid: '4000.00' },
        ]),
      ),
    );
  });

  test('when nothing arrived since the evaluations, the sweep selects no settlement and re-evaluates nothing', async () => {
    expect(await loopOf(t.gw.db, 'SW-A')).toMatchObject({ status: 'owed', paid: '500.00' });
    expect(await selected()).toEqual([]);
    expect(await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(clock))).toEqual({
      settlements: 0,
      declarations: 0,
    });
  });

  test('when a payment arrives after the evaluation, the next sweep re-evaluates its settlement until matching has applied it', async () => {
    clock += DAY;
    const id = await post(
      '/v1/insurer-payments',
      'insurerA',
      paymentOf(PICC, 'PAY-SW-3', { type: 'institution', id: H1 }, '2025-04-16T10:00:00+08:00', [
        { setl_id: 'SW-A', paid: '500.00' },
      ]),
    );
    expect(await selected()).toEqual(['SW-A']);
    expect(await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(clock))).toMatchObject({ settlements: 1 });
    expect(await loopOf(t.gw.db, 'SW-A')).toMatchObject({ status: 'closed', paid: '1000.00', outstanding: '0.00' });
    await apply(id);
    expect(await selected()).toEqual([]);
  });

  test('when a replacing batch arrives, every settlement of its institution-period is selected until it is applied', async () => {
    clock += DAY;
    const id = await post(
      '/v1/settlement-batches',
      'hospital1',
      batchOf('B-SW-1b', H1, PICC, [{ s: a }, { s: b }, { s: c }], 'B-SW-1'),
    );
    expect(await selected()).toEqual(['SW-A', 'SW-B', 'SW-C']);
    await apply(id);
    expect(await selected()).toEqual([]);
  });

  test('a message that failed for good still counts as not applied', async () => {
    clock += DAY;
    const id = await post('/v1/agency/settlements', 'agency', { settlements: [{ ...d, status: 'reversed' }] });
    await t.gw.db.query(`UPDATE messages SET status = 'failed' WHERE message_id = $1`, [id]);
    expect(await selected()).toEqual(['SW-D']);
    await apply(id);
    expect(await selected()).toEqual([]);
    expect(await loopOf(t.gw.db, 'SW-D')).toMatchObject({ status: 'reversed' });
  });

  test('a settlement recorded but never evaluated is selected', async () => {
    await t.gw.db.query(`DELETE FROM settlement_loops WHERE setl_id = 'SW-C'`);
    expect(await selected()).toEqual(['SW-C']);
    await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(clock));
    expect(await loopOf(t.gw.db, 'SW-C')).toMatchObject({ status: 'closed' });
    expect(await selected()).toEqual([]);
  });

  test('when as_of is before the last evaluations, or past a check point, the settlements concerned are selected', async () => {
    expect(await selected(Date.parse('2025-04-10T00:00:00+08:00'))).toEqual(['SW-A', 'SW-B', 'SW-C', 'SW-D']);
    // An owed loop's check point is its due date lapsing: push SW-B's into the past.
    await t.gw.db.query(`UPDATE settlement_loops SET next_check_at = $1 WHERE setl_id = 'SW-B'`, [
      new Date(clock - DAY),
    ]);
    expect(await selected()).toEqual(['SW-B']);
  });
});
