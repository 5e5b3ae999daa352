/**
 * Express app assembly: request ids, request logs (request-log.ts), rate limits, the feature
 * routers, and the one error handler. Features add their routers here; routes stay thin and call
 * services.
 */
import express, { type Express, type Router } from 'express';
import crypto from 'node:crypto';
import type { Logger } from '../logging/logger';
import { errorHandler, notFoundHandler } from './error-handler';
import { RateLimits } from './rate-limit';
import { bindRequestLoggers, logRequestEnd } from './request-log';

export interface AppParts {
  log: Logger;
  /** Requests per verified client per second. */
  rateLimitPerSecond: number;
  /** Requests per remote address per second that prove no client (rate-limit.ts); default 200. */
  unverifiedRateLimitPerSecond?: number;
  /** Unauthenticated routes (health, docs) mounted first. */
  publicRouters: Router[];
  /** Authenticated API routers. */
  apiRouters: Router[];
  onRequest?: (route: string, method: string, status: number, seconds: number) => void;
}

export function createApp(p: AppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  bindRequestLoggers(app, p.log);
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const requestId: string = typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const t0 = process.hrtime.bigint();
    res.on('finish', () =>
      p.onRequest?.(
        req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched',
        req.method,
        res.statusCode,
        Number(process.hrtime.bigint() - t0) / 1e9,
      ),
    );
    logRequestEnd(p.log, req, res, requestId, t0);
    next();
  });
  // Rate limits (spec §1: 429 with Retry-After) keyed on what was verified: the remote address
  // until a request proves its client, then that client (rate-limit.ts). The console's sign-in
  // checks a token too, so guessing there spends the address's budget as well.
  const limits = new RateLimits({
    perClientPerSecond: p.rateLimitPerSecond,
    unverifiedPerAddressPerSecond: p.unverifiedRateLimitPerSecond ?? 200,
  });
  app.use(['/v1', '/console/session'], limits.middleware());
  for (const r of p.publicRouters) app.use(r);
  for (const r of p.apiRouters) app.use(r);
  app.use(notFoundHandler);
  app.use(errorHandler(p.log));
  return app;
}
