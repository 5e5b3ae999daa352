/** Worker process entry point (docker-compose's `worker` service): every queue's workers, no API. */
import { loadConfig } from '../src/config/config';
import { buildGateway } from '../src/composition-root';
import { stopOnSignals } from '../src/shutdown';

async function main() {
  const gw = await buildGateway(loadConfig());
  gw.relay.start();
  gw.startWorkers();
  gw.log.info('workers started');
  stopOnSignals(gw.log, () => gw.close({ graceMs: 6_000 }));
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
