/**
 * An open-loop load: request i is sent at start + i / rate whatever the answers before it did, over
 * up to `connections` keep-alive connections (more requests in flight wait in the agent's queue), and
 * its latency is counted from the instant it was due, not from when it went out. This is what "1,000
 * payments a second arriving" means. autocannon's `overallRate` is closed-loop: each connection sends
 * its share of a second one request after another, so when answers slow down the connections simply
 * send less, the rate the server sees drops with them and the latency of what was not sent is never
 * counted (coordinated omission; bench/RESULTS.md, matching latency, eighth pass).
 */
import http from 'node:http';

export interface OpenLoopOptions {
  url: string;
  path: string;
  /** Requests a second. */
  rate: number;
  total: number;
  /** Most connections at once. */
  connections: number;
  timeoutMs: number;
  request: (i: number) => { body: string; headers: Record<string, string> };
}

export interface OpenLoopResult {
  /** Due instant → response read, ms, one per answered request. */
  latenciesMs: number[];
  statuses: Record<string, number>;
  non2xx: number;
  errors: number;
  /** The last request's due instant → the last answer, ms. */
  spanMs: number;
  /** Most a request went out after its due instant, ms (the load generator's own lag). */
  maxSendLagMs: number;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const u = new URL(o.url);
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let maxSendLagMs = 0;
  const interval = 1000 / o.rate;
  const start = performance.now();
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve) => {
    const settle = () => {
      if (++done === o.total) resolve();
    };
    const send = (i: number) => {
      const due = start + i * interval;
      maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
      const { body, headers } = o.request(i);
      let settled = false;
      const fail = () => {
        if (settled) return;
        settled = true;
        errors++;
        settle();
      };
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: o.path,
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          res.resume();
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            settled = true;
            latenciesMs.push(performance.now() - due);
            const code = String(res.statusCode);
            statuses[code] = (statuses[code] ?? 0) + 1;
            if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) non2xx++;
            settle();
          });
        },
      );
      req.setTimeout(o.timeoutMs, () => req.destroy(new Error('timed out')));
      req.on('error', fail);
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (next < o.total && start + next * interval <= now) send(next++);
      if (next < o.total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  const spanMs = performance.now() - (start + (o.total - 1) * interval);
  agent.destroy();
  return { latenciesMs, statuses, non2xx, errors, spanMs, maxSendLagMs };
}
