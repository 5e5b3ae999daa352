/**
 * Issue 13, hostile bodies: a 20,000-level object or a 100,000-level array in an unknown property
 * overflowed the stack of the validator's walk (500, and one such record sank a whole feed with
 * 500); a body naming a member twice (`"pay_amount": "900.00"` … `"pay_amount": "1.00"`) was
 * accepted with the last value, though the signed text says both. Now each is a 4xx naming its
 * path — for a single message, and as one record's own rejection in a feed whose other records are
 * accepted.
 */
import crypto from 'node:crypto';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import { record } from '../../support/month-generator';
import { payment } from '../../support/fixtures';
import { MAX_JSON_DEPTH } from '../../../src/schemas/strict-json';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('hostile_bodies', { workers: false });
});
afterAll(async () => {
  await t.close();
});

const H1 = 'H53310200001',
  PICC = 'PICC_DH';
const DEEP_OBJECT = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
const DEEP_ARRAY = '['.repeat(100_000) + ']'.repeat(100_000);
/** The pointer of the first container past the limit, under `at`. */
const pastLimit = (at: string, segment: string) => `${at}${`/${segment}`.repeat(MAX_JSON_DEPTH - 1)}`;

/** A document's JSON text with `extra` (raw JSON text) appended as one more member. */
const withMember = (doc: object, name: string, rawValue: string) =>
  `${JSON.stringify(doc).slice(0, -1)},${JSON.stringify(name)}:${rawValue}}`;
const uid = () => crypto.randomUUID().slice(0, 8);
const settlement = (id: string) => record(id, { fixmedins: H1, insurer: PICC, hifob: '100.00' });
const postNdjson = (lines: string[]) =>
  t.post('/v1/agency/settlements', null, 'agency', { raw: lines.join('\n'), contentType: 'application/x-ndjson' });
const postJsonFeed = (records: string[]) =>
  t.post('/v1/agency/settlements', null, 'agency', { raw: `{"settlements":[${records.join(',')}]}` });
const stored = async (setlIds: string[]) =>
  (
    await t.gw.db.query<{ setl_id: string }>(
      'SELECT setl_id FROM settlement_records WHERE setl_id = ANY($1) ORDER BY setl_id',
      [setlIds],
    )
  ).rows.map((r) => r.setl_id);

describe('nesting far past any exchange document', () => {
  test.each([
    ['a 20,000-level object', DEEP_OBJECT, 'a'],
    ['a 100,000-level array', DEEP_ARRAY, '0'],
  ])(
    'when a payment carries %s in an unknown property, then 422 names the path where the depth limit was passed',
    async (_name, deep, segment) => {
      const body = payment({ payment_id: `PAY-DEEP-${uid()}` });
      const r = await t.post('/v1/insurer-payments', null, 'insurerA', { raw: withMember(body, 'extension', deep) });
      expect(r.status).toBe(422);
      expect(r.data.errors).toEqual([
        expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: pastLimit('/extension', segment) }),
      ]);
      const n = await t.gw.db.query('SELECT 1 FROM payments WHERE payment_id = $1', [body.payment_id]);
      expect(n.rowCount).toBe(0);
    },
  );

  test('when one record of an NDJSON feed nests an object 20,000 deep and another an array 100,000 deep, then those two are rejected with their paths and the others accepted', async () => {
    const id = uid();
    const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((x) => settlement(`HB-N-${x}-${id}`)) as [
      ReturnType<typeof settlement>,
      ReturnType<typeof settlement>,
      ReturnType<typeof settlement>,
      ReturnType<typeof settlement>,
    ];
    const r = await postNdjson([
      JSON.stringify(a),
      withMember(b, 'ext', DEEP_OBJECT),
      JSON.stringify(c),
      withMember(d, 'ext', DEEP_ARRAY),
    ]);
    expect(r.status).toBe(202);
    expect(r.data.accepted).toBe(2);
    expect(r.data.rejected).toEqual([
      { index: 1, errors: [expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: pastLimit('/ext', 'a') })] },
      { index: 3, errors: [expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: pastLimit('/ext', '0') })] },
    ]);
    expect(await stored([a.setl_id, b.setl_id, c.setl_id, d.setl_id])).toEqual([a.setl_id, c.setl_id].sort());
  });

  test('when one record of a JSON feed nests an array 100,000 deep, then that record is rejected with its path and the others accepted', async () => {
    const id = uid();
    const [a, b] = [settlement(`HB-J-A-${id}`), settlement(`HB-J-B-${id}`)];
    const r = await postJsonFeed([withMember(a, 'ext', DEEP_ARRAY), JSON.stringify(b)]);
    expect(r.status).toBe(202);
    expect(r.data.accepted).toBe(1);
    expect(r.data.rejected).toEqual([
      { index: 0, errors: [expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: pastLimit('/ext', '0') })] },
    ]);
  });
});

