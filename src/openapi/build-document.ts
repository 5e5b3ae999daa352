/**
 * Builds the OpenAPI 3.1 document at run time from `schemas/` (components), the endpoint table
 * (paths) and the example literals. OpenAPI 3.1 speaks JSON Schema 2020-12, so the exchange schemas
 * go in as they are; only their file-relative `$ref`s are rewritten to `#/components/schemas/…`, and
 * `$id`/`$schema` are dropped (a `$id` inside a component would re-base those refs).
 */
import { loadSchemaFiles, SCHEMA_BASE } from '../schemas/validator';
import { ENDPOINTS, PATH_PARAMS, type Endpoint, type ResponseSpec } from './endpoints';
import { EXAMPLES, PROBLEM_EXAMPLES } from './examples';
import { RESPONSE_SCHEMAS } from './response-schemas';
import { pathShape, toOpenApiPath, type ServedRoute } from './app-routes';

type Json = Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Component name of a schema file: its title (`Settlement`), or the file's $defs hoisted for defs. */
export function schemaComponents(): Json {
  const files = loadSchemaFiles();
  const nameOf: Record<string, string> = {};
  for (const [file, s] of Object.entries(files))
    if (file !== 'defs') nameOf[file] = String(s.title ?? file).replace(/[^A-Za-z0-9]/g, '');
  const rewrite = (node: unknown, file: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, file));
    if (!node || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === '$id' || k === '$schema') continue;
      out[k] = k === '$ref' && typeof v === 'string' ? rewriteRef(v, file, nameOf) : rewrite(v, file);
    }
    return out;
  };
  const components: Json = {};
  const add = (name: string, schema: unknown) => {
    if (components[name]) throw new Error(`openapi: two schemas would be named ${name}`);
    components[name] = schema;
  };
  for (const [k, v] of Object.entries((files.defs?.$defs ?? {}) as Json)) add(k, rewrite(v, 'defs'));
  for (const [file, s] of Object.entries(files)) if (file !== 'defs') add(nameOf[file]!, rewrite(s, file));
  return components;
}

function rewriteRef(r: string, file: string, nameOf: Record<string, string>): string {
  const url = new URL(r, `${SCHEMA_BASE}${file}.schema.json`);
  const target = url.pathname.split('/').pop()!.replace('.schema.json', '');
  const pointer = decodeURIComponent(url.hash.replace(/^#/, ''));
  if (target === 'defs') {
    const m = /^\/\$defs\/([^/]+)(.*)$/.exec(pointer);
    if (!m) throw new Error(`openapi: cannot place $ref ${r} of ${file}`);
    return `#/components/schemas/${m[1]}${m[2]}`;
  }
  const name = nameOf[target];
  if (!name) throw new Error(`openapi: $ref ${r} of ${file} names no schema file`);
  return `#/components/schemas/${name}${pointer}`;
}

const SIGNED_HEADERS: [string, string, Json][] = [
  ['x-client-id', 'Your client_id in the clients file.', { type: 'string', examples: ['dehong-agency'] }],
  [
    'webhook-id',
    'Unique per message, 1–64 printable ASCII characters; a retransmission reuses it.',
    { type: 'string', maxLength: 64, examples: ['msg_2fQy8LkQ0XgS'] },
  ],
  [
    'webhook-timestamp',
    "Unix seconds, within ±300 s of the gateway's clock.",
    { type: 'string', pattern: '^[0-9]{1,12}$', examples: ['1744682400'] },
  ],
  [
    'webhook-signature',
    'Space-separated `v1,<base64>` (HMAC-SHA256) or `v1sm3,<base64>` (HMAC-SM3) over `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the base64-decoded whsec_ secret.',
    { type: 'string', examples: ['v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4='] },
  ],
];

const signedSecurity = () => ({ webhookSignature: [], webhookId: [], webhookTimestamp: [], clientId: [] });

function operation(e: Endpoint, path: string): Json {
  const parameters: Json[] = [];
  for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
    const p = PATH_PARAMS[name!] ?? { description: name!, schema: { type: 'string' } };
    parameters.push({ name, in: 'path', required: true, description: p.description, schema: p.schema });
  }
  for (const q of e.query ?? [])
    parameters.push({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema });
  if (e.auth === 'signed')
    for (const [name, description, schema] of SIGNED_HEADERS)
      parameters.push({ name, in: 'header', required: true, description, schema });
  if (e.auth === 'operator')
    for (const [name, description, schema] of SIGNED_HEADERS)
      parameters.push({
        name,
        in: 'header',
        required: false,
        description: `${description} Signed requests only (or send a bearer token).`,
        schema,
      });
  if (path.startsWith('/v1/'))
    parameters.push({
      name: 'Accept-Language',
      in: 'header',
      required: false,
      description: '`zh-CN` gives Chinese problem messages.',
      schema: { type: 'string', examples: ['zh-CN'] },
    });

  const op: Json = {
    operationId: `${e.method}${path
      .replace(/\{(\w+)\}/g, 'By_$1')
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join('')}`,
    tags: [e.tag],
    summary: `${e.summary.en} · ${e.summary.zh}`,
    description:
      [e.description, e.roles === 'any' ? undefined : `Roles: ${e.roles.join(', ')}.`].filter(Boolean).join('\n\n') ||
      undefined,
    'x-summary-zh': e.summary.zh,
    'x-roles': e.roles,
    parameters,
    security:
      e.auth === 'signed'
        ? [signedSecurity()]
        : e.auth === 'bearer'
          ? [{ bearer: [] }]
          : e.auth === 'operator'
            ? [signedSecurity(), { bearer: [] }]
            : [],
  };
  if (e.request) {
    const content: Json = {
      'application/json': { schema: ref(e.request.schema), example: EXAMPLES[e.request.example] },
    };
    if (e.request.ndjson) {
      content['application/x-ndjson'] = {
        schema: {
          type: 'string',
          description: 'NDJSON: one Settlement a line (UTF-8). Per-record results name the line index from 0.',
        },
        'x-item-schema': ref('Settlement'),
        example: EXAMPLES.settlementNdjson,
      };
    }
    op.requestBody = { required: e.request.required ?? true, content };
  }
  const responses: Json = {};
  for (const [status, r] of Object.entries(e.responses)) responses[status] = response(r);
  for (const s of e.errors) responses[String(s)] = { $ref: `#/components/responses/Problem${s}` };
  op.responses = responses;
  return op;
}

function response(r: ResponseSpec): Json {
  const schema = typeof r.schema === 'string' ? ref(r.schema) : r.schema;
  const media: Json = schema ? { schema } : {};
  if (r.example) media.example = EXAMPLES[r.example];
  return {
    description: r.description,
    ...(schema ? { content: { [r.contentType ?? 'application/json']: media } } : {}),
    ...(r.headers ? { headers: r.headers } : {}),
  };
}

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Malformed request (bad JSON, bad query parameters).',
  401: 'Authentication failed (signature, timestamp, token, replayed webhook-id).',
  403: 'Outside your scope or role.',
  404: 'Not found (or not visible to you).',
  409: 'Idempotency conflict: the business key was accepted with a different body, or the case is already in that state.',
  413: 'Request too large.',
  415: 'Unsupported media type.',
  422: 'Schema or business-rule violation; `errors[].path` is a JSON Pointer into the body.',
  429: 'Rate limit; retry after `Retry-After` seconds.',
};

