/**
 * Helpers for the notification e2e tests: webhook receivers on 127.0.0.1 started by the test, hand-made
 * discrepancies opened through the real case store, and bearer-authenticated calls of the ops API.
 */
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import axios, { type AxiosResponse } from 'axios';
import type { TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import { syncGroup } from '../../src/discrepancies/case-store';
import type { Finding } from '../../src/matching';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}
export interface Reply {
  status: number;
  headers?: Record<string, string>;
}
export type Responder = (r: Received, n: number) => Reply | Promise<Reply>;

export interface Receiver {
  url: string;
  received: Received[];
  /** Change how the receiver answers from now on. */
  respond(r: Responder): void;
  /** Wait until at least `n` requests have arrived (or throw after `ms`). */
  waitFor(n: number, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * The receivers listen on loopback, which the gateway refuses to reach unless ops allow it (SSRF,
 * destination-guard.ts): test gateways that deliver to them allow that host the production way.
 */
export const RECEIVER_HOST = '127.0.0.1';
export const ALLOW_RECEIVERS_ENV = { GATEWAY_SUBSCRIBER_ALLOW_HOSTS: RECEIVER_HOST };

export async function startReceiver(
  initial: Responder = () => ({ status: 200 }),
  host = RECEIVER_HOST,
): Promise<Receiver> {
  let responder = initial;
  const received: Received[] = [];
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const r: Received = { id: String(req.headers['webhook-id']), headers: req.headers, body, json, at: Date.now() };
      received.push(r);
      void Promise.resolve(responder(r, received.length)).then((reply) => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/hook`,
    received,
    respond(r) {
      responder = r;
    },
    async waitFor(n, ms = 20_000) {
      await until(() => received.length >= n, ms, `${n} webhook(s) at the receiver (got ${received.length})`);
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Poll a condition (no timing asserted: the deadline only turns a hang into a readable failure). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Call the gateway's API with a client's bearer token. */
export function api(
  t: TestGateway,
  method: 'get' | 'post' | 'delete',
  path: string,
  as: TestClientName,
  body?: unknown,
): Promise<AxiosResponse> {
  return axios.request({
    method,
    url: `${t.baseUrl}${path}`,
    data: body,
    validateStatus: () => true,
    headers: {
      authorization: `Bearer ${TEST_CLIENTS[as].token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
  });
}

/** A finding as an evaluator would hand it over; each call a new settlement. */
export function finding(over: Partial<Finding<object>> = {}): Finding<object> {
  const setl = `S-${crypto.randomUUID().slice(0, 12)}`;
  return {
    code: 'OVERPAID',
    severity: 'critical',
    subject_key: `setl:${setl}`,
    admdvs: '533102',
    insurer_code: 'PICC_DH',
    fixmedins_code: 'H53310200001',
    period: '2025-03',
    setl_id: setl,
    expected_amount: '1000.00',
    actual_amount: '1500.00',
    difference: '500.00',
    detail: 'paid more than owed',
    evidence: { payment_ids: ['PAY-1'] },
    ...over,
  };
}

/** Open cases through the real store (as matching would), at `at`; returns the new case ids. */
export async function openCases(t: TestGateway, findings: Finding<object>[], at = new Date()): Promise<string[]> {
  const ids: string[] = [];
  for (const f of findings) {
    const r = await t.gw.db.tx((q) => syncGroup(q, f.subject_key, [f], at));
    ids.push(...r.opened);
  }
  t.gw.relay.kick();
  return ids;
}

/** Create a subscriber through the API as `as`; returns its id and secret. */
export async function subscribe(
  t: TestGateway,
  body: Record<string, unknown>,
  as: TestClientName = 'ops',
): Promise<{ id: string; secret: string }> {
  const r = await api(t, 'post', '/v1/subscribers', as, body);
  if (r.status !== 201) throw new Error(`subscriber not created: ${r.status} ${JSON.stringify(r.data)}`);
  return { id: r.data.id, secret: r.data.secret };
}

export async function deliveriesOf(t: TestGateway, subscriberId: string): Promise<any[]> {
  const { rows } = await t.gw.db.query('SELECT * FROM deliveries WHERE subscriber_id = $1 ORDER BY created_at, id', [
    subscriberId,
  ]);
  return rows;
}

/** Wait until the BullMQ job has finished (completed or failed) and return its state. */
export async function jobFinished(t: TestGateway, queue: string, jobId: string, ms = 20_000): Promise<string> {
  let state = '';
  await until(
    async () => {
      state = await t.gw.queues.get(queue).getJobState(jobId);
      return state === 'completed' || state === 'failed';
    },
    ms,
    `job ${jobId} in ${queue}`,
  );
  return state;
}
