/**
 * TypeScript types derive from `schemas/` (STYLE.md: schemas are the source of truth).
 * `npm run gen:types` rewrites src/schemas/types.ts; a unit test fails when it is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compile } from 'json-schema-to-typescript';
import { SCHEMA_DIR, loadSchemaFiles } from '../src/schemas/validator';

export const TYPES_FILE = path.resolve(__dirname, '..', 'src', 'schemas', 'types.ts');
const MESSAGE_SCHEMAS = [
  'settlement',
  'settlement-feed',
  'settlement-batch',
  'insurer-payment',
  'recovery',
  'spending-plan',
  'disbursement',
  'problem',
  'premium-collection',
  'fund-transfer',
  'insurer-cost-report',
];

export async function generateTypes(): Promise<string> {
  const files = loadSchemaFiles();
  const parts: string[] = [
    '/* eslint-disable */',
    '// Generated from schemas/*.schema.json by `npm run gen:types`. Do not edit by hand.',
    '',
  ];
  for (const name of MESSAGE_SCHEMAS) {
    const schema = structuredClone(files[name]!);
    const ts = await compile(schema as never, String(schema.title), {
      cwd: SCHEMA_DIR,
      bannerComment: '',
      additionalProperties: false,
      declareExternallyReferenced: true,
      unreachableDefinitions: false,
      format: false,
      strictIndexSignatures: false,
    });
    parts.push(ts.trim(), '');
  }
  // Several schemas reference the same shared definitions: keep one declaration of each.
  const seen = new Set<string>();
  const out: string[] = [];
  for (const block of parts.join('\n').split(/\n(?=export )/)) {
    const m = /^export (?:type|interface) (\w+)/.exec(block);
    if (m) {
      if (seen.has(m[1]!)) continue;
      seen.add(m[1]!);
    }
    out.push(block);
  }
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}

if (require.main === module) {
  generateTypes().then((ts) => {
    if (process.argv.includes('--check')) {
      const same = fs.readFileSync(TYPES_FILE, 'utf8') === ts;
      process.stdout.write(same ? 'types are up to date\n' : `${TYPES_FILE} is out of date: run npm run gen:types\n`);
      process.exit(same ? 0 : 1);
    }
    fs.writeFileSync(TYPES_FILE, ts);
    process.stdout.write(`wrote ${TYPES_FILE}\n`);
  });
}
