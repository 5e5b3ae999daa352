/**
 * GET /v1/settlements/{setl_id}/benefit: the view and a step-by-step explanation in Chinese or
 * English, plain text on request, and the settlement's scope (anything else is 404).
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { createBenefitView, explainSettlement } from '../../src/benefits/benefit-view';
import { dehong, district, feed } from './benefits-support';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('benefits-explain');
  await feed(t, [
    // Outside the prefecture without referral: 100,000.00 × (90% − 5 points) = 85,000.00; recorded 90,000.00
    dehong({
      setl_id: 'EX-1',
      psn_no: 'P-EX-1',
      setl_time: '2025-03-10 09:30:00',
      bases: [{ amount: '100000.00' }],
      hifob_pay: '90000.00',
      over: { mdtrtarea_admvs: '530102', referral: false },
    }),
    // District: cum 30,000 → 50,000: 10,000 × 85% + 10,000 × 90% = 8,500 + 9,000 = 17,500.00
    district({
      setl_id: 'EX-2a',
      psn_no: 'P-EX-2',
      setl_time: '2025-01-10 09:30:00',
      bases: [{ amount: '30000.00' }],
      hifob_pay: '25500.00',
    }),
    district({
      setl_id: 'EX-2',
      psn_no: 'P-EX-2',
      setl_time: '2025-02-10 09:30:00',
      bases: [{ amount: '20000.00' }],
      hifob_pay: '17500.00',
    }),
  ]);
});
afterAll(async () => {
  await t.close();
});

describe('GET /v1/settlements/{setl_id}/benefit', () => {
  test('when asked in Chinese, then the view comes with the derivation explained in Chinese', async () => {
    const r = await t.get('/v1/settlements/EX-1/benefit', 'agency', { 'accept-language': 'zh-CN,zh;q=0.9' });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({
      setl_id: 'EX-1',
      checked: true,
      unchecked_reason: null,
      region: 'dehong-5331',
      benefit_year: 2025,
      expected_amount: '85000.00',
      actual_amount: '90000.00',
      difference: '5000.00',
      tolerance: '0.01',
      deviates: true,
      derivation: {
        adjustments: [{ id: 'outside_region_without_referral' }],
        segments: [{ slices: [{ ratio: '0.85', band_ratio: '0.9' }] }],
      },
    });
    expect(r.data.explanation).toContain('未按规定转诊转院到州外就医');
    expect(r.data.explanation).toContain('100000.00 × 85%');
    expect(r.data.explanation).toContain('应付金额（四舍五入到分）：85000.00');
    expect(r.data.explanation).not.toContain('P-EX-1');
  });

  test('when asked in English, then the explanation is in English and matches the stored view', async () => {
    const r = await t.get('/v1/settlements/EX-2/benefit', 'agency', { 'accept-language': 'en-US' });
    expect(r.status).toBe(200);
    expect(r.data.explanation).toContain('band 1 [0.00, 40000.00): 10000.00 × 85%');
    expect(r.data.explanation).toContain('band 2 [40000.00, 80000.00): 10000.00 × 90%');
    expect(r.data.explanation).toContain('Expected amount (half-up at the fen): 17500.00');
    const { explanation: _explanation, setl_id: _setlId, ...view } = r.data;
    expect(await createBenefitView(t.gw)('EX-2')).toEqual(view);
  });

  test('when format=text is asked, then the explanation comes as text/plain', async () => {
    const r = await t.get('/v1/settlements/EX-1/benefit?format=text', 'ops');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.data).toContain('Expected amount (half-up at the fen): 85000.00');
  });

  test('when the CLI explains a settlement, then it gets the same text', async () => {
    const out = await explainSettlement(t.gw, 'EX-1', 'zh-CN');
    const r = await t.get('/v1/settlements/EX-1/benefit', 'agency', { 'accept-language': 'zh' });
    expect(out!.explanation).toBe(r.data.explanation);
    expect(await explainSettlement(t.gw, 'NO-SUCH', 'en')).toBeUndefined();
  });

  test.each([['insurerA'], ['hospital1'], ['agency'], ['ops']] as const)(
    "when %s, inside the settlement's scope, asks, then it is shown",
    async (who) => {
      expect((await t.get('/v1/settlements/EX-1/benefit', who)).status).toBe(200);
    },
  );

  test.each([['insurerB'], ['hospital2'], ['agencyOther']] as const)(
    "when %s, outside the settlement's scope, asks, then it is 404",
    async (who) => {
      const r = await t.get('/v1/settlements/EX-1/benefit', who);
      expect(r.status).toBe(404);
      expect(r.data).toMatchObject({ status: 404 });
    },
  );

  test('when the settlement is unknown, then 404; without a token, 401; with a bad format, 400', async () => {
    expect((await t.get('/v1/settlements/NO-SUCH/benefit', 'ops')).status).toBe(404);
    expect((await t.get('/v1/settlements/EX-1/benefit', null)).status).toBe(401);
    expect((await t.get('/v1/settlements/EX-1/benefit?format=pdf', 'ops')).status).toBe(400);
  });
});
