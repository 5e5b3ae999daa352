/**
 * Over-sharing on reads (issue 13): a person-year finding's evidence and a settlement's payments
 * show an institution or an insurer only its own rows; the person's psn_no never shows in a
 * subject_key outside the agency and ops.
 */
import { paymentOf, record as monthRecord } from '../../support/month-generator';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import type { TestClientName } from '../../support/test-clients';
import { auditDone, record } from '../benefits-support';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH',
  CPIC = 'CPIC_DH';

let t: TestGateway;
let firstFeed: string, secondFeed: string;
beforeAll(async () => {
  t = await startTestGateway('security-scope-reads');
  // One Ulanqab person (payout cap 120,000 a year) treated at two institutions, owed by two insurers:
  // 80,000 at hospital 1 (PICC), then 55,000 at hospital 2 (CPIC), which passes the cap.
  const feed = async (s: unknown[]) => {
    const r = await t.post('/v1/agency/settlements', { settlements: s }, 'agency');
    if (r.status !== 202) throw new Error(`feed refused: ${r.status} ${JSON.stringify(r.data)}`);
    return r.data.message_id as string;
  };
  firstFeed = await feed([
    record('150902', PICC, H1, {
      setl_id: 'CAP-1',
      psn_no: 'P-CAP-1',
      setl_time: '2025-03-05 09:00:00',
      bases: [{ amount: '100000.00', seg: 'above_cap' }],
      hifob_pay: '80000.00',
    }),
  ]);
  secondFeed = await feed([
    record('150902', CPIC, H2, {
      setl_id: 'CAP-2',
      psn_no: 'P-CAP-1',
      setl_time: '2025-06-05 09:00:00',
      bases: [
        { amount: '30000.00', seg: 'band_selfpay' },
        { amount: '50000.00', seg: 'above_cap' },
      ],
      hifob_pay: '55000.00',
    }),
  ]);
  // A Dehong settlement of hospital 1 that PICC paid partly to hospital 2 (the wrong payee), partly to hospital 1.
  await feed([monthRecord('PAYEE-1', { fixmedins: H1, insurer: PICC, hifob: '9000.00' })]);
  for (const [id, payee, paid] of [
    ['PAY-WRONG', H2, '9000.00'],
    ['PAY-RIGHT', H1, '4000.00'],
  ] as const) {
    const r = await t.post(
      '/v1/insurer-payments',
      paymentOf(PICC, id, { type: 'institution', id: payee }, '2025-04-09T10:00:00+08:00', [
        { setl_id: 'PAYEE-1', paid },
      ]),
      'insurerA',
    );
    if (r.status !== 202) throw new Error(`payment refused: ${r.status}`);
  }
  await auditDone(t);
});
afterAll(async () => {
  await t.close();
});

interface Case {
  id: string;
  code: string;
  subject_key: string;
  setl_id?: string;
  evidence: Record<string, any>;
}
async function casesOf(as: TestClientName, code: string): Promise<Case[]> {
  const res = await t.get(`/v1/discrepancies?code=${code}`, as);
  expect(res.status).toBe(200);
  return res.data.items as Case[];
}

describe('the evidence of a person-year finding', () => {
  test('when the agency reads ANNUAL_CAP_EXCEEDED, then it sees every settlement of the person-year and the psn_no', async () => {
    const [cap] = await casesOf('agency', 'ANNUAL_CAP_EXCEEDED');
    expect(cap!.subject_key).toBe('person:1509:P-CAP-1:2025');
    expect(cap!.evidence.settlements.map((s: { setl_id: string }) => s.setl_id)).toEqual(['CAP-1', 'CAP-2']);
    expect(cap!.evidence.message_ids).toEqual([firstFeed, secondFeed].sort());
  });

  test.each([['hospital2'], ['insurerB']] as const)(
    'when %s reads ANNUAL_CAP_EXCEEDED, then it sees only its own settlement and no psn_no, in a masked key that stays the same',
    async (as) => {
      const [cap] = await casesOf(as, 'ANNUAL_CAP_EXCEEDED');
      expect(cap).toBeDefined();
      expect(cap!.evidence.settlements).toEqual([{ setl_id: 'CAP-2', hifob_pay: '55000.00' }]);
      expect(cap!.evidence.message_ids).toEqual([secondFeed]);
      const text = JSON.stringify(cap);
      expect(text).not.toContain('CAP-1"');
      expect(text).not.toContain('80000.00');
      expect(text).not.toContain(firstFeed);
      expect(text).not.toContain('P-CAP-1');
      expect(cap!.subject_key).toMatch(/^person:1509:[^:]+:2025$/);
      // Stable: the same person-year gives the same masked key on every read, by every reader, and on the case itself.
      const again = (await t.get(`/v1/discrepancies/${cap!.id}`, as)).data;
      expect(again.subject_key).toBe(cap!.subject_key);
      const [other] = await casesOf(as === 'hospital2' ? 'insurerB' : 'hospital2', 'ANNUAL_CAP_EXCEEDED');
      expect(other!.subject_key).toBe(cap!.subject_key);
    },
  );

  test("when hospital 2 reads the benefit deviation of its settlement, then the evidence names no message of another institution's settlement", async () => {
    const devs = (await casesOf('hospital2', 'BENEFIT_RULE_DEVIATION')).filter((c) => c.setl_id === 'CAP-2');
    expect(devs).toHaveLength(1);
    expect(devs[0]!.evidence.message_ids).toEqual([secondFeed]);
    const agencyView = (await casesOf('agency', 'BENEFIT_RULE_DEVIATION')).find((c) => c.setl_id === 'CAP-2');
    expect(agencyView!.evidence.message_ids).toEqual([firstFeed, secondFeed].sort());
  });
});

describe('the payments of a settlement', () => {
  test('when its institution reads it, then a payment made to another payee shows without its bank_txn_no and pay_amount, and the loop figures are unchanged', async () => {
    const res = await t.get('/v1/settlements/PAYEE-1', 'hospital1');
    expect(res.status).toBe(200);
    const byId = new Map((res.data.payments as Record<string, unknown>[]).map((p) => [p.payment_id, p]));
    expect(byId.get('PAY-RIGHT')).toMatchObject({
      payee_id: H1,
      bank_txn_no: 'BK-PAY-RIGHT',
      pay_amount: '4000.00',
      paid_amount: '4000.00',
    });
    const wrong = byId.get('PAY-WRONG')!;
    expect(wrong).toMatchObject({ payee_type: 'institution', payee_id: H2, paid_amount: '9000.00' });
    expect(wrong).not.toHaveProperty('bank_txn_no');
    expect(wrong).not.toHaveProperty('pay_amount');
    expect(wrong).not.toHaveProperty('message_id');
    expect(JSON.stringify(res.data)).not.toContain('BK-PAY-WRONG');
    expect(res.data.loop).toMatchObject({ owed: '9000.00', paid: '4000.00', outstanding: '5000.00' });
  });

  test('when the paying insurer or the agency reads it, then every payment shows in full', async () => {
    for (const as of ['insurerA', 'agency'] as const) {
      const res = await t.get('/v1/settlements/PAYEE-1', as);
      const wrong = (res.data.payments as Record<string, unknown>[]).find((p) => p.payment_id === 'PAY-WRONG');
      expect(wrong).toMatchObject({ bank_txn_no: 'BK-PAY-WRONG', pay_amount: '9000.00' });
      expect(res.data.loop).toMatchObject({ paid: '4000.00', outstanding: '5000.00' });
    }
  });
});
