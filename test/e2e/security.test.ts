/**
 * SECURITY (issue 7 of 7 §4), beyond what ingest.test.ts and fuzz.test.ts already cover (unsigned,
 * wrong secret, stale/future timestamps, webhook-id reuse with another body, role and write scope,
 * 413/415/400): truncated and forged signatures, a replayed webhook-id, wrong-scope reads, an
 * institution posting for another one, the feed size limit, slow clients (headers and body
 * timeouts), the per-client rate limit, and a scan of every log line, notification and job payload
 * of a full generated month for personal data and secrets.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import http from 'node:http';
import { Writable } from 'node:stream';
import crypto from 'node:crypto';
import axios from 'axios';
import IORedis from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { loadConfig, queueKeyPrefix } from '../../src/config/config';
import { buildGateway, type Gateway } from '../../src/composition-root';
import { createLogger } from '../../src/logging/logger';
import { listen } from '../../src/http/server';
import { createSubscriber } from '../../src/notifications/subscriber-store';
import { createTestDatabase } from '../support/test-db';
import { REDIS_URL, obliterateQueues, startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, testClientRegistry, type TestClientName } from '../support/test-clients';
import { batchOf, generateMonth, paymentOf, record } from '../support/month-generator';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH';
const CERTNO = /\d{17}[\dXx]/;
const NAMES = ['李四', '张三'];

/** Every log line of the main gateway (API, relay, workers), and every webhook the subscriber got. */
const lines: string[] = [];
const memory = new Writable({
  write(chunk, _enc, cb) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    cb();
  },
});
const notifications: string[] = [];

let gw: Gateway;
let server: Server;
let receiver: Server;
let baseUrl: string;
let db: { url: string; drop: () => Promise<void> };
const prefix = `gwt-security-${process.pid}`;
/** A second gateway with a tiny rate limit, short slow-client limits and a small feed limit. */
let limits: TestGateway;
let slowServer: Server;

interface PostOpts {
  webhookId?: string;
  secret?: string;
  signature?: string;
  raw?: string;
  headers?: Record<string, string>;
  unsigned?: boolean;
}
async function post(path: string, body: unknown, as: TestClientName, o: PostOpts = {}) {
  const c = TEST_CLIENTS[as];
  const raw = o.raw ?? JSON.stringify(body);
  const id = o.webhookId ?? `msg_${crypto.randomUUID()}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-client-id': c.client_id,
    ...o.headers,
  };
  if (!o.unsigned) {
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(Math.floor(Date.now() / 1000));
    headers['webhook-signature'] = o.signature ?? new Webhook(o.secret ?? c.secret).sign(id, new Date(), raw);
  }
  return axios.post(baseUrl + path, raw, { validateStatus: () => true, transformRequest: (d) => d, headers });
}
const get = (path: string, as: TestClientName | null, base = baseUrl) =>
  axios.get(base + path, {
    validateStatus: () => true,
    headers: as ? { authorization: `Bearer ${TEST_CLIENTS[as].token}` } : {},
  });

async function drain(ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const { rows } = await gw.db.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM messages WHERE status IN ('accepted','processing')) + (SELECT count(*) FROM outbox WHERE relayed_at IS NULL) AS n`,
    );
    if (Number(rows[0]!.n) === 0) return;
    if (Date.now() > until) throw new Error('messages still pending');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const month = generateMonth(7, 40);

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifications.push(JSON.stringify(req.headers) + Buffer.concat(chunks).toString());
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));

  db = await createTestDatabase('security');
  const cfg = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    GATEWAY_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'trace',
    GATEWAY_OUTBOX_POLL_MS: '200',
    GATEWAY_SUBSCRIBER_ALLOW_HOSTS: '127.0.0.1',
  });
  gw = await buildGateway(cfg, { clients: testClientRegistry(), log: createLogger('trace', memory) });
  await createSubscriber(
    gw.db,
    {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      format: 'json',
      filter: {},
      enabled: true,
    },
    null,
    new Date(),
  );
  gw.relay.start();
  gw.startWorkers();
  server = await listen(gw, 0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  for (const m of month) {
    const r = await post(m.path, m.body, m.as);
    if (r.status !== 202) throw new Error(`${m.path}: ${r.status} ${JSON.stringify(r.data).slice(0, 300)}`);
  }
  await drain();

  limits = await startTestGateway('security-limits', {
    workers: false,
    env: {
      GATEWAY_RATE_LIMIT_PER_SECOND: '5',
      GATEWAY_HEADERS_TIMEOUT_MS: '1000',
      GATEWAY_REQUEST_TIMEOUT_MS: '2000',
      GATEWAY_MAX_FEED_BYTES: '4096',
    },
  });
  slowServer = await listen(limits.gw, 0, '127.0.0.1');
}, 240_000);

