import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { appRoutes, pathShape, toOpenApiPath } from '../../src/openapi/app-routes';
import { ENDPOINTS } from '../../src/openapi/endpoints';
import { EXAMPLES } from '../../src/openapi/examples';
import { SINGLE_KINDS } from '../../src/ingest/kinds';
import { SchemaValidator, type SchemaName } from '../../src/schemas/validator';

type Json = Record<string, any>;
let t: TestGateway;
let doc: Json;

beforeAll(async () => {
  t = await startTestGateway('openapi', { workers: false });
  const res = await t.get('/openapi.json', null);
  expect(res.status).toBe(200);
  doc = res.data;
});
afterAll(() => t.close());

function resolvePointer(root: Json, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => (node == null ? undefined : node[decodeURIComponent(key)]), root);
}

function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}

const operations = () =>
  Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).map(([method, op]) => ({ path, method, op: op as Json })),
  );

describe('the OpenAPI document at /openapi.json', () => {
  it('is OpenAPI 3.1 with info, paths, components and the 2020-12 dialect', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'Settlement',
        'SettlementBatch',
        'InsurerPayment',
        'Recovery',
        'SpendingPlan',
        'Disbursement',
        'SettlementFeed',
        'Problem',
        'Amount',
        'Time',
      ]),
    );
  });

  it('has every $ref resolving inside the document, and none pointing at schema files', () => {
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const r of refs) {
      expect(r).toMatch(/^#\//);
      expect([r, resolvePointer(doc, r)]).not.toEqual([r, undefined]);
    }
    expect(JSON.stringify(doc.components.schemas)).not.toContain('"$id"');
  });

  it('documents every route the app serves, and every documented route is served', () => {
    const served = appRoutes(t.gw.app)
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`)
      .sort();
    const documented = operations()
      .map((o) => `${o.method} ${o.path}`)
      .sort();
    expect(served.length).toBeGreaterThanOrEqual(14);
    expect(documented).toEqual(served);
  });

  it('has a row in the endpoint table for every endpoint of spec §3 and §5', () => {
    const spec = [
      'post /v1/agency/settlements',
      'post /v1/agency/disbursements',
      'post /v1/settlement-batches',
      'post /v1/insurer-payments',
      'post /v1/spending-plans',
      'post /v1/recoveries',
      'get /v1/messages/{}',
      'get /v1/settlements/{}',
      'get /v1/discrepancies',
      'post /v1/discrepancies/{}/acknowledge',
      'post /v1/discrepancies/{}/resolve',
      'post /v1/reconciliations',
      'get /v1/reconciliations/{}',
      'get /v1/reconciliations/{}/export',
      'get /healthz',
      'get /readyz',
      'get /metrics',
      'get /openapi.json',
      'get /docs',
    ];
    const table = ENDPOINTS.map((e) => `${e.method} ${pathShape(e.path)}`);
    for (const s of spec) expect(table).toContain(s);
  });

  it('gives each single-kind write the path (src/ingest/routes.ts), role and schema (src/ingest/kinds.ts) the gateway enforces', () => {
    const paths: Record<string, string> = {
      agency_disbursement: '/v1/agency/disbursements',
      settlement_batch: '/v1/settlement-batches',
      insurer_payment: '/v1/insurer-payments',
      spending_plan: '/v1/spending-plans',
      recovery: '/v1/recoveries',
      premium_collection: '/v1/premium-collections',
      fund_transfer: '/v1/fund-transfers',
      insurer_cost_report: '/v1/insurer-cost-reports',
    };
    const pascal = (schema: string) => schema.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
    for (const k of SINGLE_KINDS) {
      const path = paths[k.kind]!;
      expect(appRoutes(t.gw.app)).toContainEqual({ method: 'post', path });
      const row = ENDPOINTS.find((e) => e.method === 'post' && e.path === path)!;
      expect(row.roles).toEqual(typeof k.role === 'string' ? [k.role] : [...k.role]);
      expect(row.request!.schema).toBe(pascal(k.schema));
      const op = doc.paths[path].post;
      expect(op.requestBody.content['application/json'].schema.$ref).toBe(
        `#/components/schemas/${row.request!.schema}`,
      );
    }
  });

  it('puts the four Standard Webhooks headers on every signed write, bearer security on reads, and either on operator actions', () => {
    for (const { path, method, op } of operations()) {
      if (!path.startsWith('/v1/')) continue;
      const row = ENDPOINTS.find((e) => e.method === method && pathShape(e.path) === pathShape(path))!;
      if (row.auth === 'signed') {
        const headers = op.parameters.filter((p: Json) => p.in === 'header' && p.required).map((p: Json) => p.name);
        expect(headers).toEqual(
          expect.arrayContaining(['x-client-id', 'webhook-id', 'webhook-timestamp', 'webhook-signature']),
        );
        expect(Object.keys(op.security[0])).toEqual(
          expect.arrayContaining(['clientId', 'webhookId', 'webhookTimestamp', 'webhookSignature']),
        );
      } else if (row.auth === 'operator') {
        expect(op.security).toEqual([
          { webhookSignature: [], webhookId: [], webhookTimestamp: [], clientId: [] },
          { bearer: [] },
        ]);
      } else if (row.auth === 'none') {
        // GET /v1/keys: the gateway's public keys, for anyone (spec §9).
        expect(op.security).toEqual([]);
      } else {
        expect(op.security).toEqual([{ bearer: [] }]);
      }
    }
  });

  it('answers every error as application/problem+json with the Problem schema, 400–429 on writes', () => {
    for (const s of [400, 401, 403, 404, 409, 413, 415, 422, 429]) {
      const r = doc.components.responses[`Problem${s}`];
      expect(r.content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
      expect(r.content['application/problem+json'].example.status).toBe(s);
    }
    expect(doc.components.responses.Problem429.headers['Retry-After']).toBeDefined();
    const payment = doc.paths['/v1/insurer-payments'].post;
    for (const s of ['400', '401', '403', '409', '413', '415', '422', '429'])
      expect(payment.responses[s].$ref).toBe(`#/components/responses/Problem${s}`);
  });

  it('documents the feed with an NDJSON body and per-record results', () => {
    const op = doc.paths['/v1/agency/settlements'].post;
    expect(op.requestBody.content['application/x-ndjson']['x-item-schema'].$ref).toBe(
      '#/components/schemas/Settlement',
    );
    expect(op.requestBody.content['application/x-ndjson'].example.split('\n').filter(Boolean)).toHaveLength(2);
    expect(op.responses['202'].content['application/json'].schema.$ref).toBe('#/components/schemas/FeedResult');
    expect(doc.components.schemas.FeedResult.properties.rejected.items.properties.index).toBeDefined();
  });

  it('carries request examples that pass the exchange schemas', () => {
    const v = new SchemaValidator();
    const pairs: [SchemaName, string][] = [
      ['settlement', 'settlement'],
      ['settlement-batch', 'settlementBatch'],
      ['insurer-payment', 'insurerPayment'],
      ['recovery', 'recovery'],
      ['spending-plan', 'spendingPlan'],
      ['disbursement', 'disbursement'],
      ['settlement-feed', 'settlementFeed'],
    ];
    for (const [schema, key] of pairs)
      expect([key, v.validate(schema, JSON.parse(JSON.stringify(EXAMPLES[key])), 'en')]).toEqual([key, []]);
  });
});

