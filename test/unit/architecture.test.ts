/**
 * The shape of the code (STYLE.md "Ownership"), as rules that fail with the offending file:line:
 *  1. One owner per table: only the owning module sends SQL naming a table (src/db/, the migrations
 *     and their runner, is exempt).
 *  2. No import cycles in src/ and workers/ (dependency-cruiser, type-only imports included).
 *  3. Nothing under src/ imports the composition root except the entry points (main.ts, cli/, demo/).
 *  4. Every HTTP route is mounted with its path as a string literal, so a search for it finds it.
 * Each rule is also run on a planted violation below, so that a rule that stopped looking fails too.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// 1. Table owners

/**
 * Table → owner: a folder (ending in '/') or one file, relative to the repository. Partitions of a
 * table (message_bodies_default, message_bodies_y2026m01) belong to its owner.
 */
export const TABLE_OWNERS: Record<string, string> = {
  settlement_records: 'src/ledger/',
  batches: 'src/ledger/',
  batch_items: 'src/ledger/',
  payments: 'src/ledger/',
  payment_lines: 'src/ledger/',
  recoveries: 'src/ledger/',
  disbursements: 'src/ledger/',
  spending_plans: 'src/ledger/',
  settlement_loops: 'src/ledger/',
  settlement_allowances: 'src/ledger/',
  allowance_bases: 'src/ledger/',
  premium_collections: 'src/ledger/',
  fund_transfers: 'src/ledger/',
  insurer_cost_reports: 'src/ledger/',
  fund_statements: 'src/fund/',
  discrepancies: 'src/discrepancies/',
  case_attachments: 'src/discrepancies/',
  audit_events: 'src/audit/',
  audit_heads: 'src/audit/',
  outbox: 'src/queue/outbox.ts',
  messages: 'src/ingest/message-store.ts',
  message_bodies: 'src/ingest/message-store.ts',
  webhook_ids: 'src/ingest/message-store.ts',
  settlement_benefits: 'src/benefits/',
  person_year_audits: 'src/benefits/',
  reconciliation_runs: 'src/reconciliation/',
  reconciliation_institutions: 'src/reconciliation/',
  reconciliation_insurers: 'src/reconciliation/',
  subscribers: 'src/notifications/',
  deliveries: 'src/notifications/',
  delivery_attempts: 'src/notifications/',
  notification_control: 'src/notifications/',
  agency_pull_cursors: 'src/agency-pull/',
  platform_files: 'src/platform/',
};

/** Folders whose SQL is not checked: the schema itself (migrations and the code that applies them). */
const EXEMPT = ['src/db/'];

const PARTITION = /_(?:default|y\d{4}m\d{2})$/;

/** A table name in SQL position: after FROM, JOIN, INTO, UPDATE, DELETE FROM, TABLE or COPY, maybe schema-qualified. */
const SQL_TABLE =
  /\b(?:FROM|JOIN|INTO|UPDATE|TABLE|COPY)\s+(?:ONLY\s+)?(?:"?[A-Za-z_]\w*"?\s*\.\s*)?"?([A-Za-z_]\w*)"?/gi;

export interface SourceFile {
  file: string;
  text: string;
}

const owns = (owner: string, file: string) => (owner.endsWith('/') ? file.startsWith(owner) : file === owner);

/** The string and template-literal pieces of a TypeScript source, with the line each starts on. */
function stringPieces(src: SourceFile): { text: string; line: number }[] {
  const sf = ts.createSourceFile(src.file, src.text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: { text: string; line: number }[] = [];
  const visit = (n: ts.Node) => {
    if (
      ts.isStringLiteral(n) ||
      ts.isNoSubstitutionTemplateLiteral(n) ||
      ts.isTemplateHead(n) ||
      ts.isTemplateMiddle(n) ||
      ts.isTemplateTail(n)
    ) {
      out.push({ text: n.text, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 });
    }
    n.forEachChild(visit);
  };
  visit(sf);
  return out;
}

/** `file:line table (owner)` for every table named in SQL by a file that does not own it. */
export function sqlOwnershipOffenders(files: SourceFile[], owners: Record<string, string> = TABLE_OWNERS): string[] {
  const offenders: string[] = [];
  for (const src of files) {
    if (EXEMPT.some((e) => src.file.startsWith(e))) continue;
    for (const piece of stringPieces(src)) {
      for (const m of piece.text.matchAll(SQL_TABLE)) {
        const name = m[1]!.toLowerCase();
        const table =
          owners[name] !== undefined
            ? name
            : owners[name.replace(PARTITION, '')] !== undefined
              ? name.replace(PARTITION, '')
              : undefined;
        if (table === undefined || owns(owners[table]!, src.file)) continue;
        const line = piece.line + (piece.text.slice(0, m.index).match(/\n/g)?.length ?? 0);
        offenders.push(`${src.file}:${line} ${table} (owner ${owners[table]})`);
      }
    }
  }
  return [...new Set(offenders)];
}

// ---------------------------------------------------------------------------------------------
// 4. Routes by literal paths

const ROUTE_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'all', 'use']);

