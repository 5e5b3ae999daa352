/**
 * Express app assembly: request ids, request logs (request-log.ts), rate limits, the feature
 * routers, and the one error handler. Features add their routers here; routes stay thin and call
 * services.
 */
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
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
  app.use(exactPostRoutes([...p.publicRouters, ...p.apiRouters]));
  for (const r of p.publicRouters) app.use(r);
  for (const r of p.apiRouters) app.use(r);
  app.use(notFoundHandler);
  app.use(errorHandler(p.log));
  return app;
}

/** What exactPostRoutes reads of a router's layers (router's Layer and Route; not in its types). */
interface LayerShape {
  route?: { path: unknown; methods: Record<string, boolean>; stack: { method?: string; handle: Handler }[] };
  match(path: string): unknown;
}
type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

/**
 * The POST routes of fixed paths (the signed writes), reached by one map lookup instead of walking
 * every router mounted before them layer by layer (the router's walk was ~5 % of a signed
 * payment's CPU in the API process). Only where the walk would end at the same handler anyway: the
 * route is its router's first layer that matches its path, no layer of an earlier router matches
 * that path, and it has one handler, for POST only. A request is handled as the route would handle
 * it (req.route set, errors to the error handler); any other request takes the usual way.
 */
function exactPostRoutes(routers: Router[]) {
  const routes = new Map<string, { route: NonNullable<LayerShape['route']>; handle: Handler }>();
  const earlier: LayerShape[] = [];
  const candidates: { path: string; route: NonNullable<LayerShape['route']>; layers: LayerShape[] }[] = [];
  for (const r of routers) {
    const layers = (r as unknown as { stack: LayerShape[] }).stack;
    layers.forEach((l, i) => {
      const route = l.route;
      if (
        route &&
        typeof route.path === 'string' &&
        /^\/[\w/-]+$/.test(route.path) &&
        route.stack.length === 1 &&
        route.stack[0]!.method === 'post' &&
        Object.keys(route.methods).join() === 'post'
      )
        candidates.push({ path: route.path, route, layers: [...earlier, ...layers.slice(0, i)] });
    });
    earlier.push(...layers);
  }
  for (const c of candidates)
    if (!c.layers.some((l) => l.match(c.path)))
      routes.set(c.path, { route: c.route, handle: c.route.stack[0]!.handle });
  return (req: Request, res: Response, next: NextFunction) => {
    const hit = req.method === 'POST' ? routes.get(req.path) : undefined;
    if (!hit) return next();
    req.route = hit.route;
    req.params = {};
    try {
      const out = hit.handle(req, res, next);
      if (out instanceof Promise) out.catch((e: unknown) => next(e ?? new Error('Rejected promise')));
    } catch (e) {
      next(e);
    }
  };
}
