/**
 * `npm start`: the API, the outbox relay and the workers in one process (spec §5 "Running").
 * `--role=api` runs only the API and the relay (docker-compose runs workers separately).
 */
import { loadConfig, ConfigError } from './config/config';
import { buildGateway } from './composition-root';
import { listen } from './http/server';

async function main() {
  const cfg = loadConfig();
  const apiOnly = process.argv.includes('--role=api');
  const gw = await buildGateway(cfg);
  gw.relay.start();
  if (!apiOnly) gw.startWorkers();
  // Slow clients: GATEWAY_HEADERS_TIMEOUT_MS / GATEWAY_REQUEST_TIMEOUT_MS (src/http/server.ts).
  const server = await listen(gw, cfg.port);
  gw.log.info({ port: cfg.port, database: cfg.databaseUrl ? 'postgresql' : `embedded (${cfg.dataDir})`, workers: !apiOnly }, 'gateway listening');
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    gw.log.info({ signal }, 'shutting down');
    server.close();
    await gw.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
