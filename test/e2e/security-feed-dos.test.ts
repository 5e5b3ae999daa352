/**
 * The agency feed authenticates before it spends (issue 13): a feed request whose signature does not
 * match holds no feed lock, no pooled connection and no worker thread, and buffers nothing unbounded
 * in memory, however slowly or however much it sends; a saturated pool answers 503 instead of
 * hanging, and /readyz is not starved by feeds. One record too large is that record's error.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import { Client } from 'pg';
import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { settlement } from '../support/fixtures';
import { TEST_CLIENTS } from '../support/test-clients';

const MIB = 1024 * 1024;
const WRONG = 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('feed_dos', {
    workers: false,
    env: {
      GATEWAY_MAX_FEED_BYTES: String(320 * MIB),
      GATEWAY_FEED_MAX_RECORD_BYTES: '4096',
      GATEWAY_FEED_CONCURRENCY_PER_CLIENT: '1',
      GATEWAY_DB_POOL_SIZE: '6',
      GATEWAY_DB_ACQUIRE_TIMEOUT_MS: '1000',
    },
  });
}, 60_000);
afterAll(async () => {
  await t.close();
});

/** A feed request from the Dehong agency with a wrong signature whose body the caller writes. */
function unsignedFeed(contentType = 'application/x-ndjson'): {
  req: http.ClientRequest;
  answer: Promise<{ status: number; body: string }>;
} {
  const u = new URL(t.baseUrl);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    method: 'POST',
    path: '/v1/agency/settlements',
    headers: {
      'content-type': contentType,
      'x-client-id': TEST_CLIENTS.agency.client_id,
      'webhook-id': `msg_${crypto.randomUUID()}`,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': WRONG,
      'transfer-encoding': 'chunked',
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
  return { req, answer };
}

/** Writes `bytes` of `fill` (after `head`) with backpressure, from one reused buffer. */
async function writeMany(req: http.ClientRequest, head: string, bytes: number, fill = 0x61): Promise<void> {
  const block = Buffer.alloc(MIB, fill);
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => {
      req.write(b, (e) => (e ? reject(e) : resolve()));
    });
  await write(Buffer.from(head));
  for (let sent = 0; sent < bytes; sent += block.length) await write(block);
}

test("when slow feed requests with a wrong signature are open, then another agency's signed feed and /readyz still answer", async () => {
  const slow = Array.from({ length: 10 }, () => unsignedFeed());
  let open = true;
  const line = `${JSON.stringify(settlement({ setl_id: 'DOS-SLOW' }))}\n`;
  for (const s of slow) s.req.write(line);
  // Trickled: a byte every 200 ms keeps every request incomplete until the checks below are done,
  // or for 20 s at most: a gateway that waits for them answers the others only after, and fails.
  const trickle = setInterval(() => {
    for (const s of slow) s.req.write(' ');
  }, 200);
  const finish = () => {
    if (!open) return;
    clearInterval(trickle);
    open = false;
    for (const s of slow) s.req.end();
  };
  const giveUp = setTimeout(finish, 20_000);
  try {
    // Let the gateway take up the slow requests before the others arrive.
    await new Promise((r) => setTimeout(r, 500));
    const [feed, ready] = await Promise.all([
      t.post(
        '/v1/agency/settlements',
        { settlements: [settlement({ setl_id: 'DOS-OTHER-1', insuplc_admdvs: '410802', mdtrtarea_admvs: '410802' })] },
        'agencyOther',
      ),
      t.get('/readyz', null),
    ]);
    expect(open).toBe(true);
    expect(feed.status).toBe(202);
    expect(feed.data.accepted).toBe(1);
    expect(ready.status).toBe(200);
  } finally {
    clearTimeout(giveUp);
    finish();
  }
  for (const s of slow) expect((await s.answer).status).toBe(401);
  expect(
    Number(
      (await t.gw.db.query<{ n: string }>(`SELECT count(*) AS n FROM settlement_records WHERE setl_id = 'DOS-SLOW'`))
        .rows[0]!.n,
    ),
  ).toBe(0);
}, 120_000);

test('when a 300 MB single-line feed arrives with a wrong signature, then it is refused and the process does not grow by 100 MiB', async () => {
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const { req, answer } = unsignedFeed();
    await writeMany(req, '{"setl_id":"', 300 * 1000 * 1000);
    req.end();
    const r = await answer;
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).type).toMatch(/signature-invalid$/);
  } finally {
    clearInterval(sample);
  }
  expect((peak - idle) / MIB).toBeLessThan(100);
}, 180_000);

test('when a 300 MB JSON feed is one string with a wrong signature, then it is refused and the process does not grow by 100 MiB', async () => {
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const { req, answer } = unsignedFeed('application/json');
    await writeMany(req, '{"settlements":[{"setl_id":"', 300 * 1000 * 1000);
    req.end('"}]}');
    const r = await answer;
    expect(r.status).toBe(401);
  } finally {
    clearInterval(sample);
  }
  expect((peak - idle) / MIB).toBeLessThan(100);
}, 180_000);

