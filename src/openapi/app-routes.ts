/**
 * The routes an express 5 app actually serves, read from its router stack (recursing into mounted
 * routers), so the document and its test follow whatever routers are mounted at the time.
 */
import type { Express } from 'express';

export interface ServedRoute {
  method: string;
  path: string;
}

interface LayerLike {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[]; router?: { stack?: LayerLike[] } };
  rawPath?: unknown;
}

/** Mounted UIs whose routes are the UI's own internals, not endpoints of this API (bull-board). */
const THIRD_PARTY_UIS = ['/console/queues'];

export function appRoutes(app: Express): ServedRoute[] {
  const out: ServedRoute[] = [];
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const [m, on] of Object.entries(layer.route.methods))
            if (on && m !== '_all') out.push({ method: m.toLowerCase(), path: join(prefix, p) });
        }
      } else if (layer.handle?.stack || layer.handle?.router?.stack) {
        // A mounted router or sub-app: `app.use(r)` has rawPath '/', `app.use('/v1', r)` has '/v1'.
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        const at = join(prefix, mount);
        if (THIRD_PARTY_UIS.some((p) => at.startsWith(p))) continue;
        walk((layer.handle.stack ?? layer.handle.router?.stack)!, at);
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(`${r.method} ${r.path}`) && !!seen.add(`${r.method} ${r.path}`));
}

function join(a: string, b: string): string {
  return a.replace(/\/$/, '') + b || '/';
}

/** express `/v1/settlements/:setl_id` → OpenAPI `/v1/settlements/{setl_id}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

/** A key that ignores parameter names, so `{id}` and `{message_id}` in the same place match. */
export function pathShape(p: string): string {
  return p.replace(/\{\w+\}|:\w+/g, '{}');
}
