#!/usr/bin/env node
/**
 * Make package-lock.json acceptable to `npm ci` on machines whose registry serves only the Linux
 * builds of packages with native binaries (this project's workplace). npm leaves the other
 * platforms' optional dependencies (e.g. @swc/core-darwin-arm64) out of the lock when it cannot
 * fetch them, and `npm ci` then refuses the lock as "out of sync". Each such dependency gets an
 * entry marked optional: npm ci skips it where it cannot be installed, exactly as it would skip an
 * optional binary for another platform. Idempotent; run after every `npm install` (CI runs it too).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.resolve(process.argv[2] || path.join(__dirname, '..', 'package-lock.json'));
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pk = lock.packages || {};
let added = 0;
for (const [at, meta] of Object.entries({ ...pk })) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies || {})) {
    const nested = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (pk[nested] || pk[top]) continue;
    pk[top] = { version: String(spec).replace(/^[\^~=]/, ''), optional: true };
    added++;
  }
}
if (added) fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(
  `complete-lockfile: ${added} optional platform entr${added === 1 ? 'y' : 'ies'} added to ${path.basename(file)}\n`,
);
