/**
 * Journey: the embedded data directory belongs to one process. A second gateway on it is refused
 * with a clear message (and no stack trace); a lock left behind by a gateway killed with SIGKILL, or
 * one naming a pid that now belongs to another process, does not block the next start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { journeyEnv, startGateway, type JourneyEnv } from './journey-support';

// Generous: a fresh embedded database takes a while to initialise on a loaded machine.
jest.setTimeout(300_000);

let env: JourneyEnv;
const lockFile = () => path.join(env.dataDir, 'gateway.pid');

beforeAll(async () => {
  env = await journeyEnv('one-process', 'embedded');
});
afterAll(async () => {
  await env.cleanup();
});

test('when a second gateway starts on an embedded data directory in use, then it exits at once with a message naming the owner and DATABASE_URL', async () => {
  const first = await startGateway(env);
  await first.waitReady();
  const second = await startGateway(env);
  const exit = await second.waitExit(120_000);
  expect(exit?.code).toBe(1);
  expect(second.stderr).toContain(`the embedded database in ${env.dataDir} is in use by process ${first.pid}`);
  expect(second.stderr).toMatch(/one process at a time.*set DATABASE_URL/);
  expect(second.stderr).not.toMatch(/\n\s+at /);
  expect((await first.get('/readyz', null)).status).toBe(200);
  expect((await first.stop('SIGTERM', 30_000)).code).toBe(0);
  expect(fs.existsSync(lockFile())).toBe(false);
});

test('when the gateway holding the data directory was killed with SIGKILL, then the next one starts on it', async () => {
  const first = await startGateway(env);
  await first.waitReady();
  await first.kill9();
  expect(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid).toBe(first.pid);
  const next = await startGateway(env);
  await next.waitReady();
  expect(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid).toBe(next.pid);
  expect((await next.stop('SIGTERM', 30_000)).code).toBe(0);
});

test('when the lock names a live process that did not write it (its pid was reused), then the gateway starts', async () => {
  // This test process is alive, but started at another time than the lock says.
  fs.writeFileSync(lockFile(), JSON.stringify({ pid: process.pid, start: '1', host: 'elsewhere' }));
  const gw = await startGateway(env);
  await gw.waitReady();
  expect(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid).toBe(gw.pid);
  expect((await gw.stop('SIGTERM', 30_000)).code).toBe(0);
});
