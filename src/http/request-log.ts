/**
 * One log line per request, when it ends: `request completed` at info, `request errored` at error
 * for a 5xx — the lines pino-http wrote, with the same `req`/`res` shapes, so the redaction paths of
 * src/logging apply unchanged. Unlike pino-http it builds nothing per request unless the line's
 * level is enabled: pino-http made a child logger per request, serialising and redacting the
 * request's headers up front, which cost the signed-write path about 5% of its CPU at LOG_LEVEL=warn.
 */
import type { Express, Request, Response } from 'express';
import pino from 'pino';
import type { Logger } from '../logging/logger';

const { req: serializeReq, res: serializeRes } = pino.stdSerializers;

/** Requests not logged (probes and scrapes; a /readyz probe answering 503 without Redis was an ERROR line per probe). */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

declare module 'http' {
  interface IncomingMessage {
    /** A logger bound to this request (as pino-http's `req.log`), made on first use. */
    log: Logger;
  }
}

/**
 * `req.log` on the app's request prototype: a child logger bound to the request, made the first
 * time a handler asks for it (then kept on the request), so requests that never log pay nothing.
 */
export function bindRequestLoggers(app: Express, log: Logger): void {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request) {
      const child = log.child({ req: serializeReq(Object.assign(this, { id: this.res?.locals.requestId })) });
      Object.defineProperty(this, 'log', { value: child, configurable: true, writable: true });
      return child;
    },
  });
}

/** Call at the start of a request; `t0` is its start (process.hrtime.bigint()). */
export function logRequestEnd(log: Logger, req: Request, res: Response, requestId: string, t0: bigint): void {
  if (QUIET.has(req.url)) return;
  res.once('close', () => {
    const failed = res.statusCode >= 500;
    const level = failed ? 'error' : 'info';
    if (!log.isLevelEnabled(level)) return;
    Object.assign(req, { id: requestId });
    const responseTime = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
    log[level](
      { req: serializeReq(req), res: serializeRes(res), responseTime },
      failed ? 'request errored' : 'request completed',
    );
  });
}
