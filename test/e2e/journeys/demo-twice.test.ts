/**
 * Journey: `npm run gateway -- demo --exit` twice in a row on the same embedded data directory. The
 * second run meets the first one's data (and its webhook-ids, answered as duplicates) and must still
 * find every planted discrepancy, and each run must end on its own.
 */
import { journeyEnv, freePort, spawnNode, type JourneyEnv } from './journey-support';

// Generous: the demo month on a fresh embedded database, twice, on a loaded machine.
jest.setTimeout(600_000);

let env: JourneyEnv;
beforeAll(async () => {
  env = await journeyEnv('demo-twice', 'embedded', { LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await env.cleanup();
});

test('when the demo runs twice on the same data directory, then both runs find every planted code and exit', async () => {
  for (const run of [1, 2]) {
    const demo = spawnNode(env, 'src/cli/main.ts', ['demo', '--exit'], { PORT: String(await freePort()) });
    const exit = await demo.waitExit(280_000);
    if (!exit) await demo.kill9();
    expect({ run, exit, tail: exit?.code === 0 ? '' : demo.output.slice(-2000) }).toEqual({
      run,
      exit: { code: 0, signal: null },
      tail: '',
    });
    expect(demo.stdout).toMatch(/Every planted code was found/);
  }
});
