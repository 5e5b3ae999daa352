/**
 * The agency feed (POST /v1/agency/settlements): JSON or NDJSON, per-record results, duplicates,
 * conflicts, reversals, scope, and the limits — streamed, committed only when the whole body has
 * arrived with a valid signature.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { settlement } from '../support/fixtures';
import { MAX_FEED_RECORDS } from '../../src/ingest/settlement-feed';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('feed', { workers: false, env: { GATEWAY_MAX_FEED_BYTES: String(120 * 1024 * 1024) } });
});
afterAll(async () => {
  await t.close();
});

const ndjson = (recs: unknown[]) => recs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const count = async (sql: string, p: unknown[] = []) => Number((await t.gw.db.query<{ n: string }>(sql, p)).rows[0]!.n);

test('when one record of a JSON feed breaks the schema, then the others are accepted and it is reported with its index and path', async () => {
  const recs = [
    settlement({ setl_id: 'F1-A' }),
    settlement({ setl_id: 'F1-B', hifob_pay: '-1' }),
    settlement({ setl_id: 'F1-C' }),
  ];
  const r = await t.post('/v1/agency/settlements', { settlements: recs }, 'agency');
  expect(r.status).toBe(202);
  expect(r.data).toMatchObject({ status: 'accepted', accepted: 2, duplicates: 0 });
  expect(r.data.rejected).toEqual([{ index: 1, errors: [expect.objectContaining({ path: '/hifob_pay' })] }]);
  expect(await count(`SELECT count(*) AS n FROM settlement_records WHERE setl_id LIKE 'F1-%'`)).toBe(2);
});

test('when an NDJSON feed has a malformed line, then that line is rejected by its index and the rest accepted', async () => {
  const body = ndjson([settlement({ setl_id: 'F2-A' }), '{"setl_id": "F2-B",', settlement({ setl_id: 'F2-C' })]);
  const r = await t.post('/v1/agency/settlements', null, 'agency', { raw: body, contentType: 'application/x-ndjson' });
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(2);
  expect(r.data.rejected).toEqual([{ index: 1, errors: [expect.objectContaining({ code: 'malformed_json' })] }]);
});

test('when the same records arrive again, then 200 duplicate and nothing is stored twice', async () => {
  const recs = [settlement({ setl_id: 'F3-A' }), settlement({ setl_id: 'F3-B' })];
  const first = await t.post('/v1/agency/settlements', { settlements: recs }, 'agency');
  const again = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: ndjson(recs),
    contentType: 'application/x-ndjson',
  });
  expect(again.status).toBe(200);
  expect(again.data).toMatchObject({ duplicate: true, message_id: first.data.message_id, accepted: 0, duplicates: 2 });
  expect(await count(`SELECT count(*) AS n FROM settlement_records WHERE setl_id LIKE 'F3-%'`)).toBe(2);
});

test('when a known setl_id arrives with a different body, then that record is rejected as a conflict', async () => {
  await t.post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'F4-A' })] }, 'agency');
  const r = await t.post(
    '/v1/agency/settlements',
    { settlements: [settlement({ setl_id: 'F4-A', hifob_pay: '1.00' }), settlement({ setl_id: 'F4-B' })] },
    'agency',
  );
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(1);
  expect(r.data.rejected).toEqual([
    { index: 0, errors: [expect.objectContaining({ code: 'IDEMPOTENCY_CONFLICT', path: '/setl_id' })] },
  ]);
});

test('when a known setl_id is sent again as reversed, then the reversal is recorded beside the valid record', async () => {
  await t.post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'F5-A' })] }, 'agency');
  const r = await t.post(
    '/v1/agency/settlements',
    { settlements: [settlement({ setl_id: 'F5-A', status: 'reversed' })] },
    'agency',
  );
  expect(r.status).toBe(202);
  const rows = await t.gw.db.query<{ status: string }>(
    `SELECT status FROM settlement_records WHERE setl_id = 'F5-A' ORDER BY status`,
  );
  expect(rows.rows.map((x) => x.status)).toEqual(['reversed', 'valid']);
});

test("when a record belongs to a pooling region outside the agency's scope, then it is rejected as OUT_OF_SCOPE", async () => {
  const r = await t.post(
    '/v1/agency/settlements',
    { settlements: [settlement({ setl_id: 'F6-A', insuplc_admdvs: '410802' }), settlement({ setl_id: 'F6-B' })] },
    'agency',
  );
  expect(r.status).toBe(202);
  expect(r.data.rejected[0]).toMatchObject({ index: 0, errors: [expect.objectContaining({ code: 'OUT_OF_SCOPE' })] });
});

test("when every record is bad, then 422 with each error's full JSON pointer", async () => {
  const r = await t.post('/v1/agency/settlements', { settlements: [{ setl_id: 'F7' }] }, 'agency');
  expect(r.status).toBe(422);
  expect(r.data.errors.map((e: { path: string }) => e.path)).toContain('/settlements/0/mdtrt_id');
  expect(r.data.rejected[0].index).toBe(0);
});

test('when the signature does not match the streamed body, then 401 and nothing is stored', async () => {
  const r = await t.post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'F8-A' })] }, 'agency', {
    signature: 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  });
  expect(r.status).toBe(401);
  expect(await count(`SELECT count(*) AS n FROM settlement_records WHERE setl_id = 'F8-A'`)).toBe(0);
});

test('when the feed is not JSON or NDJSON, is malformed, or comes from another role, then 415, 400, 403', async () => {
  expect((await t.post('/v1/agency/settlements', null, 'agency', { raw: 'a,b', contentType: 'text/csv' })).status).toBe(
    415,
  );
  expect((await t.post('/v1/agency/settlements', null, 'agency', { raw: '{"settlements": [ {"a": ' })).status).toBe(
    400,
  );
  expect((await t.post('/v1/agency/settlements', { settlements: [] }, 'insurerA')).status).toBe(403);
});

test('when a feed carries more than 100,000 records, then 422 TOO_MANY_RECORDS and nothing is stored', async () => {
  const body = '{}\n'.repeat(MAX_FEED_RECORDS + 1);
  const r = await t.post('/v1/agency/settlements', null, 'agency', { raw: body, contentType: 'application/x-ndjson' });
  expect(r.status).toBe(422);
  expect(r.data.errors[0].code).toBe('TOO_MANY_RECORDS');
});

test('when a feed of 100,000 records arrives as NDJSON, then all are accepted in one message', async () => {
  const lines: string[] = [];
  for (let i = 0; i < MAX_FEED_RECORDS; i++)
    lines.push(JSON.stringify(settlement({ setl_id: `BULK${i}`, mdtrt_id: `MB${i}` })));
  const r = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: lines.join('\n'),
    contentType: 'application/x-ndjson',
  });
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(MAX_FEED_RECORDS);
  expect(await count(`SELECT count(*) AS n FROM settlement_records WHERE message_id = $1`, [r.data.message_id])).toBe(
    MAX_FEED_RECORDS,
  );
}, 180_000);

describe('size limit', () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startTestGateway('feed_small', { workers: false, env: { GATEWAY_MAX_FEED_BYTES: '4096' } });
  });
  afterAll(async () => {
    await small.close();
  });
  test('when the feed is larger than the limit, then 413', async () => {
    const recs = Array.from({ length: 20 }, (_, i) => settlement({ setl_id: `F9-${i}` }));
    const r = await small.post('/v1/agency/settlements', { settlements: recs }, 'agency');
    expect(r.status).toBe(413);
  });
});
