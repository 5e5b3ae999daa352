/**
 * Journey: `npm run gateway -- demo --exit` twice in a row on the same embedded data directory. The
 * second run meets the first one's data (and its webhook-ids, answered as duplicates) and must still
 * find every planted discrepancy, and each run must end on its own. Then a third run on a fresh data
 * directory, on the same Redis and queue prefix (a data directory removed and the demo run again):
 * found by hand, its messages once stayed `accepted` for ever — the relay named its jobs after outbox
 * row ids, which restart at 1, and Redis still held the first runs' completed jobs of those ids.
 */
import path from 'node:path';
import { journeyEnv, freePort, spawnNode, type JourneyEnv } from './journey-support';

// Generous: the demo month on a fresh embedded database, three times, on a loaded machine.
jest.setTimeout(900_000);

let env: JourneyEnv;
beforeAll(async () => {
  env = await journeyEnv('demo-twice', 'embedded', { LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await env.cleanup();
});

test('when the demo runs twice on the same data directory, and once more on a fresh one, then each run finds every planted code and exits', async () => {
  for (const run of [1, 2, 3]) {
    const demo = spawnNode(env, 'src/cli/main.ts', ['demo', '--exit'], {
      PORT: String(await freePort()),
      ...(run === 3 ? { GATEWAY_DATA_DIR: path.join(env.dir, 'db-fresh') } : {}),
    });
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
