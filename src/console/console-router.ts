/**
 * The ops console at /console: a static page (public/console) that calls the /v1 API with the bearer
 * token the operator pastes in, the cookie session for the pages that cannot send that header, and
 * bull-board at /console/queues for ops only.
 *
 * The console is its own small express app mounted under /console: it is a user interface, not part
 * of the exchange API, so its pages and its session endpoint are not rows of the OpenAPI document
 * (which lists the routes of the API routers only). Chart.js and the Chinese font (Noto Sans SC) are
 * served from node_modules: agency networks are closed, so nothing comes from a CDN.
 */
import express, { Router, type Express, type Request, type Response, type NextFunction } from 'express';
import path from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ClientRegistry } from '../http/clients';
import type { Queues } from '../queue/queues';
import { unauthorized, unsupportedMedia } from '../http/problem';
import { clearedSessionCookie, issueSession, requireOpsSession, sessionCookie } from './console-session';

/** The gateway's queues (ingest, benefit audit, matching re-checks, runs, notifications, deliveries). */
export const CONSOLE_QUEUES = ['ingest', 'benefits', 'recheck', 'reconciliation', 'notifications', 'deliveries'];

export const PUBLIC_DIR = path.resolve(__dirname, '..', '..', 'public', 'console');
// chart.js exports no package.json; its CommonJS entry lives in dist/, next to the UMD build the page loads.
const CHART_DIR = path.dirname(require.resolve('chart.js'));
// Noto Sans SC as a variable woff2 cut into ~100 unicode-range pieces (4.6 MB in all): a browser
// fetches only the pieces of the characters on the page, and only when no font of its own has them,
// so the Chinese labels render on a machine without a CJK font instead of as boxes.
const FONT_DIR = path.dirname(require.resolve('@fontsource-variable/noto-sans-sc/package.json'));

export interface ConsoleDeps {
  clients: ClientRegistry;
  queues: Queues;
  now: () => number;
  queueNames?: string[];
}

// The page loads nothing but its own files, and talks to nothing but this origin.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function pageHeaders(_req: Request, res: Response, next: NextFunction) {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

// bull-board's page links a Google Fonts stylesheet; this policy makes the browser drop it at once
// instead of waiting on a closed network (the board falls back to system fonts).
const BOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

function boardHeaders(_req: Request, res: Response, next: NextFunction) {
  res.setHeader('Content-Security-Policy', BOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

function queueBoard(deps: ConsoleDeps): Express {
  const adapter = new ExpressAdapter();
  adapter.setBasePath('/console/queues');
  createBullBoard({
    queues: (deps.queueNames ?? CONSOLE_QUEUES).map((name) => new BullMQAdapter(deps.queues.get(name))),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'HIFOB gateway' } },
  });
  return adapter.getRouter() as Express;
}

export function consoleApp(deps: ConsoleDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.post('/session', express.json({ limit: '4kb' }), (req, res) => {
    // JSON only: a cross-site form cannot send it without a preflight, so no other site can log a browser in.
    if (!req.is('application/json')) throw unsupportedMedia(['application/json']);
    const token = (req.body as { token?: unknown } | undefined)?.token;
    const client =
      typeof token === 'string' && /^[\x21-\x7E]{8,512}$/.test(token) ? deps.clients.byToken(token) : undefined;
    if (!client || typeof token !== 'string') {
      res.setHeader('Set-Cookie', clearedSessionCookie(req.secure));
      throw unauthorized('TOKEN_INVALID', { en: 'unknown token', zh: '令牌无效' });
    }
    res.setHeader('Set-Cookie', sessionCookie(issueSession(client, token, deps.now()), req.secure));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ client_id: client.client_id, role: client.role, scope: client.scope });
  });
  app.delete('/session', (req, res) => {
    res.setHeader('Set-Cookie', clearedSessionCookie(req.secure));
    res.status(204).end();
  });

  app.use('/queues', requireOpsSession(deps.clients, deps.now), boardHeaders, queueBoard(deps));

  app.use('/vendor/chart.js', pageHeaders, express.static(CHART_DIR, { index: false, maxAge: '1d' }));
  app.use('/vendor/noto-sans-sc', pageHeaders, express.static(FONT_DIR, { index: false, maxAge: '7d' }));
  // index.html is never cached, so a new gateway version is picked up by the next reload.
  app.use(
    pageHeaders,
    express.static(PUBLIC_DIR, {
      index: 'index.html',
      setHeaders: (res, file) => {
        if (file.endsWith('.html')) res.setHeader('Cache-Control', 'no-store');
      },
    }),
  );
  return app;
}

/** A public router (mounted before authentication: the page itself holds no data). */
export function consoleRouter(deps: ConsoleDeps): Router {
  const r = Router();
  r.use('/console', consoleApp(deps));
  return r;
}
