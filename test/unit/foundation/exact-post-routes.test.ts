/**
 * createApp's direct dispatch of fixed-path POST routes (src/http/app.ts): a request must be
 * answered by the handler the router walk would reach, with req.route set for the metrics, errors
 * through the error handler, and anything the walk would send elsewhere left to the walk.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import axios from 'axios';
import { Router } from 'express';
import { createApp } from '../../../src/http/app';
import { createLogger } from '../../../src/logging/logger';
import { unprocessable } from '../../../src/http/problem';

async function withApp(
  parts: { publicRouters: Router[]; apiRouters: Router[] },
  fn: (url: string, seen: string[]) => Promise<void>,
) {
  const seen: string[] = [];
  const app = createApp({
    log: createLogger('silent'),
    rateLimitPerSecond: 1000,
    onRequest: (route, method, status) => seen.push(`${method} ${route} ${status}`),
    ...parts,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const post = (url: string) => axios.post(url, {}, { validateStatus: () => true });

describe('fixed-path POST routes', () => {
  it('answer as the router would, with the route for the metrics and errors through the error handler', async () => {
    const api = Router();
    api.post('/v1/things', (_req, res) => void res.status(202).json({ ok: 'things' }));
    api.post('/v1/fails', async () => {
      await Promise.resolve();
      throw unprocessable([{ path: '/a', code: 'X', message: 'no' }]);
    });
    api.post('/v1/throws', () => {
      throw unprocessable([{ path: '/b', code: 'Y', message: 'no' }]);
    });
    await withApp({ publicRouters: [], apiRouters: [api] }, async (url, seen) => {
      const ok = await post(`${url}/v1/things`);
      expect([ok.status, ok.data]).toEqual([202, { ok: 'things' }]);
      const failed = await post(`${url}/v1/fails`);
      expect(failed.status).toBe(422);
      expect(failed.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(failed.data.errors).toEqual([expect.objectContaining({ path: '/a', code: 'X' })]);
      const thrown = await post(`${url}/v1/throws`);
      expect(thrown.status).toBe(422);
      expect(thrown.data.errors).toEqual([expect.objectContaining({ path: '/b', code: 'Y' })]);
      // The walk's other outcomes for the same routes: a trailing slash, another method.
      expect((await post(`${url}/v1/things/`)).status).toBe(202);
      expect((await axios.get(`${url}/v1/things`, { validateStatus: () => true })).status).toBe(404);
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([
        'POST /v1/things 202',
        'POST /v1/fails 422',
        'POST /v1/throws 422',
        'POST /v1/things 202',
        'GET unmatched 404',
      ]);
    });
  });

  it('leave a path to the walk when an earlier layer could take it', async () => {
    const pub = Router();
    pub.use('/v1/shadowed', (_req, res) => void res.status(200).json({ by: 'public' }));
    const first = Router();
    first.post('/v1/twice', (_req, res) => void res.status(200).json({ by: 'first' }));
    first.use((req, _res, next) => {
      (req as unknown as { mark: string }).mark = 'middleware';
      next();
    });
    const api = Router();
    api.post('/v1/shadowed', (_req, res) => void res.status(202).json({ by: 'api' }));
    api.post('/v1/twice', (_req, res) => void res.status(202).json({ by: 'second' }));
    api.post('/v1/after-middleware', (req, res) => void res.status(202).json({ mark: (req as any).mark }));
    await withApp({ publicRouters: [pub], apiRouters: [first, api] }, async (url) => {
      expect((await post(`${url}/v1/shadowed`)).data).toEqual({ by: 'public' });
      expect((await post(`${url}/v1/twice`)).data).toEqual({ by: 'first' });
      expect((await post(`${url}/v1/after-middleware`)).data).toEqual({ mark: 'middleware' });
    });
  });
});
