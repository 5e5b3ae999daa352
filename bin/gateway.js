#!/usr/bin/env node
// `npx gateway …`: runs the TypeScript CLI through tsx (no build step; the gateway itself runs the same way).
'use strict';
require('tsx/cjs');
const { main } = require('../src/cli/main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${(e && e.stack) || e}\n`);
    process.exitCode = 2;
  },
);
