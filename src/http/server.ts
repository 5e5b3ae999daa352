/**
 * The HTTP server around the app, with the slow-client limits (issue 7 §4): the request headers must
 * arrive within GATEWAY_HEADERS_TIMEOUT_MS and the whole request within GATEWAY_REQUEST_TIMEOUT_MS,
 * else 408 and the connection is closed. main.ts and the tests start the server the same way.
 */
import http from 'node:http';
import type { Express } from 'express';

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

export function createServer(app: Express, limits: ServerLimits): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      // Node checks both timeouts on this interval (default 30 s): keep it well under the headers limit.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    app,
  );
  // Node's default (5 s) equals the idle timeout of Node's own keep-alive agent (and is below most
  // proxies' and HTTP clients'): a client reusing a pooled connection just as the server closes it
  // gets ECONNRESET — the long fuzzing run met it when signing a large body kept a connection idle
  // for a few seconds. The server must outlast its clients' idle connections.
  server.keepAliveTimeout = limits.keepAliveTimeoutMs ?? 65_000;
  return server;
}

/** Listen on `port` (0: any free port) at `host`; resolves once listening. */
export function listen(gw: { app: Express; cfg: ServerLimits }, port: number, host?: string): Promise<http.Server> {
  const server = createServer(gw.app, gw.cfg);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve(server);
    };
    if (host) server.listen(port, host, done);
    else server.listen(port, done);
  });
}
