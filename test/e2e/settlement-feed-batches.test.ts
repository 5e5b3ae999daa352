/**
 * The NDJSON feed is cut into batches that worker threads check while the main thread inserts.
 * Whatever the cuts, the line endings, or a worker failing half-way, every record must get the
 * result it gets when checked alone, under the index node:readline gives its line; and the stored
 * row must be the normalised record, whichever form (text or JSON) its batch was sent in.
 */
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { settlement } from '../support/fixtures';
import { feedWorkers } from '../../src/ingest/feed-workers';
import { contentHash, normalize } from '../../src/schemas/normalize';
import type { Settlement } from '../../src/schemas/types';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('feed_batches', { workers: false });
});
afterAll(async () => {
  await t.close();
});

type Outcome = 'accepted' | 'duplicate' | string;

/**
 * 3,000 lines (several batches): records broken by the schema, malformed lines, blank lines, CRLF
 * and lone CR line ends, a record out of scope, a record repeated with the same body (duplicate) and
 * with another body (conflict) — and the outcome each line's record must get, by line text.
 */
function mixedFeed(prefix: string): { body: string; outcomeOf: (line: string) => Outcome } {
  const planted = new Map<string, Outcome>();
  const parts: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let line: string;
    if (i % 97 === 13) {
      line = `{"setl_id": "${prefix}-M${i}",`;
      planted.set(line, 'malformed_json');
    } else if (i % 41 === 7) {
      line = JSON.stringify(settlement({ setl_id: `${prefix}-${i}`, hifob_pay: '-1' }));
      planted.set(line, 'pattern');
    } else if (i === 1500) {
      line = JSON.stringify(settlement({ setl_id: `${prefix}-${i}`, insuplc_admdvs: '410802' }));
      planted.set(line, 'OUT_OF_SCOPE');
    } else if (i === 2100) {
      // The same record as line 5 in another key order: the same normalised body.
      const same = settlement({ setl_id: `${prefix}-5`, mdtrt_id: `M${prefix}-5` }) as unknown as Record<
        string,
        unknown
      >;
      line = JSON.stringify(Object.fromEntries(Object.entries(same).reverse()));
      planted.set(line, 'duplicate');
    } else if (i === 2600) {
      line = JSON.stringify(settlement({ setl_id: `${prefix}-6`, mdtrt_id: `M${prefix}-6`, hifob_pay: '1.00' }));
      planted.set(line, 'IDEMPOTENCY_CONFLICT');
    } else if (i % 333 === 0) line = '   ';
    else line = JSON.stringify(settlement({ setl_id: `${prefix}-${i}`, mdtrt_id: `M${prefix}-${i}` }));
    parts.push(line, i % 10 === 3 ? '\r\n' : i % 250 === 17 ? '\r' : '\n');
  }
  return { body: parts.join(''), outcomeOf: (line) => planted.get(line) ?? 'accepted' };
}

/** What the feed must answer, from node:readline's lines (the feed's line semantics before the batches). */
async function expected(body: string, outcomeOf: (line: string) => Outcome) {
  const rejected: { index: number; code: string }[] = [];
  let accepted = 0,
    duplicates = 0,
    index = -1;
  for await (const line of readline.createInterface({ input: Readable.from([body]), crlfDelay: Infinity })) {
    index++;
    if (!line.trim()) continue;
    const o = outcomeOf(line);
    if (o === 'accepted') accepted++;
    else if (o === 'duplicate') duplicates++;
    else rejected.push({ index, code: o });
  }
  return { accepted, duplicates, rejected: rejected.sort((a, b) => a.index - b.index) };
}

const answered = (data: {
  accepted: number;
  duplicates: number;
  rejected: { index: number; errors: { code: string }[] }[];
}) => ({
  accepted: data.accepted,
  duplicates: data.duplicates,
  rejected: data.rejected.map((r) => ({ index: r.index, code: r.errors[0]!.code })).sort((a, b) => a.index - b.index),
});