afterAll(async () => {
  await new Promise((r) => slowServer?.close(r));
  await limits?.close();
  await new Promise((r) => server?.close(r));
  await gw?.close();
  await obliterateQueues(prefix);
  await db?.drop();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

describe('signatures and replays', () => {
  const body = () =>
    paymentOf(
      PICC,
      `PAY-SEC-${crypto.randomUUID().slice(0, 8)}`,
      { type: 'institution', id: H1 },
      '2025-04-15T10:00:00+08:00',
      [{ setl_id: 'G000', paid: '1.00' }],
    );

  test('when the signature is truncated, empty or only a version tag, then 401', async () => {
    const b = body();
    const raw = JSON.stringify(b);
    const id = `msg_${crypto.randomUUID()}`;
    const full = new Webhook(TEST_CLIENTS.insurerA.secret).sign(id, new Date(), raw);
    for (const signature of [full.slice(0, full.length - 8), full.slice(0, 10), 'v1,', 'v1', '']) {
      expect((await post('/v1/insurer-payments', b, 'insurerA', { webhookId: id, raw, signature })).status).toBe(401);
    }
  });

  test('when a valid signature of one body is sent with another body, then 401', async () => {
    const signedRaw = JSON.stringify(body());
    const id = `msg_${crypto.randomUUID()}`;
    const signature = new Webhook(TEST_CLIENTS.insurerA.secret).sign(id, new Date(), signedRaw);
    expect(
      (await post('/v1/insurer-payments', null, 'insurerA', { webhookId: id, raw: JSON.stringify(body()), signature }))
        .status,
    ).toBe(401);
  });

  test("when a client claims another client's id with its own secret, then 401", async () => {
    expect(
      (await post('/v1/insurer-payments', body(), 'insurerA', { secret: TEST_CLIENTS.insurerB.secret })).status,
    ).toBe(401);
  });

  test('when a write carries only a bearer token and no signature, then 401', async () => {
    const r = await post('/v1/insurer-payments', body(), 'insurerA', {
      unsigned: true,
      headers: { authorization: `Bearer ${TEST_CLIENTS.insurerA.token}` },
    });
    expect(r.status).toBe(401);
  });

  test('when the same webhook-id is replayed with the same body, then it is the same message, counted once', async () => {
    const b = body();
    const id = `msg_${crypto.randomUUID()}`;
    const first = await post('/v1/insurer-payments', b, 'insurerA', { webhookId: id });
    const again = await post('/v1/insurer-payments', b, 'insurerA', { webhookId: id });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.data).toMatchObject({ message_id: first.data.message_id, duplicate: true });
    const n = await gw.db.query<{ n: string }>('SELECT count(*) AS n FROM payments WHERE payment_id = $1', [
      b.payment_id,
    ]);
    expect(n.rows[0]!.n).toBe('1');
  });
});

describe('write scope', () => {
  test('when an institution posts a declaration for another institution, then 403', async () => {
    const s = record('SEC-W1', { fixmedins: H2, insurer: PICC, hifob: '100.00' });
    expect((await post('/v1/settlement-batches', batchOf('B-SEC-OTHER', H2, PICC, [{ s }]), 'hospital1')).status).toBe(
      403,
    );
  });

  test("when an insurer posts a payment in another insurer's name, then 403", async () => {
    const p = paymentOf(PICC, 'PAY-SEC-OTHER', { type: 'institution', id: H1 }, '2025-04-15T10:00:00+08:00', [
      { setl_id: 'G000', paid: '1.00' },
    ]);
    expect((await post('/v1/insurer-payments', p, 'insurerB')).status).toBe(403);
  });
});

describe('read scope', () => {
  const picc = () =>
    month
      .flatMap((m) =>
        m.kind === 'agency_settlements'
          ? (m.body as { settlements: { setl_id: string; insurer_code: string; fixmedins_code: string }[] }).settlements
          : [],
      )
      .find((s) => s.insurer_code === PICC && s.fixmedins_code === H1)!;

  test('when an insurer lists discrepancies, then it sees only its own, even when it filters for another insurer', async () => {
    const own = await get('/v1/discrepancies?limit=1000', 'insurerB');
    expect(own.status).toBe(200);
    expect(own.data.items.length).toBeGreaterThan(0);
    expect(new Set(own.data.items.map((d: { insurer_code: string }) => d.insurer_code))).toEqual(new Set(['CPIC_DH']));
    const other = await get(`/v1/discrepancies?insurer_code=${PICC}`, 'insurerB');
    expect(other.status === 200 ? other.data.items : []).toEqual([]);
  });

  test("when an insurer asks for another insurer's discrepancy or settlement by id, then 404 as if it did not exist", async () => {
    const { rows } = await gw.db.query<{ id: string }>(`SELECT id FROM discrepancies WHERE insurer_code = $1 LIMIT 1`, [
      PICC,
    ]);
    expect((await get(`/v1/discrepancies/${rows[0]!.id}`, 'insurerA')).status).toBe(200);
    expect((await get(`/v1/discrepancies/${rows[0]!.id}`, 'insurerB')).status).toBe(404);
    const s = picc();
    expect((await get(`/v1/settlements/${s.setl_id}`, 'insurerA')).status).toBe(200);
    expect((await get(`/v1/settlements/${s.setl_id}`, 'insurerB')).status).toBe(404);
  });

  test("when an institution reads another institution's settlement or cases, then it gets nothing", async () => {
    const s = picc();
    expect((await get(`/v1/settlements/${s.setl_id}`, 'hospital1')).status).toBe(200);
    expect((await get(`/v1/settlements/${s.setl_id}`, 'hospital2')).status).toBe(404);
    const list = await get('/v1/discrepancies?limit=1000', 'hospital2');
    expect(list.data.items.every((d: { fixmedins_code: string | null }) => d.fixmedins_code === H2)).toBe(true);
  });

  test('when a read has no token or a made-up one, then 401', async () => {
    expect((await get('/v1/discrepancies', null)).status).toBe(401);
    const r = await axios.get(`${baseUrl}/v1/discrepancies`, {
      validateStatus: () => true,
      headers: { authorization: 'Bearer tok-not-a-client-0000' },
    });
    expect(r.status).toBe(401);
  });
});

/** Write `parts` to a raw connection and return what the server answers before closing it. */
function rawExchange(port: number, parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => {
      got += d.toString();
    });
    sock.on('close', () => resolve(got));
    sock.on('error', (e) => (got ? resolve(got) : reject(e)));
    sock.on('connect', () => {
      for (const p of parts) sock.write(p);
    });
  });
}

