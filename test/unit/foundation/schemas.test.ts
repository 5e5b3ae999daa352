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
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['scripts/gen-types.ts', '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(r.stdout).toContain('types are up to date');
  expect(r.status).toBe(0);
});

test('when an amount has three decimals, sixteen digits, or is negative, then the schema refuses it', () => {
  for (const bad of [1.234, '1.234', 12345678901234568, '-1.00', '1e3', 1e14, 'NaN']) {
    expect(v.validate('insurer-payment', payment({ pay_amount: bad as string })).map((e) => e.path)).toContain(
      '/pay_amount',
    );
  }
  expect(v.validate('insurer-payment', payment({ pay_amount: 90000 as unknown as string }))).toEqual([]);
});

test('when two bodies differ only in formatting, number form or unknown fields, then their canonical hashes match', () => {
  const a = normalize('insurer-payment', payment({ pay_amount: '90000.00' }));
  const b = normalize('insurer-payment', {
    ...payment({ pay_amount: 90000 as unknown as string, pay_time: '2025-04-15 10:00:00' }),
    extra: 1,
  });
  expect(contentHash(a)).toBe(contentHash(b));
});

test('when the configuration is wrong, then start-up stops naming every problem', () => {
  const bad = () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', GATEWAY_NIGHTLY_REGIONS: '53a1' });
  for (const name of ['PORT', 'REDIS_URL', 'GATEWAY_NIGHTLY_REGIONS']) expect(bad).toThrow(name);
  expect(loadConfig({}).port).toBe(8080);
});

describe('text the database cannot store', () => {
  const v = new SchemaValidator();
  test('a NUL in a field of a valid payment is refused with its path (found by the long fuzzing run)', () => {
    const body = payment({ bank_txn_no: 'BK2025\u000001' });
    expect(v.validate('insurer-payment', body)).toEqual([
      { path: '/bank_txn_no', code: 'unstorableText', message: expect.stringContaining('U+0000') },
    ]);
  });
  test('an unpaired surrogate is refused; a paired one (an emoji, a rare CJK character) is kept', () => {
    const lone = payment({ bank_txn_no: 'BK\ud800' });
    expect(v.validate('insurer-payment', lone, 'zh-CN')).toEqual([
      { path: '/bank_txn_no', code: 'unstorableText', message: expect.stringContaining('NUL') },
    ]);
    expect(v.validate('insurer-payment', payment({ bank_txn_no: 'BK𠀀' }))).toEqual([]);
  });
  test('the path points into arrays and escapes the property names', () => {
    const p = payment();
    p.lines.push({
      setl_id: 'S0002',
      paid_amount: '0.00',
      rejected_amount: '10.00',
      reject_reason_code: 'R99',
      reject_reason: '重复\u0000',
    });
    expect(v.validate('insurer-payment', p, 'en', '/items/3')).toEqual([
      { path: '/items/3/lines/1/reject_reason', code: 'unstorableText', message: expect.any(String) },
    ]);
  });
});