test('when a feed spans several batches with bad records and mixed line ends, then each record gets its own result under its readline index', async () => {
  const { body, outcomeOf } = mixedFeed('B1');
  const r = await t.post('/v1/agency/settlements', null, 'agency', { raw: body, contentType: 'application/x-ndjson' });
  expect(r.status).toBe(202);
  expect(answered(r.data)).toEqual(await expected(body, outcomeOf));
  const stored = await t.gw.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM settlement_records WHERE message_id = $1',
    [r.data.message_id],
  );
  expect(Number(stored.rows[0]!.n)).toBe(r.data.accepted);
});

test('when the worker threads fail while a feed is being checked, then their batches are checked on the main thread with the same results', async () => {
  const { body, outcomeOf } = mixedFeed('B2');
  const workers = feedWorkers();
  const inThreadBefore = workers.inThreadBatches;
  const posted = t.post('/v1/agency/settlements', null, 'agency', { raw: body, contentType: 'application/x-ndjson' });
  let killed = false;
  while (!killed) {
    if (workers.busy > 0) {
      await workers.terminate();
      killed = true;
    } else await new Promise((res) => setImmediate(res));
  }
  const r = await posted;
  expect(r.status).toBe(202);
  expect(answered(r.data)).toEqual(await expected(body, outcomeOf));
  expect(workers.inThreadBatches).toBeGreaterThan(inThreadBefore);

  // New workers take the next feed.
  const inThreadAfter = workers.inThreadBatches;
  const again = mixedFeed('B3');
  const next = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: again.body,
    contentType: 'application/x-ndjson',
  });
  expect(answered(next.data)).toEqual(await expected(again.body, again.outcomeOf));
  expect(workers.inThreadBatches).toBe(inThreadAfter);
});

test("when values hold the text form's separators, quotes, backslashes or line breaks, then the stored row is the normalised record", async () => {
  const recs = [
    settlement({ setl_id: 'B4-PLAIN', psn_name: '张三' }),
    settlement({ setl_id: 'B4-SEP', psn_name: 'a\u001eb\u001fc\u001dd' }),
    settlement({
      setl_id: 'B4-ODD',
      psn_name: 'O\'Brien "\\" \t\n end',
      hifmi_pay: '12.5',
      referral: true,
      setl_time: '2025-03-10T01:30:00Z',
    }),
    settlement({
      setl_id: 'B4-BARE',
      psn_name: undefined,
      certno: undefined,
      setldetail: undefined,
      referral: undefined,
    }),
  ];
  for (const batch of [[recs[0]!, recs[2]!, recs[3]!], [recs[1]!]]) {
    const r = await t.post('/v1/agency/settlements', null, 'agency', {
      raw: batch.map((x) => JSON.stringify(x)).join('\n'),
      contentType: 'application/x-ndjson',
    });
    expect(r.status).toBe(202);
    expect(r.data.accepted).toBe(batch.length);
  }
  for (const rec of recs) {
    const n = normalize<Settlement>('settlement', JSON.parse(JSON.stringify(rec)));
    const { rows } = await t.gw.db.query<Record<string, unknown>>(
      `SELECT psn_name, certno, setl_time, hifmi_pay::text, hifob_pay::text, setldetail, referral, content_sha256, period FROM settlement_records WHERE setl_id = $1`,
      [rec.setl_id],
    );
    expect(rows[0]).toEqual({
      psn_name: n.psn_name ?? null,
      certno: n.certno ?? null,
      setl_time: new Date(n.setl_time),
      hifmi_pay: n.hifmi_pay ?? null,
      hifob_pay: n.hifob_pay,
      setldetail: n.setldetail ?? null,
      referral: n.referral ?? null,
      content_sha256: contentHash(n),
      period: n.setl_time.slice(0, 7),
    });
  }
});

test('when a feed goes on past 100,000 records, then it is answered 422 TOO_MANY_RECORDS and nothing is stored', async () => {
  const before = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM settlement_records');
  const r = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: `${JSON.stringify(settlement({ setl_id: 'B5-A' }))}\n${'x\n'.repeat(150_000)}`,
    contentType: 'application/x-ndjson',
  });
  expect(r.status).toBe(422);
  expect(r.data.errors[0].code).toBe('TOO_MANY_RECORDS');
  const after = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM settlement_records');
  expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
});
