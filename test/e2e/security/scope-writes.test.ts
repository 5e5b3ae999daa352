/**
 * Writes across scope (issue 13): what is judged is the record as stored, not what the sender
 * claims. A setl_id stored under another region cannot be reversed, squatted or moved; a batch can
 * replace only a batch of its own institution; batch ids are per institution; and a 409 never shows
 * the message_id of a message another client sent.
 */
import * as fx from '../../support/fixtures';
import { batchOf, record } from '../../support/month-generator';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import type { Settlement } from '../../../src/schemas/types';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('security-scope-writes');
});
afterAll(async () => {
  await t.close();
});

/** A Dehong (533102) record, and the same id as another agency's region (Jiaozuo 410802) would send it. */
const dehong = (id: string, over: Partial<Settlement> = {}) => ({
  ...record(id, { fixmedins: H1, insurer: PICC, hifob: '9000.00' }),
  ...over,
});
const jiaozuo = (id: string, over: Partial<Settlement> = {}) =>
  dehong(id, { insuplc_admdvs: '410802', mdtrtarea_admvs: '410802', ...over });

async function feed(as: 'agency' | 'agencyOther', settlements: Settlement[]) {
  const res = await t.post('/v1/agency/settlements', { settlements }, as);
  expect([200, 202, 422]).toContain(res.status);
  return res;
}

describe('the agency feed judges a known setl_id by the region it is stored under', () => {
  test("when an agency sends another region's setl_id as reversed under its own region, then that record is refused as out of scope and the owner still reads its valid record", async () => {
    expect((await feed('agency', [dehong('XR-1')])).status).toBe(202);
    const owner = (await t.get('/v1/settlements/XR-1', 'agency')).data;

    const res = await feed('agencyOther', [jiaozuo('XR-1', { status: 'reversed' }), jiaozuo('XR-1-FILLER')]);
    expect(res.status).toBe(202);
    expect(res.data.accepted).toBe(1);
    expect(res.data.rejected).toEqual([
      { index: 0, errors: [expect.objectContaining({ path: '/setl_id', code: 'OUT_OF_SCOPE' })] },
    ]);
    // Nothing of the stored record leaks: not its region, not its message.
    const text = JSON.stringify(res.data);
    expect(text).not.toContain('533102');
    expect(text).not.toContain(owner.message_id);

    const after = await t.get('/v1/settlements/XR-1', 'agency');
    expect(after.status).toBe(200);
    expect(after.data).toMatchObject({ status: 'valid', insuplc_admdvs: '533102' });
    expect(after.data).not.toHaveProperty('reversal');
  });

  test("when another region's agency took a setl_id first, then the owner's record is refused as out of scope with the same answer whatever the other record holds", async () => {
    // The squatter sends one id as valid and one as reversed, each under its own region.
    expect((await feed('agencyOther', [jiaozuo('XS-1'), jiaozuo('XS-2', { status: 'reversed' })])).status).toBe(202);
    const squatter = (await t.get('/v1/settlements/XS-1', 'agencyOther')).data;

    const res = await feed('agency', [dehong('XS-1'), dehong('XS-2'), dehong('XS-FILLER')]);
    expect(res.status).toBe(202);
    expect(res.data.accepted).toBe(1);
    const errorsOf = (i: number) =>
      (res.data.rejected as { index: number; errors: { path: string; code: string; message: string }[] }[]).find(
        (r) => r.index === i,
      )?.errors;
    expect(errorsOf(0)).toEqual([expect.objectContaining({ path: '/setl_id', code: 'OUT_OF_SCOPE' })]);
    // The same answer (but for the id) whether the other record is valid or reversed: no oracle on its content.
    expect(JSON.stringify(errorsOf(1)).replace('XS-2', 'XS-1')).toBe(JSON.stringify(errorsOf(0)));
    const text = JSON.stringify(res.data);
    expect(text).not.toContain('410802');
    expect(text).not.toContain(squatter.message_id);
    expect(text).not.toContain('IDEMPOTENCY_CONFLICT');
  });

  test('when an agency sends a reversal of its own record under another region of its scope, then the record is refused and stays in its region', async () => {
    expect((await feed('agency', [dehong('XM-1')])).status).toBe(202);
    // The agency's scope holds 5331 and 1509: both regions are its own, but a record never moves between them.
    const res = await feed('agency', [
      dehong('XM-1', { insuplc_admdvs: '150902', mdtrtarea_admvs: '150902', status: 'reversed' }),
      dehong('XM-FILLER'),
    ]);
    expect(res.status).toBe(202);
    expect(res.data.rejected).toEqual([
      { index: 0, errors: [expect.objectContaining({ path: '/insuplc_admdvs', code: 'REGION_MISMATCH' })] },
    ]);
    const after = (await t.get('/v1/settlements/XM-1', 'agency')).data;
    expect(after).toMatchObject({ status: 'valid', insuplc_admdvs: '533102' });
  });

  test('when a reversal names the stored region, then it is recorded as before', async () => {
    expect((await feed('agency', [dehong('XV-1')])).status).toBe(202);
    const res = await feed('agency', [dehong('XV-1', { status: 'reversed' })]);
    expect(res.status).toBe(202);
    expect(res.data).toMatchObject({ accepted: 1, rejected: [] });
    expect((await t.get('/v1/settlements/XV-1', 'agency')).data.status).toBe('reversed');
  });
});

