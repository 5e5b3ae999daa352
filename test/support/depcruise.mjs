/**
 * dependency-cruiser is an ES module only, and jest loads the tests as CommonJS, so the architecture
 * test (test/unit/architecture.test.ts) runs it through this script in a child process:
 *   node test/support/depcruise.mjs '{"dirs":["src"],"ruleSet":{...}}'
 * in the folder to cruise (its tsconfig.json, when there is one, resolves the imports). Prints the
 * rule violations as JSON: [{ rule, from, to, cycle }].
 */
import fs from 'node:fs';
import { cruise } from 'dependency-cruiser';

const { dirs, ruleSet } = JSON.parse(process.argv[2]);
const result = await cruise(
  dirs,
  // Type-only imports count: a type import is how the composition root's Gateway type made a cycle.
  {
    validate: true,
    ruleSet,
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
  {},
  fs.existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {},
);
const violations = result.output.summary.violations.map((v) => ({
  rule: v.rule.name,
  from: v.from,
  to: v.to,
  cycle: (v.cycle ?? []).map((c) => c.name),
}));
process.stdout.write(JSON.stringify(violations));
