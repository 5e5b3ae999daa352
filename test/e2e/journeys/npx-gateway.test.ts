/**
 * Journey: the command line as `npx gateway …` runs it — `bin/gateway.js` started by plain `node`, with no
 * `--import tsx` (the other journeys start `src/cli/main.ts` with it). Found by hand: the bin file
 * registered only tsx's CommonJS hook, so every command the CLI loads when run (`import()` of demo,
 * the ops commands, purge, fund-statement) failed with "Cannot find module …/src/cli/ops-commands".
 */
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, journeyEnv, type JourneyEnv } from './journey-support';

jest.setTimeout(120_000);

let env: JourneyEnv;
beforeAll(async () => {
  env = await journeyEnv('npx-gateway', 'embedded', { LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await env.cleanup();
});

const gateway = (args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'gateway.js'), ...args], {
    cwd: env.dir,
    env: { ...process.env, ...env.vars, NODE_OPTIONS: '' },
    timeout: 100_000,
  });

test('when `npx gateway` runs a command the CLI loads on demand, then it runs and exits 0', async () => {
  const verify = await gateway(['verify-audit']);
  expect(verify.stdout).toMatch(/audit trail intact: 0 events verified/);
  const help = await gateway(['--help']);
  expect(help.stdout).toMatch(/Usage: gateway/);
});

test('when the reader of its output goes away early (`npx gateway verify-audit | head -1`), then it stops quietly', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'gateway.js'), 'verify-audit'], {
    cwd: env.dir,
    env: { ...process.env, ...env.vars, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
});