describe('the API docs at /docs', () => {
  it('is an HTML page whose scripts and styles come from this server and which loads /openapi.json', async () => {
    const res = await t.get('/docs', null);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const html = String(res.data);
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(
      expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/init.js']),
    );
    for (const a of assets) {
      const r = await axios.get(t.baseUrl + a, {
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d) => d,
      });
      expect([a, r.status]).toEqual([a, 200]);
      if (a === '/docs/init.js') expect(r.data).toContain("url: '/openapi.json'");
    }
  });
});

describe('the integration guide and the error codes the problem types link to', () => {
  it("serves docs/integration-guide.md at /docs/guide and docs/problems.md at /docs/problems, and a problem's type names a section there", async () => {
    const guide = await t.get('/docs/guide', null);
    expect(guide.status).toBe(200);
    expect(String(guide.data)).toContain('# Integration guide');
    const problems = await t.get('/docs/problems', null);
    expect(problems.status).toBe(200);
    expect(problems.headers['content-type']).toMatch(/charset=utf-8/);
    const unsigned = await axios.post(`${t.baseUrl}/v1/insurer-payments`, '{}', {
      headers: { 'content-type': 'application/json' },
      validateStatus: () => true,
    });
    expect(unsigned.status).toBe(401);
    const type = String(unsigned.data.type);
    expect(type).toMatch(/^\/docs\/problems#[a-z-]+$/);
    expect(String(problems.data)).toContain(`### ${type.split('#')[1]}\n`);
  });
});