describe('a member named twice', () => {
  test('when a payment says pay_amount 900.00 and then 1.00, then 422 DUPLICATE_KEY at /pay_amount and nothing is stored', async () => {
    const body = payment({
      payment_id: `PAY-DUP-${uid()}`,
      pay_amount: '1.00',
      lines: [{ setl_id: 'S0001', paid_amount: '1.00' }],
    });
    const raw = JSON.stringify(body).replace('"pay_amount":"1.00"', '"pay_amount":"900.00","pay_amount":"1.00"');
    expect(JSON.parse(raw).pay_amount).toBe('1.00');
    const r = await t.post('/v1/insurer-payments', null, 'insurerA', { raw });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ code: 'DUPLICATE_KEY', path: '/pay_amount' })]);
    const n = await t.gw.db.query('SELECT 1 FROM payments WHERE payment_id = $1', [body.payment_id]);
    expect(n.rowCount).toBe(0);
  });

  test('when a member inside a line is named twice, spelt once with escapes, then the path points into the line', async () => {
    const body = payment({ payment_id: `PAY-DUP-${uid()}` });
    const raw = JSON.stringify(body).replace('"paid_amount":', '"paid_amount":"0.00","\\u0070aid_amount":');
    const r = await t.post('/v1/insurer-payments', null, 'insurerA', { raw });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ code: 'DUPLICATE_KEY', path: '/lines/0/paid_amount' })]);
  });

  test('when one record of an NDJSON feed names hifob_pay twice, then that record is rejected with the path and the others accepted', async () => {
    const id = uid();
    const [a, b, c] = ['A', 'B', 'C'].map((x) => settlement(`HB-D-${x}-${id}`)) as [
      ReturnType<typeof settlement>,
      ReturnType<typeof settlement>,
      ReturnType<typeof settlement>,
    ];
    const dup = JSON.stringify(b).replace('"hifob_pay":"100.00"', '"hifob_pay":"90000.00","hifob_pay":"100.00"');
    const r = await postNdjson([JSON.stringify(a), dup, JSON.stringify(c)]);
    expect(r.status).toBe(202);
    expect(r.data.accepted).toBe(2);
    expect(r.data.rejected).toEqual([
      { index: 1, errors: [expect.objectContaining({ code: 'DUPLICATE_KEY', path: '/hifob_pay' })] },
    ]);
    expect(await stored([a.setl_id, b.setl_id, c.setl_id])).toEqual([a.setl_id, c.setl_id].sort());
  });

  test('when one record of a JSON feed names a member of its setldetail twice, then that record is rejected with the path and the others accepted', async () => {
    const id = uid();
    const a = {
      ...settlement(`HB-JD-A-${id}`),
      setldetail: [{ fund_pay_type: '330100', inscp_scp_amt: '100.00', fund_payamt: '100.00' }],
    };
    const b = settlement(`HB-JD-B-${id}`);
    const dup = JSON.stringify(a).replace('"fund_payamt":"100.00"', '"fund_payamt":"100.00","fund_payamt":"1.00"');
    const r = await postJsonFeed([dup, JSON.stringify(b)]);
    expect(r.status).toBe(202);
    expect(r.data.accepted).toBe(1);
    expect(r.data.rejected).toEqual([
      { index: 0, errors: [expect.objectContaining({ code: 'DUPLICATE_KEY', path: '/setldetail/0/fund_payamt' })] },
    ]);
    expect(await stored([a.setl_id, b.setl_id])).toEqual([b.setl_id]);
  });

  test("when a JSON feed record carries a __proto__ member, then it is an unknown member as JSON.parse reads it, not the record's prototype", async () => {
    const id = uid();
    const full = settlement(`HB-P-${id}`);
    const r = await postJsonFeed([`{"__proto__":${JSON.stringify(full)}}`, JSON.stringify(settlement(`HB-P2-${id}`))]);
    expect(r.status).toBe(202);
    expect(r.data.rejected).toEqual([
      { index: 0, errors: expect.arrayContaining([expect.objectContaining({ code: 'required', path: '/setl_id' })]) },
    ]);
    expect(await stored([full.setl_id])).toEqual([]);
  });
});

describe('signed operator actions', () => {
  test('when a signed reconciliation request names period twice, then 422 DUPLICATE_KEY at /period and no run starts', async () => {
    const r = await t.post('/v1/reconciliations', null, 'agency', {
      raw: '{"admdvs":"533102","period":"2025-03","period":"2025-04"}',
    });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([expect.objectContaining({ code: 'DUPLICATE_KEY', path: '/period' })]);
  });
});