function problemResponses(): Json {
  const out: Json = {};
  for (const [status, description] of Object.entries(PROBLEM_TEXT)) {
    out[`Problem${status}`] = {
      description,
      ...(status === '429'
        ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } } }
        : {}),
      content: { 'application/problem+json': { schema: ref('Problem'), example: PROBLEM_EXAMPLES[Number(status)] } },
    };
  }
  return out;
}

/**
 * The document. With `served`, paths are the table's rows that this app serves (named as the app
 * names its parameters), so the document describes exactly this build.
 */
export function buildOpenApiDocument(o: { served?: ServedRoute[]; version?: string } = {}): Json {
  const schemas = { ...schemaComponents(), ...RESPONSE_SCHEMAS };
  const feed = schemas.SettlementFeed as { properties?: { settlements?: { items?: unknown } } } | undefined;
  // The feed schema leaves records open so each is validated on its own; the docs show what a record is.
  if (feed?.properties?.settlements) feed.properties.settlements.items = ref('Settlement');
  const paths: Record<string, Json> = {};
  for (const e of ENDPOINTS) {
    let path = e.path;
    if (o.served) {
      const hit = o.served.find((r) => r.method === e.method && pathShape(r.path) === pathShape(e.path));
      if (!hit) continue;
      path = toOpenApiPath(hit.path);
    }
    (paths[path] ??= {})[e.method] = operation(e, path);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'HIFOB exchange gateway · 职工大额医疗费用补充保险数据交换网关',
      version: o.version ?? '1',
      description:
        'Insurer–agency data exchange (EXCHANGE-SPEC v1). Writes are signed the Standard Webhooks way; reads take a bearer token; operator actions take either. Errors are RFC 9457 problem documents. Amounts are yuan strings with 2 decimals; times ISO 8601 with offset or `yyyy-MM-dd HH:mm:ss` (China Standard Time).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [...new Set(ENDPOINTS.map((e) => e.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      responses: problemResponses(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Reads and operator actions: `Authorization: Bearer <token>`; the clients file stores only its SHA-256.',
        },
        clientId: {
          type: 'apiKey',
          in: 'header',
          name: 'x-client-id',
          description: 'The signing client (Standard Webhooks writes).',
        },
        webhookId: { type: 'apiKey', in: 'header', name: 'webhook-id', description: 'Standard Webhooks message id.' },
        webhookTimestamp: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-timestamp',
          description: 'Standard Webhooks timestamp (Unix seconds).',
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            "Standard Webhooks signature `v1,<base64>` / `v1sm3,<base64>` (HMAC), or `v1sm2,<base64 DER>` (SM2 with the client's key; guide §9).",
        },
      },
    },
  };
}