/**
 * `file:line` of every route mounted with a path that is not a string literal: `x.get|post|…(path,
 * …, handler)` whose last argument is a handler and whose first is not a literal (`use` with
 * middleware only, no path, is fine).
 */
export function nonLiteralRouteOffenders(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const src of files) {
    const sf = ts.createSourceFile(src.file, src.text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const visit = (n: ts.Node) => {
      if (
        ts.isCallExpression(n) &&
        ts.isPropertyAccessExpression(n.expression) &&
        ROUTE_METHODS.has(n.expression.name.text) &&
        n.arguments.length >= 2
      ) {
        const [first] = n.arguments;
        const last = n.arguments[n.arguments.length - 1]!;
        const handler =
          ts.isArrowFunction(last) ||
          ts.isFunctionExpression(last) ||
          ts.isCallExpression(last) ||
          ts.isIdentifier(last);
        const isPath = !(ts.isArrowFunction(first!) || ts.isFunctionExpression(first!) || ts.isCallExpression(first!));
        if (
          handler &&
          isPath &&
          !ts.isStringLiteral(first!) &&
          !(ts.isArrayLiteralExpression(first!) && first.elements.every(ts.isStringLiteral))
        ) {
          const name = n.expression.name.text;
          // use(a, b): a may be middleware (a name) or a path held in a variable (a name that says so).
          const isMiddlewareList =
            name === 'use' && ts.isIdentifier(first!) && !/path|route|prefix|mount/i.test(first.text);
          if (!isMiddlewareList)
            out.push(
              `${src.file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} ${n.getText(sf).split('\n')[0]!.slice(0, 100)}`,
            );
        }
      }
      n.forEachChild(visit);
    };
    visit(sf);
  }
  return out;
}

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

function readSources(base: string, dirs: string[]): SourceFile[] {
  return dirs
    .flatMap((d) => tsFiles(path.join(base, d)))
    .map((f) => ({ file: path.relative(base, f).split(path.sep).join('/'), text: fs.readFileSync(f, 'utf8') }));
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Import rules, checked by dependency-cruiser (test/support/depcruise.mjs)

const NO_CYCLES = { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } };
const ROOT_ONLY_FROM_ENTRY_POINTS = {
  name: 'no-composition-root-import',
  severity: 'error',
  from: { path: '^src/', pathNot: '^src/(main\\.ts$|composition-root\\.ts$|cli/|demo/)' },
  to: { path: '^src/composition-root\\.ts$' },
};

interface Violation {
  rule: string;
  from: string;
  to: string;
  cycle: string[];
}

