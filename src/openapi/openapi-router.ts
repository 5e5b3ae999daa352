/**
 * GET /openapi.json and GET /docs (spec §5). Swagger UI's assets come from the swagger-ui-dist
 * package on this server — no CDN, so the docs work on the closed networks agencies run on.
 */
import express, { Router, type Express, type NextFunction, type Request, type Response } from 'express';
import path from 'node:path';
import { buildOpenApiDocument } from './build-document';
import { appRoutes } from './app-routes';

const ASSETS = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const INDEX_HTML = `<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="UTF-8">
    <title>HIFOB exchange gateway · API</title>
    <link rel="stylesheet" type="text/css" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/assets/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/init.js" charset="UTF-8"></script>
  </body>
</html>
`;

// A file rather than an inline script, so a strict Content-Security-Policy in front still works.
const DOCS_DIR = path.resolve(__dirname, '..', '..', 'docs');
/** A page of docs/ as plain text, at exactly the path it is mounted on. */
function guidePage(file: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path !== '/') return next();
    res.type('text/plain; charset=utf-8').sendFile(path.join(DOCS_DIR, file));
  };
}

const INIT_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout',
  });
};
`;

/** `app` is read when the document is first asked for: by then every router is mounted. */
export function openApiRouter(app: () => Express, version?: string): Router {
  const r = Router();
  let doc: string | undefined;
  r.get('/openapi.json', (_req, res) => {
    doc ??= JSON.stringify(buildOpenApiDocument({ served: appRoutes(app()), version }));
    res.type('application/json').send(doc);
  });
  r.get('/docs', (_req, res) => {
    res.type('text/html').send(INDEX_HTML);
  });
  // Assets are mounted with use(), not routes: they are files, not endpoints of the API.
  r.use('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT_JS);
  });
  r.use('/docs/assets', express.static(ASSETS, { index: false, fallthrough: true, maxAge: '1d' }));
  // The integration guide and the error codes (the `type` of every problem links here), from docs/.
  r.use('/docs/guide', guidePage('integration-guide.md'));
  r.use('/docs/problems', guidePage('problems.md'));
  return r;
}
