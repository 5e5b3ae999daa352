#!/usr/bin/env node
// `npx gateway …`: runs the TypeScript CLI through tsx (no build step; the gateway itself runs the same way).
// Both of tsx's hooks: require() of the CLI, and import() of the commands it loads when run (demo, the
// ops commands, purge, fund-statement), which Node resolves through its ESM loader — with the CommonJS
// hook alone, `npx gateway demo` and `npx gateway verify-audit` failed with "Cannot find module".
'use strict';

import('tsx/esm/api')
  .then(({ register }) => {
    register();
    require('tsx/cjs');
    const { main } = require('../src/cli/main.ts');
    return main(process.argv.slice(2));
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`${(e && e.stack) || e}\n`);
      process.exitCode = 2;
    },
  );