describe("declarations are the institution's own", () => {
  test("when an institution's batch names another institution's batch in replaces_batch_id, then it is refused with the same answer as for an unknown batch, and the other declaration stands", async () => {
    const s = record('XB-1', { fixmedins: H1, insurer: PICC, hifob: '9000.00' });
    expect((await feed('agency', [s])).status).toBe(202);
    expect((await t.post('/v1/settlement-batches', batchOf('B-XB-H1', H1, PICC, [{ s }]), 'hospital1')).status).toBe(
      202,
    );

    const s2 = record('XB-2', { fixmedins: H2, insurer: PICC, hifob: '9000.00' });
    const other = await t.post(
      '/v1/settlement-batches',
      batchOf('B-XB-H2', H2, PICC, [{ s: s2 }], 'B-XB-H1'),
      'hospital2',
    );
    expect(other.status).toBe(422);
    expect(other.data.errors).toEqual([
      expect.objectContaining({ path: '/replaces_batch_id', code: 'INVALID_REPLACEMENT' }),
    ]);
    const unknown = await t.post(
      '/v1/settlement-batches',
      batchOf('B-XB-H2', H2, PICC, [{ s: s2 }], 'B-XB-NONE'),
      'hospital2',
    );
    expect(unknown.status).toBe(422);
    const strip = (d: Record<string, unknown>) =>
      JSON.stringify({ ...d, request_id: undefined, instance: undefined }).replace('B-XB-NONE', 'B-XB-H1');
    expect(strip(other.data)).toBe(strip(unknown.data));

    await t.drain();
    const { rows } = await t.gw.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM discrepancies WHERE code = 'DECLARATION_MISSING' AND fixmedins_code = $1 AND status <> 'resolved'`,
      [H1],
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  test('when an institution replaces its own batch, then the replacement is accepted', async () => {
    const s = record('XB-3', { fixmedins: H1, insurer: PICC, hifob: '9000.00', day: 12 });
    expect((await t.post('/v1/settlement-batches', batchOf('B-XB-OWN-1', H1, PICC, [{ s }]), 'hospital1')).status).toBe(
      202,
    );
    expect(
      (await t.post('/v1/settlement-batches', batchOf('B-XB-OWN-2', H1, PICC, [{ s }], 'B-XB-OWN-1'), 'hospital1'))
        .status,
    ).toBe(202);
  });

  test("when another institution took a batch_id first, then the owner's batch with that id is accepted as its own", async () => {
    const s2 = record('XK-2', { fixmedins: H2, insurer: PICC, hifob: '9000.00' });
    const s1 = record('XK-1', { fixmedins: H1, insurer: PICC, hifob: '9000.00' });
    const first = await t.post('/v1/settlement-batches', batchOf('B-SHARED', H2, PICC, [{ s: s2 }]), 'hospital2');
    expect(first.status).toBe(202);
    const own = await t.post('/v1/settlement-batches', batchOf('B-SHARED', H1, PICC, [{ s: s1 }]), 'hospital1');
    expect(own.status).toBe(202);
    expect(own.data.message_id).not.toBe(first.data.message_id);
    const { rows } = await t.gw.db.query<{ fixmedins_code: string; n: string }>(
      `SELECT b.fixmedins_code, count(i.setl_id) AS n FROM batches b JOIN batch_items i ON i.batch_id = b.batch_id AND i.fixmedins_code = b.fixmedins_code
        WHERE b.batch_id = 'B-SHARED' GROUP BY b.fixmedins_code ORDER BY 1`,
    );
    expect(rows.map((r) => [r.fixmedins_code, Number(r.n)])).toEqual([
      [H1, 1],
      [H2, 1],
    ]);
  });

  test("when another client of the same institution sends a batch_id again with another body, then the 409 does not show the first client's message_id", async () => {
    const body = fx.batch({ batch_id: 'B-XC-1' });
    const first = await t.post('/v1/settlement-batches', body, 'hospital1');
    expect(first.status).toBe(202);
    const changed = { ...body, items: [{ ...body.items[0]!, mdtrt_id: 'M-CHANGED' }] };
    const other = await t.post('/v1/settlement-batches', changed, 'hospital1b');
    expect(other.status).toBe(409);
    expect(JSON.stringify(other.data)).not.toContain(first.data.message_id);
    // The sender of the first message still learns which of its messages holds the key.
    const self = await t.post('/v1/settlement-batches', changed, 'hospital1');
    expect(self.status).toBe(409);
    expect(self.data.message_id).toBe(first.data.message_id);
  });
});