test('when one NDJSON line is longer than the record limit, then that record is rejected as RECORD_TOO_LARGE and the others are accepted', async () => {
  const long = JSON.stringify(settlement({ setl_id: 'DOS-LONG', psn_name: 'x'.repeat(10_000) }));
  const body = [settlement({ setl_id: 'DOS-L1' }), long, settlement({ setl_id: 'DOS-L2' })]
    .map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))
    .join('\n');
  const r = await t.post('/v1/agency/settlements', null, 'agency', { raw: body, contentType: 'application/x-ndjson' });
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(2);
  expect(r.data.rejected).toEqual([
    { index: 1, errors: [expect.objectContaining({ path: '', code: 'RECORD_TOO_LARGE' })] },
  ]);
});

test("when long lines end in CRLF, cross the spool's read chunks, or end the body, then each is its own RECORD_TOO_LARGE under readline's index", async () => {
  const long = (id: string) => JSON.stringify(settlement({ setl_id: id, psn_name: 'y'.repeat(300_000) }));
  const lines = [
    JSON.stringify(settlement({ setl_id: 'DOS-R0' })),
    long('DOS-R1'),
    JSON.stringify(settlement({ setl_id: 'DOS-R2' })),
    long('DOS-R3'),
    '',
    JSON.stringify(settlement({ setl_id: 'DOS-R5' })),
    long('DOS-R6'),
  ];
  const r = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: lines.join('\r\n'),
    contentType: 'application/x-ndjson',
  });
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(3);
  expect(
    r.data.rejected.map((x: { index: number; errors: { code: string }[] }) => [x.index, x.errors[0]!.code]),
  ).toEqual([
    [1, 'RECORD_TOO_LARGE'],
    [3, 'RECORD_TOO_LARGE'],
    [6, 'RECORD_TOO_LARGE'],
  ]);
});

test('when one record of a JSON feed is larger than the record limit, then that record is rejected as RECORD_TOO_LARGE and the others are accepted', async () => {
  const recs = [
    settlement({ setl_id: 'DOS-J1' }),
    settlement({ setl_id: 'DOS-JLONG', psn_name: 'x'.repeat(10_000) }),
    settlement({ setl_id: 'DOS-J2' }),
  ];
  const r = await t.post('/v1/agency/settlements', { settlements: recs }, 'agency');
  expect(r.status).toBe(202);
  expect(r.data.accepted).toBe(2);
  expect(r.data.rejected).toEqual([
    { index: 1, errors: [expect.objectContaining({ path: '', code: 'RECORD_TOO_LARGE' })] },
  ]);
});

test('when a deeply nested record arrives with a wrong signature, then 401 and not 500', async () => {
  // Unknown properties are accepted (and ignored) by the schema, so the record is schema-valid and the
  // text check walks it: a gateway that checks records before the signature fails on its depth.
  const depth = 100_000;
  const deep = JSON.stringify(settlement({ setl_id: 'DOS-DEEP' })).replace(
    /}$/,
    `,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
  );
  const body = `${JSON.stringify(settlement({ setl_id: 'DOS-D1' }))}\n${deep}\n`;
  const r = await t.post('/v1/agency/settlements', null, 'agency', {
    raw: body,
    contentType: 'application/x-ndjson',
    signature: WRONG,
  });
  expect(r.status).toBe(401);
}, 60_000);

test('when a client already has a feed in progress up to its limit, then another feed of that client answers 429 with Retry-After', async () => {
  const locker = new Client({ connectionString: t.dbUrl });
  await locker.connect();
  try {
    // Holding the feed lock keeps the first feed in progress (signature verified, waiting for the lock).
    await locker.query('SELECT pg_advisory_lock(7340113)');
    const first = t.post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'DOS-C1' })] }, 'agency');
    for (;;) {
      const { rows } = await locker.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
      );
      if (Number(rows[0]!.n) > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    let answered: Awaited<ReturnType<TestGateway['post']>> | undefined;
    const pending = t
      .post('/v1/agency/settlements', { settlements: [settlement({ setl_id: 'DOS-C2' })] }, 'agency')
      .then((r) => {
        answered = r;
      });
    // Either it answers, or (a gateway without the limit) it waits for the lock beside the first.
    while (!answered) {
      const { rows } = await locker.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
      );
      if (Number(rows[0]!.n) > 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await locker.query('SELECT pg_advisory_unlock(7340113)');
    await pending;
    const second = answered!;
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    expect(second.data.type).toMatch(/too-many-feeds$/);
    expect((await first).status).toBe(202);
  } finally {
    await locker.end();
  }
}, 60_000);

test('when every pooled connection is busy, then a read answers 503 with a problem and /readyz still answers', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let held = 0;
  const holders = Array.from({ length: 6 }, () =>
    t.gw.db.tx(async () => {
      held++;
      await gate;
    }),
  );
  try {
    while (held < 6) await new Promise((r) => setTimeout(r, 10));
    // The axios timeout only ends a request a gateway without the fix would leave hanging.
    const get = (path: string, headers: Record<string, string> = {}) =>
      axios.get(`${t.baseUrl}${path}`, { headers, timeout: 20_000, validateStatus: () => true });
    const [read, ready] = await Promise.all([
      get(`/v1/messages/${crypto.randomUUID()}`, { authorization: `Bearer ${TEST_CLIENTS.agency.token}` }),
      get('/readyz'),
    ]);
    expect(read.status).toBe(503);
    expect(read.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(ready.status).toBe(200);
  } finally {
    release();
    await Promise.all(holders);
  }
}, 60_000);
