/** Worker process entry point (docker-compose's `worker` service): every queue's workers, no API. */
import { ConfigError, loadConfig } from '../src/config/config';
import { DataDirInUse } from '../src/db/data-dir-lock';
import { buildGateway } from '../src/composition-root';
import { stopOnSignals } from '../src/shutdown';

async function main() {
  const gw = await buildGateway(loadConfig());
  gw.relay.start();
  gw.startWorkers();
  gw.log.info('workers started');
  stopOnSignals(gw.log, () => gw.close({ graceMs: 6_000 }));
}

main().catch((e) => {
  process.stderr.write(`${e instanceof ConfigError || e instanceof DataDirInUse ? `gateway worker: ${e.message}` : (e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