function cruise(base: string, dirs: string[]): Violation[] {
  const out = execFileSync(
    process.execPath,
    [
      path.join(root, 'test', 'support', 'depcruise.mjs'),
      JSON.stringify({ dirs, ruleSet: { forbidden: [NO_CYCLES, ROOT_ONLY_FROM_ENTRY_POINTS] } }),
    ],
    {
      cwd: base,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(out) as Violation[];
}

/** The line of `file` that imports `target` (1 when it cannot be found). */
function importLine(base: string, file: string, target: string): number {
  const want = path.basename(target).replace(/\.ts$/, '');
  const lines = fs.readFileSync(path.join(base, file), 'utf8').split('\n');
  const i = lines.findIndex(
    (l) =>
      /\b(import|from|require)\b/.test(l) && new RegExp(`['"][^'"]*\\b${want.replace(/[-.]/g, '\\$&')}['"]`).test(l),
  );
  return i < 0 ? 1 : i + 1;
}

/** Each cycle once, as `file:line → file:line → …` (the line of the import that leads on). */
export function cycleOffenders(base: string, violations: Violation[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of violations.filter((x) => x.rule === NO_CYCLES.name)) {
    const ring = [v.from, ...v.cycle.filter((c) => c !== v.from)];
    const key = [...ring].sort().join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      ring.map((f, i) => `${f}:${importLine(base, f, ring[(i + 1) % ring.length]!)}`).join(' → ') + ` → ${ring[0]}`,
    );
  }
  return out;
}

export function rootImportOffenders(base: string, violations: Violation[]): string[] {
  return violations
    .filter((v) => v.rule === ROOT_ONLY_FROM_ENTRY_POINTS.name)
    .map((v) => `${v.from}:${importLine(base, v.from, v.to)} imports ${v.to}`);
}

function expectNone(what: string, offenders: string[]): void {
  if (offenders.length) throw new Error(`${what} (${offenders.length}):\n  ${offenders.join('\n  ')}`);
}

// ---------------------------------------------------------------------------------------------

describe('the architecture of the gateway', () => {
  let violations: Violation[];
  beforeAll(() => {
    violations = cruise(root, ['src', 'workers']);
  });

  it('sends SQL to a table only from the module that owns it', () => {
    expectNone('SQL naming a table outside its owner', sqlOwnershipOffenders(readSources(root, ['src', 'workers'])));
  });

  it('has no import cycles in src/ and workers/', () => {
    expectNone('import cycles', cycleOffenders(root, violations));
  });

  it('lets only the entry points (main.ts, cli/, demo/) import the composition root', () => {
    expectNone('files importing src/composition-root.ts', rootImportOffenders(root, violations));
  });

  it('mounts every HTTP route by a literal path', () => {
    expectNone('routes whose path is not a literal', nonLiteralRouteOffenders(readSources(root, ['src'])));
  });
});

describe('the architecture rules catch a planted violation', () => {
  it('SQL ownership: a table named in SQL outside its owner, in any case, schema-qualified or a partition', () => {
    const files: SourceFile[] = [
      { file: 'src/ledger/payment-store.ts', text: "q.query('INSERT INTO payments (a) VALUES ($1)')" },
      {
        file: 'src/matching/sneaky.ts',
        text: [
          '// a comment naming FROM payments is not SQL',
          "const a = 'the payments are late';",
          'const b = `SELECT 1',
          '  FROM public.payments p JOIN "discrepancies" d ON true`;',
          "const c = 'delete from message_bodies_y2026m01';",
          'const d = `UPDATE outbox SET x = ${1}`;',
        ].join('\n'),
      },
      { file: 'src/db/migrate.ts', text: "q.query('UPDATE payments SET x = 1')" },
    ];
    expect(sqlOwnershipOffenders(files)).toEqual([
      'src/matching/sneaky.ts:4 payments (owner src/ledger/)',
      'src/matching/sneaky.ts:4 discrepancies (owner src/discrepancies/)',
      'src/matching/sneaky.ts:5 message_bodies (owner src/ingest/message-store.ts)',
      'src/matching/sneaky.ts:6 outbox (owner src/queue/outbox.ts)',
    ]);
  });

  it('literal routes: a path built in a loop or taken from a table', () => {
    const files: SourceFile[] = [
      {
        file: 'src/feature/routes.ts',
        text: [
          "r.post('/v1/things', auth, async (req, res) => { res.json(cache.get(req.params.id)); });",
          "app.use(['/v1', '/console/session'], limits.middleware());",
          'app.use(notFoundHandler, other);',
          "for (const a of ['x', 'y']) r.post(`/v1/things/${a}`, handle(a));",
          'for (const s of KINDS) r.post(s.path, handler(s));',
          'r.use(route, (req, res, next) => next());',
        ].join('\n'),
      },
    ];
    expect(nonLiteralRouteOffenders(files)).toEqual([
      'src/feature/routes.ts:4 r.post(`/v1/things/${a}`, handle(a))',
      'src/feature/routes.ts:5 r.post(s.path, handler(s))',
      'src/feature/routes.ts:6 r.use(route, (req, res, next) => next())',
    ]);
  });

  it('import rules: a cycle (through a type-only import) and a feature importing the composition root', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-'));
    try {
      const put = (f: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), text);
      };
      put('src/composition-root.ts', "import { b } from './feature/b';\nexport const root = b;\n");
      put('src/main.ts', "import { root } from './composition-root';\nexport const x = root;\n");
      put('src/cli/main.ts', "import { root } from '../composition-root';\nexport const y = root;\n");
      put('src/feature/a.ts', "import type { B } from './b';\nexport type A = B | 1;\n");
      put('src/feature/b.ts', "import type { A } from './a';\n\nexport type B = A | 2;\nexport const b = 2;\n");
      put('src/feature/c.ts', 'export const c = 3;\n');
      put(
        'src/feature/locator.ts',
        "// looks the services up\nimport type { root } from '../composition-root';\nexport type R = typeof root;\n",
      );
      const found = cruise(dir, ['src']);
      expect(cycleOffenders(dir, found)).toEqual([
        expect.stringMatching(
          /^src\/feature\/(a\.ts:1 → src\/feature\/b\.ts:1|b\.ts:1 → src\/feature\/a\.ts:1) → src\/feature\/[ab]\.ts$/,
        ),
      ]);
      expect(rootImportOffenders(dir, found)).toEqual(['src/feature/locator.ts:2 imports src/composition-root.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
