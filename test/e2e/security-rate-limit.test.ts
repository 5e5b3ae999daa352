/**
 * Rate limits are keyed on what was verified (issue 13): a client's budget is spent only by requests
 * that proved to be that client (signature or bearer), and traffic that proves nobody — unsigned,
 * badly signed, unknown tokens — spends the budget of the address it comes from. Each "attacker"
 * below sends from its own loopback address (127.0.0.x), so the tests do not share a budget.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import axios, { type AxiosResponse } from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS } from '../support/test-clients';
import * as fx from '../support/fixtures';

const PER_CLIENT = 5;
const PER_ADDRESS = 10;
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('security-rate-limit', {
    workers: false,
    env: {
      GATEWAY_RATE_LIMIT_PER_SECOND: String(PER_CLIENT),
      GATEWAY_RATE_LIMIT_UNVERIFIED_PER_SECOND: String(PER_ADDRESS),
    },
  });
});
afterAll(async () => {
  await t.close();
});

const agents: http.Agent[] = [];
afterAll(() => {
  for (const a of agents) a.destroy();
});
/** An HTTP client whose connections come from `address` (any 127.0.0.0/8 address is loopback on Linux). */
function from(address: string) {
  const agent = new http.Agent({ localAddress: address, keepAlive: true });
  agents.push(agent);
  return axios.create({ baseURL: t.baseUrl, httpAgent: agent, validateStatus: () => true, transformRequest: (d) => d });
}

/** An unsigned write claiming to be `clientId`, with a made-up signature (it proves nothing). */
function forged(client: ReturnType<typeof from>, clientId: string): Promise<AxiosResponse> {
  const wid = `msg_${crypto.randomUUID()}`;
  return client.post('/v1/insurer-payments', JSON.stringify(fx.payment({ payment_id: `PAY-${wid}` })), {
    headers: {
      'content-type': 'application/json',
      'x-client-id': clientId,
      'webhook-id': wid,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${crypto.randomBytes(32).toString('base64')}`,
    },
  });
}

test("when someone floods unsigned writes claiming a victim's x-client-id, then the victim's signed write is still accepted", async () => {
  const attacker = from('127.0.0.2');
  // More than the victim's whole budget, fewer than the attacker address's.
  const rs = await Promise.all(
    Array.from({ length: PER_ADDRESS - 1 }, () => forged(attacker, TEST_CLIENTS.insurerA.client_id)),
  );
  expect(rs.map((r) => r.status)).toEqual(rs.map(() => 401));
  const victim = await t.post('/v1/insurer-payments', fx.payment({ payment_id: 'PAY-VICTIM' }), 'insurerA');
  expect(victim.status).toBe(202);
});

test('when one address sends writes under a different x-client-id each time, then it is limited with 429 and Retry-After', async () => {
  const attacker = from('127.0.0.3');
  const rs: AxiosResponse[] = [];
  for (let i = 0; i < 3 * PER_ADDRESS; i++) rs.push(await forged(attacker, `client-${crypto.randomUUID()}`));
  const limited = rs.filter((r) => r.status === 429);
  expect(limited.length).toBeGreaterThan(0);
  expect(rs.every((r) => r.status === 401 || r.status === 429)).toBe(true);
  expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(limited[0]!.headers['content-type']).toContain('application/problem+json');
  expect(limited[0]!.data).toMatchObject({ status: 429 });
});

test('when one address tries unknown bearer tokens, then it is limited with 429', async () => {
  const attacker = from('127.0.0.4');
  const rs: AxiosResponse[] = [];
  for (let i = 0; i < 3 * PER_ADDRESS; i++)
    rs.push(
      await attacker.get('/v1/discrepancies', { headers: { authorization: `Bearer guess-${crypto.randomUUID()}` } }),
    );
  expect(rs.some((r) => r.status === 429)).toBe(true);
});

test('when verified clients send more requests than the address budget from one address, then none is charged to the address', async () => {
  // Sequential bearer reads of four clients, each within its own budget: each request proves its
  // client, so the address budget (PER_ADDRESS, half the requests) is never touched.
  const client = from('127.0.0.5');
  const who = ['ops', 'agency', 'agencyOther', 'hospital1'] as const;
  const statuses: number[] = [];
  for (let i = 0; i < who.length * PER_CLIENT; i++) {
    statuses.push(
      (
        await client.get('/v1/discrepancies', {
          headers: { authorization: `Bearer ${TEST_CLIENTS[who[i % who.length]!].token}` },
        })
      ).status,
    );
  }
  expect(statuses).toEqual(statuses.map(() => 200));
});

test('when a verified client exceeds its own budget, then 429 with Retry-After, while another client is unaffected', async () => {
  const client = from('127.0.0.6');
  const rs = await Promise.all(
    Array.from({ length: 4 * PER_CLIENT }, () =>
      client.get('/v1/discrepancies', { headers: { authorization: `Bearer ${TEST_CLIENTS.insurerB.token}` } }),
    ),
  );
  const limited = rs.find((r) => r.status === 429);
  expect(limited).toBeDefined();
  expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(
    (await client.get('/v1/discrepancies', { headers: { authorization: `Bearer ${TEST_CLIENTS.hospital2.token}` } }))
      .status,
  ).toBe(200);
});
