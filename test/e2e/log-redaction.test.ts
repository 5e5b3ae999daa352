import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import crypto from 'node:crypto';
import axios from 'axios';
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../../src/config/config';
import { buildGateway, type Gateway } from '../../src/composition-root';
import { createLogger } from '../../src/logging/logger';
import { createTestDatabase } from '../support/test-db';
import { REDIS_URL, obliterateQueues } from '../support/test-gateway';
import { TEST_CLIENTS, testClientRegistry, type TestClientName } from '../support/test-clients';
import { batch, payment, settlement } from '../support/fixtures';

/** Every log line the gateway writes during a small full run: API, relay and workers. */
const lines: string[] = [];
const memory = new Writable({
  write(chunk, _enc, cb) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    cb();
  },
});

let gw: Gateway;
let server: Server;
let baseUrl: string;
let db: { url: string; drop: () => Promise<void> };
const prefix = `gwt-log-redaction-${process.pid}`;
const requestIds: string[] = [];

async function post(path: string, body: unknown, as: TestClientName, contentType = 'application/json') {
  const c = TEST_CLIENTS[as];
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const id = `msg_${crypto.randomUUID()}`;
  const requestId = `req-${crypto.randomUUID()}`;
  requestIds.push(requestId);
  const res = await axios.post(baseUrl + path, raw, {
    validateStatus: () => true,
    transformRequest: (d) => d,
    headers: {
      'content-type': contentType,
      'x-client-id': c.client_id,
      'x-request-id': requestId,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': new Webhook(c.secret).sign(id, new Date(), raw),
    },
  });
  return res;
}

async function drain() {
  for (;;) {
    const { rows } = await gw.db.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM messages WHERE status IN ('accepted','processing')) + (SELECT count(*) FROM outbox WHERE relayed_at IS NULL) AS n`,
    );
    if (Number(rows[0]!.n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  db = await createTestDatabase('log-redaction');
  const cfg = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    GATEWAY_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'trace',
    GATEWAY_OUTBOX_POLL_MS: '200',
  });
  gw = await buildGateway(cfg, { clients: testClientRegistry(), log: createLogger('trace', memory) });
  gw.relay.start();
  gw.startWorkers();
  server = await new Promise((resolve) => {
    const s = gw.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const people = [
    settlement(),
    settlement({
      setl_id: 'S0002',
      mdtrt_id: 'M0002',
      psn_no: 'P0002',
      psn_name: '李四',
      certno: '11010519491231002X',
      setl_mode: 'manual',
    }),
  ];
  expect(
    (
      await post(
        '/v1/agency/settlements',
        people.map((s) => JSON.stringify(s)).join('\n'),
        'agency',
        'application/x-ndjson',
      )
    ).status,
  ).toBe(202);
  // A record with a bad certno is rejected: its error must not echo the number either.
  expect(
    (
      await post(
        '/v1/agency/settlements',
        { settlements: [settlement({ setl_id: 'S0003', certno: '110105194912310021', psn_name: '王五' })] },
        'agency',
      )
    ).status,
  ).toBe(422);
  expect((await post('/v1/settlement-batches', batch(), 'hospital1')).status).toBe(202);
  expect((await post('/v1/insurer-payments', payment(), 'insurerA')).status).toBe(202);
  await drain();
  await axios.get(`${baseUrl}/v1/discrepancies`, { headers: { authorization: `Bearer ${TEST_CLIENTS.ops.token}` } });
  await new Promise((r) => setTimeout(r, 100)); // let pino's last writes reach the stream
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await gw.close();
  await obliterateQueues(prefix);
  await db.drop();
});

describe('the logs of a full small run', () => {
  it('are JSON lines with request logs for every request', () => {
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const logged = lines.map((l) => JSON.parse(l)).filter((o) => o.req);
    for (const id of requestIds) expect(logged.some((o) => o.req.id === id)).toBe(true);
  });

  it('never contain an unmasked certno or psn_name', () => {
    const all = lines.join('\n');
    for (const secret of ['11010519491231002X', '110105194912310021', '张三', '李四', '王五'])
      expect(all).not.toContain(secret);
  });

  it('never contain a signing secret, its key, a signature or a bearer token', () => {
    const all = lines.join('\n');
    for (const c of Object.values(TEST_CLIENTS)) {
      expect(all).not.toContain(c.secret);
      expect(all).not.toContain(c.secret.slice('whsec_'.length));
      expect(all).not.toContain(c.token);
    }
    expect(all).not.toMatch(/v1,[A-Za-z0-9+/]{20,}/);
    expect(all).not.toMatch(/Bearer /i);
  });

  it('carry the request id into the worker lines of the message it caused', () => {
    const worker = lines.map((l) => JSON.parse(l)).filter((o) => o.msg === 'message processed');
    expect(worker.length).toBeGreaterThanOrEqual(3);
    for (const w of worker) {
      expect(w.message_id).toBeTruthy();
      expect(requestIds).toContain(w.request_id);
    }
  });
});
