/**
 * The console shows code names, not codes (public/console/app.js CODES): every code of spec §4 and §8
 * has its Chinese and English name there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FINDING_CODES } from '../../src/matching/rules';

test('when the console lists cases, then every finding code (the fund codes too) has a Chinese and an English name', () => {
  const app = fs.readFileSync(path.join(__dirname, '../../public/console/app.js'), 'utf8');
  const block = app.slice(app.indexOf('const CODES = {'), app.indexOf('};', app.indexOf('const CODES = {')));
  for (const code of FINDING_CODES) {
    expect([code, new RegExp(`\\b${code}: \\['[^']*[\\u4e00-\\u9fa5][^']*', '[^']+'\\]`).test(block)]).toEqual([
      code,
      true,
    ]);
  }
});
