/** Worker process entry point (docker-compose's `worker` service): every queue's workers, no API. */
import { loadConfig } from '../src/config/config';
import { buildGateway } from '../src/composition-root';

async function main() {
  const gw = await buildGateway(loadConfig());
  gw.relay.start();
  gw.startWorkers();
  gw.log.info('workers started');
  const stop = async () => { await gw.close(); process.exit(0); };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
