/**
 * The feed's judgement of records the insert did not store (issue 13): by the region their setl_id
 * is stored under, then duplicate or conflict. Pure: no database.
 */
import { judgeStored, type FeedClient, type RowKey, type StoredRow } from '../../../src/ingest/feed-records';

const agency: FeedClient = { client_id: 'dehong-agency', role: 'agency', scope: ['5331', '1509'] };
const row = (over: Partial<RowKey> = {}): RowKey => ({
  index: 0,
  setl_id: 'S1',
  status: 'valid',
  sha: 'a',
  insuplc_admdvs: '533102',
  ...over,
});
const stored = (over: Partial<StoredRow> = {}): StoredRow => ({
  setl_id: 'S1',
  status: 'valid',
  content_sha256: 'a',
  message_id: 'm-1',
  insuplc_admdvs: '533102',
  ...over,
});
const codes = (r: ReturnType<typeof judgeStored>) =>
  r.rejected.map((x) => x.errors.map((e) => `${e.path} ${e.code}`)).flat();

test('when the same record is stored under the same region, then it is a duplicate of the first message', () => {
  expect(judgeStored([row()], [stored()], agency, 'en')).toEqual({
    duplicates: 1,
    firstDuplicateOf: 'm-1',
    rejected: [],
  });
});

test('when the same (setl_id, status) is stored with another body under the same region, then it is an IDEMPOTENCY_CONFLICT', () => {
  expect(codes(judgeStored([row({ sha: 'b' })], [stored()], agency, 'en'))).toEqual(['/setl_id IDEMPOTENCY_CONFLICT']);
});

test('when the setl_id is stored under a region outside the scope, then the answer is OUT_OF_SCOPE whatever that record holds, and names nothing of it', () => {
  const others = [
    stored({ insuplc_admdvs: '410802' }),
    stored({ insuplc_admdvs: '410802', status: 'reversed', content_sha256: 'z', message_id: 'm-9' }),
  ];
  const answers = [[others[0]!], [others[1]!], others].map(
    (s) => judgeStored([row({ status: 'reversed' })], s, agency, 'en').rejected,
  );
  for (const a of answers) {
    expect(a).toEqual(answers[0]);
    expect(JSON.stringify(a)).not.toMatch(/410802|m-1|m-9/);
  }
  expect(answers[0]![0]!.errors[0]).toMatchObject({ path: '/setl_id', code: 'OUT_OF_SCOPE' });
});

test('when the setl_id is stored under another region of the scope, then it is a REGION_MISMATCH naming the stored region', () => {
  const r = judgeStored([row({ insuplc_admdvs: '150902', status: 'reversed' })], [stored()], agency, 'zh-CN');
  expect(codes(r)).toEqual(['/insuplc_admdvs REGION_MISMATCH']);
  expect(r.rejected[0]!.errors[0]!.message).toContain('533102');
});

test("when a reversal names the stored region, then it is not judged against the valid row's body", () => {
  // (The insert stores it; were it left out, the other status's body would not make it a conflict.)
  expect(
    codes(
      judgeStored(
        [row({ status: 'reversed', sha: 'r' })],
        [stored(), stored({ status: 'reversed', content_sha256: 'r', message_id: 'm-2' })],
        agency,
        'en',
      ),
    ),
  ).toEqual([]);
});
