/**
 * Express app assembly: request ids, request logs (request-log.ts), rate limits, the feature
 * routers, and the one error handler. Features add their routers here; routes stay thin and call
 * services.
 */
import express, { type Express, type Router } from 'express';
import crypto from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from '../logging/logger';
import { errorHandler, notFoundHandler } from './error-handler';
import { tooManyRequests } from './problem';
import { bindRequestLoggers, logRequestEnd } from './request-log';

export interface AppParts {
  log: Logger;
  rateLimitPerSecond: number;
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
    res.on('finish', () => p.onRequest?.(req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched', req.method, res.statusCode, Number(process.hrtime.bigint() - t0) / 1e9));
    logRequestEnd(p.log, req, res, requestId, t0);
    next();
  });
  for (const r of p.publicRouters) app.use(r);
  // Per-client rate limit (spec §1: 429 with Retry-After). Keyed by the claimed client id or token
  // hash prefix; unauthenticated floods share one bucket per address.
  const limiter = new RateLimiterMemory({ points: p.rateLimitPerSecond, duration: 1 });
  app.use('/v1', (req, _res, next) => {
    const who = (req.headers['x-client-id'] as string | undefined) ?? (req.headers.authorization ? crypto.createHash('sha256').update(req.headers.authorization).digest('hex').slice(0, 16) : req.ip ?? 'anon');
    limiter.consume(who).then(() => next(), (r: { msBeforeNext?: number }) => next(tooManyRequests(Math.max(1, Math.ceil((r.msBeforeNext ?? 1000) / 1000)))));
  });
  for (const r of p.apiRouters) app.use(r);
  app.use(notFoundHandler);
  app.use(errorHandler(p.log));
  return app;
}
