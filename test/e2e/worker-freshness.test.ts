/**
 * What several worker processes may leave to one another (issue 15): an evaluation driven by
 * messages skips a settlement (a person-year) that another evaluation has already read the facts of
 * after the messages' facts were committed — and only then. `factsAfter` is the database's clock
 * read after the messages were claimed (matching-service.ts applyMessages, benefits/audit.ts
 * auditMessages); here it is read by hand around the evaluations.
 */
import { databaseClock } from '../../src/db/advisory-locks';
import { reevaluate } from '../../src/matching/matching-service';
import { auditPersonYears } from '../../src/benefits/audit';
import { paymentOf, record } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { dehong } from './benefits-support';
import { loopOf, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  PICC = 'PICC_DH';
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway('worker-freshness', { workers: false });
});
afterAll(async () => {
  await t.close();
});

const evaluatedAt = async (setlId: string) =>
  (
    await t.gw.db.query<{ at: Date }>('SELECT evaluated_at AS at FROM settlement_loops WHERE setl_id = $1', [setlId])
  ).rows[0]!.at.getTime();

describe('settlements evaluated by another worker after the messages were committed', () => {
  test('when another evaluation read the facts after the messages, then the settlement is left as it is; a fact committed after that evaluation is evaluated', async () => {
    await postAccepted(t, {
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: [record('FR-1', { fixmedins: H1, insurer: PICC, hifob: '1000.00' })] },
    });
    // The messages are claimed (factsAfter), then another worker evaluates the settlement.
    const factsAfter = await databaseClock(t.gw.db);
    const first = new Date('2025-04-01T02:00:00Z');
    await reevaluate(t.gw.db, ['FR-1'], first, t.gw);
    expect(await loopOf(t.gw.db, 'FR-1')).toMatchObject({ owed: '1000.00', paid: '0.00' });

    // Our evaluation finds it done after factsAfter: nothing to do (its evaluated_at stays the other's).
    await reevaluate(t.gw.db, ['FR-1'], new Date('2025-04-01T03:00:00Z'), t.gw, undefined, factsAfter);
    expect(await evaluatedAt('FR-1')).toBe(first.getTime());

    // A payment committed after that evaluation: claimed later, so evaluated.
    await postAccepted(t, {
      path: '/v1/insurer-payments',
      as: 'insurerA',
      body: paymentOf(PICC, 'PAY-FR-1', { type: 'institution', id: H1 }, '2025-04-02T10:00:00+08:00', [
        { setl_id: 'FR-1', paid: '1000.00' },
      ]),
    });
    const later = await databaseClock(t.gw.db);
    await reevaluate(t.gw.db, ['FR-1'], new Date('2025-04-03T03:00:00Z'), t.gw, undefined, later);
    expect(await loopOf(t.gw.db, 'FR-1')).toMatchObject({ status: 'closed', paid: '1000.00', outstanding: '0.00' });
  });
});

describe('person-years audited by another worker after the messages were committed', () => {
  const KEY = 'person:5331:P-FRB:2025';
  const one = (setl_id: string, day: string) =>
    dehong({
      setl_id,
      psn_no: 'P-FRB',
      setl_time: `2025-05-${day} 09:00:00`,
      bases: [{ amount: '1000.00' }],
      hifob_pay: '900.00',
    });

  test('when another audit read the records after the messages, then the person-year is left as it is; a record committed after it is audited', async () => {
    await postAccepted(t, {
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: [one('FRB-1', '01')] },
    });
    const factsAfter = await databaseClock(t.gw.db);
    expect(await auditPersonYears(t.gw, [KEY], new Date())).toMatchObject({ person_years: 1, settlements: 1 });
    expect(await auditPersonYears(t.gw, [KEY], new Date(), factsAfter)).toMatchObject({
      person_years: 0,
      up_to_date: 1,
    });

    await postAccepted(t, {
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: [one('FRB-2', '02')] },
    });
    const later = await databaseClock(t.gw.db);
    expect(await auditPersonYears(t.gw, [KEY], new Date(), later)).toMatchObject({
      person_years: 1,
      up_to_date: 0,
      settlements: 2,
    });
    const { rows } = await t.gw.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM settlement_benefits WHERE person_year = $1',
      [KEY],
    );
    expect(rows[0]!.n).toBe(2);
  });
});
