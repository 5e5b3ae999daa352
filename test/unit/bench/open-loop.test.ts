/**
 * The latency benchmark's load (bench/lib/open-loop.ts): requests go out at their due instants
 * whatever the server does, and a request's latency counts from its due instant — so a slow server
 * shows as latency, not as a lower rate (the closed loop the benchmark used before hid it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openLoop } from '../../../bench/lib/open-loop';

let server: http.Server;
let url: string;
/** performance.now() of each request's arrival at the server. */
const arrivals: number[] = [];
let answerAfterMs = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '';
      if (path === '/hang-up') return req.socket.destroy();
      setTimeout(() => {
        res.statusCode = path === '/refuse' ? 429 : 202;
        res.end('{}');
      }, answerAfterMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  arrivals.length = 0;
});

const body = () => ({ body: '{"a":1}', headers: { 'content-type': 'application/json' } });
const load = (path: string, rate: number, total: number, connections: number) =>
  openLoop({ url, path, rate, total, connections, timeoutMs: 5_000, request: body });

test('requests arrive at the rate asked for even when every answer takes longer than the interval', async () => {
  answerAfterMs = 150;
  const t0 = performance.now();
  const r = await load('/pay', 200, 40, 64);
  expect(r.latenciesMs).toHaveLength(40);
  expect(r.statuses).toEqual({ '202': 40 });
  // 40 requests at 200/s are all sent within ~195 ms, though none was answered before 150 ms.
  expect(Math.max(...arrivals) - t0).toBeLessThan(400);
  const median = [...r.latenciesMs].sort((a, b) => a - b)[20]!;
  expect(median).toBeGreaterThanOrEqual(145);
});

test('when the connections run out, the wait counts in the latency from the due instant', async () => {
  answerAfterMs = 100;
  const r = await load('/pay', 100, 10, 1);
  // One connection answers one request a 100 ms: the tenth, due at 90 ms, is answered at ~1,000 ms.
  expect(Math.max(...r.latenciesMs)).toBeGreaterThan(800);
});

test('answers other than 2xx and connections cut off are counted, and the load still ends', async () => {
  answerAfterMs = 0;
  const refused = await load('/refuse', 500, 5, 4);
  expect(refused.non2xx).toBe(5);
  expect(refused.statuses).toEqual({ '429': 5 });
  const cut = await load('/hang-up', 500, 3, 4);
  expect(cut.errors).toBe(3);
  expect(cut.latenciesMs).toHaveLength(0);
});