describe('limits', () => {
  const port = () => (slowServer.address() as AddressInfo).port;

  test('when a client sends its headers too slowly, then 408 and the connection is closed', async () => {
    const answer = await rawExchange(port(), [
      'POST /v1/insurer-payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n',
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  test('when a client sends its body too slowly, then 408 and the connection is closed', async () => {
    const answer = await rawExchange(port(), [
      `POST /v1/insurer-payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-client-id: ${TEST_CLIENTS.insurerA.client_id}\r\nwebhook-id: msg_slow\r\nwebhook-timestamp: ${Math.floor(Date.now() / 1000)}\r\nwebhook-signature: v1,AAAA\r\nContent-Length: 1000\r\n\r\n{"insurer_code":`,
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  test('when an agency feed is larger than GATEWAY_MAX_FEED_BYTES, then 413', async () => {
    const settlements = Array.from({ length: 20 }, (_, i) =>
      record(`SEC-BIG-${i}`, { fixmedins: H1, insurer: PICC, hifob: '100.00' }),
    );
    const r = await limits.post('/v1/agency/settlements', { settlements }, 'agency');
    expect(r.status).toBe(413);
  });

  test('when one client exceeds its rate, then 429 with Retry-After, while another client is unaffected', async () => {
    let limited: { status: number; headers: Record<string, unknown> } | undefined;
    for (let burst = 0; burst < 20 && !limited; burst++) {
      const rs = await Promise.all(Array.from({ length: 20 }, () => limits.get('/v1/discrepancies', 'insurerA')));
      limited = rs.find((r) => r.status === 429);
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await limits.get('/v1/discrepancies', 'insurerB')).status).toBe(200);
  });
});

describe('a scan of the full run for personal data and secrets', () => {
  const secrets = Object.values(TEST_CLIENTS).flatMap((c) => [
    c.secret,
    c.token,
    c.secret.slice('whsec_'.length),
    ...('oldSecret' in c ? [c.oldSecret] : []),
  ]);
  const clean = (where: string, texts: string[]) => {
    expect(texts.length).toBeGreaterThan(0);
    for (const s of texts) {
      const leak =
        CERTNO.exec(s)?.[0] ??
        NAMES.find((n) => s.includes(n)) ??
        (s.includes('whsec_') ? 'whsec_' : undefined) ??
        secrets.find((x) => s.includes(x));
      if (leak) throw new Error(`${where} leaks "${leak.slice(0, 6)}…": ${s.slice(0, 300)}`);
    }
  };

  test('the run did produce critical notifications, worker logs and jobs to scan', async () => {
    const until = Date.now() + 60_000;
    while (notifications.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(notifications.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('"message_id"'))).toBe(true);
  }, 70_000);

  test('no log line carries an unmasked ID number, a name or a secret', () => {
    clean('log', lines);
  });

  test('no notification (as sent, and as stored) carries one', async () => {
    clean('notification', notifications);
    const { rows } = await gw.db.query<{ body: string }>('SELECT body FROM deliveries');
    clean(
      'stored delivery',
      rows.map((r) => r.body),
    );
  });

  test('no outbox payload or BullMQ job (data, options, results) carries one', async () => {
    const outbox = await gw.db.query<{ payload: unknown }>('SELECT payload FROM outbox');
    clean(
      'outbox payload',
      outbox.rows.map((r) => JSON.stringify(r.payload)),
    );
    const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const jobs: string[] = [];
    try {
      let cursor = '0';
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${queueKeyPrefix(prefix)}:*`, 'COUNT', 1000);
        for (const k of keys) if ((await redis.type(k)) === 'hash') jobs.push(JSON.stringify(await redis.hgetall(k)));
        cursor = next;
        if (cursor === '0') break;
      }
    } finally {
      redis.disconnect();
    }
    clean('job', jobs);
  });
});
