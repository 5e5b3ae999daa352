import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SchemaValidator } from '../../../src/schemas/validator';
import { normalize, contentHash } from '../../../src/schemas/normalize';
import { loadConfig } from '../../../src/config/config';
import { payment } from '../../support/fixtures';

const v = new SchemaValidator();

test('when the schemas change, then src/schemas/types.ts must be regenerated (npm run gen:types)', () => {
  // json-schema-to-typescript loads prettier dynamically, which jest's module sandbox cannot: run it as a process.
  const root = path.resolve(__dirname, '..', '..', '..');
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['scripts/gen-types.ts', '--check'], { cwd: root, encoding: 'utf8' });
  expect(r.stdout).toContain('types are up to date');
  expect(r.status).toBe(0);
});

test('when an amount has three decimals, sixteen digits, or is negative, then the schema refuses it', () => {
  for (const bad of [1.234, '1.234', 12345678901234567, '-1.00', '1e3', 1e14, 'NaN']) {
    expect(v.validate('insurer-payment', payment({ pay_amount: bad as string })).map((e) => e.path)).toContain('/pay_amount');
  }
  expect(v.validate('insurer-payment', payment({ pay_amount: 90000 as unknown as string }))).toEqual([]);
});

test('when two bodies differ only in formatting, number form or unknown fields, then their canonical hashes match', () => {
  const a = normalize('insurer-payment', payment({ pay_amount: '90000.00' }));
  const b = normalize('insurer-payment', { ...payment({ pay_amount: 90000 as unknown as string, pay_time: '2025-04-15 10:00:00' }), extra: 1 });
  expect(contentHash(a)).toBe(contentHash(b));
});

test('when the configuration is wrong, then start-up stops naming every problem', () => {
  const bad = () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', GATEWAY_NIGHTLY_REGIONS: '53a1' });
  for (const name of ['PORT', 'REDIS_URL', 'GATEWAY_NIGHTLY_REGIONS']) expect(bad).toThrow(name);
  expect(loadConfig({}).port).toBe(8080);
});
