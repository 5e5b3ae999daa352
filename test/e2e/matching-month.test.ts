/**
 * One realistic month (Dehong, 2025-03) posted through the HTTP API and processed by the workers:
 * two institutions, both insurers, one payment covering many settlements, instalments, a rejection,
 * a recovery, a replaced batch, and one planted case of every loop code. After a sweep at a fixed
 * as_of, exactly the planted discrepancies are open and every loop total is right to the fen.
 */
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { batchOf, paymentOf, record } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopOf, openCases, postAccepted } from './matching-support';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH',
  CPIC = 'CPIC_DH';
const ON_TIME = '2025-04-15T10:00:00+08:00';
const AS_OF = new Date('2025-06-10T00:00:00+08:00');
const clock = Date.parse('2025-05-20T10:00:00+08:00');

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('matching-month', { now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const inst = (id: string) => ({ type: 'institution' as const, id });
const s = {
  M01: record('M01', { fixmedins: H1, insurer: PICC, hifob: '9000.00', day: 1 }),
  M02: record('M02', { fixmedins: H1, insurer: PICC, hifob: '8000.00', day: 2 }),
  M03: record('M03', { fixmedins: H1, insurer: PICC, hifob: '7000.00', day: 3 }),
  M04: record('M04', { fixmedins: H1, insurer: PICC, hifob: '6000.00', day: 4 }),
  M05: record('M05', { fixmedins: H1, insurer: PICC, hifob: '5000.00', day: 5 }),
  M06: record('M06', { fixmedins: H1, insurer: PICC, hifob: '4000.00', day: 6 }),
  M07: record('M07', { fixmedins: H1, insurer: PICC, hifob: '3000.00', day: 7 }),
  M08: record('M08', { fixmedins: H1, insurer: PICC, hifob: '2000.00', day: 8 }),
  M09: record('M09', { fixmedins: H2, insurer: CPIC, hifob: '5000.00', day: 9 }),
  M10: record('M10', { fixmedins: H2, insurer: CPIC, hifob: '4000.00', day: 10 }),
  M11: record('M11', { fixmedins: H2, insurer: CPIC, hifob: '3000.00', day: 11 }),
  M12: record('M12', { fixmedins: H2, insurer: PICC, hifob: '2500.00', day: 12 }),
  M13: record('M13', { fixmedins: H2, insurer: PICC, hifob: '2600.00', day: 13 }),
  M14: record('M14', {
    fixmedins: H1,
    insurer: PICC,
    hifob: '1000.00',
    day: 20,
    mode: 'manual',
    mdtrt: 'MD-TWICE',
    psn: 'P014',
  }),
  M15: record('M15', { fixmedins: H1, insurer: PICC, hifob: '1200.00', day: 19, mdtrt: 'MD-TWICE', psn: 'P014' }),
  M16: record('M16', { fixmedins: H1, insurer: PICC, hifob: '1600.00', day: 16, oth: '60000.00' }),
};
const ghost = record('M98', { fixmedins: H1, insurer: PICC, hifob: '980.00', day: 28 });

const payH1 = paymentOf(PICC, 'PAY-P-H1-0415', inst(H1), ON_TIME, [
  { setl_id: 'M01', paid: '9000.00' },
  { setl_id: 'M04', paid: '5000.00' },
  { setl_id: 'M05', paid: '6000.00' },
  { setl_id: 'M06', paid: '4000.00' },
  { setl_id: 'M07', paid: '1000.00' },
  { setl_id: 'M08', paid: '1500.00', rejected: '500.00', reason: 'R01' },
  { setl_id: 'M15', paid: '1200.00' },
  { setl_id: 'M16', paid: '1600.00' },
  { setl_id: 'M99', paid: '777.00' },
]);

const messages = [
  {
    path: '/v1/agency/settlements',
    as: 'agency' as const,
    body: { settlements: [s.M01, s.M02, s.M03, s.M04, s.M05, s.M06, s.M07, s.M08] },
  },
  {
    path: '/v1/agency/settlements',
    as: 'agency' as const,
    body: { settlements: [s.M09, s.M10, s.M11, s.M12, s.M13, s.M14, s.M15, s.M16] },
  },
  {
    path: '/v1/settlement-batches',
    as: 'hospital1' as const,
    body: batchOf(
      'B-H1-PICC',
      H1,
      PICC,
      [s.M01, s.M02, s.M03, s.M04, s.M05, s.M06, s.M07, s.M08, s.M15, s.M16, ghost].map((x) => ({ s: x })),
    ),
  },
  {
    path: '/v1/settlement-batches',
    as: 'hospital2' as const,
    body: batchOf('B-H2-PICC-1', H2, PICC, [{ s: s.M12 }, { s: s.M13 }]),
  },
  {
    path: '/v1/settlement-batches',
    as: 'hospital2' as const,
    body: batchOf('B-H2-PICC-2', H2, PICC, [{ s: s.M13, hifob: '2650.00' }], 'B-H2-PICC-1'),
  },
  { path: '/v1/insurer-payments', as: 'insurerA' as const, body: payH1 },
  {
    path: '/v1/insurer-payments',
    as: 'insurerA' as const,
    body: paymentOf(PICC, 'PAY-P-H1-0420', inst(H1), '2025-04-20T10:00:00+08:00', [
      { setl_id: 'M06', paid: '4000.00' },
      { setl_id: 'M07', paid: '2000.00' },
    ]),
  },
  {
    path: '/v1/insurer-payments',
    as: 'insurerA' as const,
    body: paymentOf(PICC, 'PAY-P-H1-0510', inst(H1), '2025-05-10T10:00:00+08:00', [
      { setl_id: 'M03', paid: '7000.00' },
    ]),
  },
  {
    path: '/v1/insurer-payments',
    as: 'insurerA' as const,
    body: paymentOf(PICC, 'PAY-P-P014', { type: 'person', id: 'P014' }, '2025-04-10T10:00:00+08:00', [
      { setl_id: 'M14', paid: '1000.00' },
    ]),
  },
  {
    path: '/v1/insurer-payments',
    as: 'insurerA' as const,
    body: paymentOf(PICC, 'PAY-P-H2-0415', inst(H2), ON_TIME, [
      { setl_id: 'M12', paid: '2500.00' },
      { setl_id: 'M13', paid: '2600.00' },
      { setl_id: 'M11', paid: '3000.00' },
    ]),
  },
  {
    path: '/v1/insurer-payments',
    as: 'insurerB' as const,
    body: paymentOf(CPIC, 'PAY-C-H2-0415', inst(H2), ON_TIME, [
      { setl_id: 'M09', paid: '5000.00' },
      { setl_id: 'M10', paid: '4000.00' },
      { setl_id: 'M11', paid: '3000.00' },
    ]),
  },
  {
    path: '/v1/insurer-payments',
    as: 'insurerB' as const,
    body: paymentOf(CPIC, 'PAY-C-H1-0415', inst(H1), ON_TIME, [{ setl_id: 'M10', paid: '4000.00' }]),
  },
  {
    path: '/v1/recoveries',
    as: 'insurerA' as const,
    body: {
      insurer_code: PICC,
      recovery_id: 'REC-M01',
      setl_id: 'M01',
      amount: '100.00',
      reason_code: 'R03',
      recovered_at: '2025-05-15T10:00:00+08:00',
    },
  },
  { path: '/v1/agency/settlements', as: 'agency' as const, body: { settlements: [{ ...s.M09, status: 'reversed' }] } },
];

const PLANTED: Array<[string, string]> = [
  ['DECLARATION_MISSING', `decl:${H2}:${CPIC}:2025-03`],
  ['DECLARED_AMOUNT_MISMATCH', `item:${H2}:${PICC}:2025-03:M13`],
  ['DECLARED_NOT_RECORDED', `item:${H1}:${PICC}:2025-03:M98`],
  ['DUPLICATE_PAYMENT', 'setl:M06'],
  ['DUPLICATE_REIMBURSEMENT', 'setl:M14'],
  ['INSURER_MISMATCH', `line:${PICC}:PAY-P-H2-0415:3`],
  ['OVERPAID', 'setl:M05'],
  ['OVER_REIMBURSEMENT', 'setl:M16'],
  ['PAID_LATE', 'setl:M03'],
  ['PAYEE_MISMATCH', `line:${CPIC}:PAY-C-H1-0415:1`],
  ['PAYMENT_OVERDUE', 'setl:M02'],
  ['PAYMENT_OVERDUE', 'setl:M04'],
  ['RECORDED_NOT_DECLARED', 'setl:M12'],
  ['REVERSED_SETTLEMENT_PAID', 'setl:M09'],
  ['UNDERPAID', 'setl:M04'],
  ['UNKNOWN_SETTLEMENT', `line:${PICC}:PAY-P-H1-0415:9`],
];

describe('a month posted through the API, then swept as of 2025-06-10', () => {
  beforeAll(async () => {
    for (const m of messages) await postAccepted(t, m);
    await t.drain(60_000);
    for (const p of ['2025-03', '2025-04']) await sweepRegionPeriod(t.gw, '5331', p, AS_OF);
  });

  test('exactly the planted discrepancies are open, one of every loop code', async () => {
    const open = await openCases(t.gw.db);
    expect(open.map((c) => [c.code, c.subject_key])).toEqual(PLANTED);
  });

  test('each planted discrepancy carries its expected, actual and difference amounts and default severity', async () => {
    const open = await openCases(t.gw.db);
    const find = (code: string, key: string) => open.find((c) => c.code === code && c.subject_key === key)!;
    expect(find('UNDERPAID', 'setl:M04')).toMatchObject({
      severity: 'high',
      expected_amount: '6000.00',
      actual_amount: '5000.00',
      difference: '-1000.00',
    });
    expect(find('OVERPAID', 'setl:M05')).toMatchObject({
      severity: 'critical',
      expected_amount: '5000.00',
      actual_amount: '6000.00',
      difference: '1000.00',
    });
    expect(find('DUPLICATE_PAYMENT', 'setl:M06')).toMatchObject({
      severity: 'critical',
      expected_amount: '4000.00',
      actual_amount: '8000.00',
      difference: '4000.00',
    });
    expect(find('REVERSED_SETTLEMENT_PAID', 'setl:M09')).toMatchObject({
      expected_amount: '0.00',
      actual_amount: '5000.00',
      difference: '5000.00',
    });
    expect(find('DECLARED_AMOUNT_MISMATCH', `item:${H2}:${PICC}:2025-03:M13`)).toMatchObject({
      severity: 'medium',
      expected_amount: '2600.00',
      actual_amount: '2650.00',
      difference: '50.00',
    });
    expect(find('RECORDED_NOT_DECLARED', 'setl:M12')).toMatchObject({
      expected_amount: '2500.00',
      actual_amount: '0.00',
      difference: '-2500.00',
    });
    expect(find('DUPLICATE_REIMBURSEMENT', 'setl:M14')).toMatchObject({
      expected_amount: '0.00',
      actual_amount: '1000.00',
    });
    expect(find('OVER_REIMBURSEMENT', 'setl:M16')).toMatchObject({
      expected_amount: '100000.00',
      actual_amount: '111600.00',
      difference: '11600.00',
    });
    expect(find('UNKNOWN_SETTLEMENT', `line:${PICC}:PAY-P-H1-0415:9`)).toMatchObject({
      admdvs: '533102',
      actual_amount: '777.00',
      setl_id: 'M99',
      period: '2025-04',
    });
    expect(find('PAYMENT_OVERDUE', 'setl:M02')).toMatchObject({
      expected_amount: '8000.00',
      actual_amount: '0.00',
      difference: '-8000.00',
    });
    expect(find('DECLARATION_MISSING', `decl:${H2}:${CPIC}:2025-03`)).toMatchObject({
      severity: 'medium',
      admdvs: '533102',
      fixmedins_code: H2,
    });
  });

  test('loop states and totals are exact to the fen', async () => {
    const loop = (id: string) => loopOf(t.gw.db, id);
    expect(await loop('M01')).toMatchObject({
      status: 'closed',
      owed: '9000.00',
      paid: '9000.00',
      rejected: '0.00',
      recovered: '100.00',
      outstanding: '0.00',
    });
    expect(await loop('M02')).toMatchObject({
      status: 'overdue',
      owed: '8000.00',
      paid: '0.00',
      outstanding: '8000.00',
      due_date: '2025-04-30',
    });
    expect(await loop('M03')).toMatchObject({ status: 'closed', paid: '7000.00', outstanding: '0.00' });
    expect(await loop('M04')).toMatchObject({ status: 'overdue', paid: '5000.00', outstanding: '1000.00' });
    expect(await loop('M06')).toMatchObject({ status: 'closed', paid: '8000.00', outstanding: '0.00' });
    expect(await loop('M07')).toMatchObject({ status: 'closed', paid: '3000.00', outstanding: '0.00' });
    expect(await loop('M08')).toMatchObject({
      status: 'closed',
      paid: '1500.00',
      rejected: '500.00',
      outstanding: '0.00',
    });
    expect(await loop('M09')).toMatchObject({ status: 'reversed', owed: '0.00', paid: '5000.00', outstanding: '0.00' });
    expect(await loop('M10')).toMatchObject({ status: 'closed', paid: '4000.00' });
    expect(await loop('M11')).toMatchObject({ status: 'closed', paid: '3000.00' });
    expect(await loop('M14')).toMatchObject({ status: 'closed', paid: '1000.00' });
    expect(await loopOf(t.gw.db, 'M99')).toBeUndefined();
  });

  test('before the grace period ends, the unknown references were not flagged (the handlers ran as of 2025-05-20)', async () => {
    const { rows } = await t.gw.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM discrepancies WHERE code IN ('UNKNOWN_SETTLEMENT','DECLARED_NOT_RECORDED') AND detected_at < $1`,
      [AS_OF],
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
