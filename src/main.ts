/**
 * `npm start`: the API, the outbox relay and the workers in one process (spec §5 "Running").
 * `--role=api` runs only the API and the relay (docker-compose runs workers separately).
 */
import { loadConfig, ConfigError } from './config/config';
import { buildGateway } from './composition-root';
import { listen } from './http/server';
import { closeServer, stopOnSignals } from './shutdown';

async function main() {
  const cfg = loadConfig();
  const apiOnly = process.argv.includes('--role=api');
  const gw = await buildGateway(cfg);
  gw.relay.start();
  if (!apiOnly) gw.startWorkers();
  // Slow clients: GATEWAY_HEADERS_TIMEOUT_MS / GATEWAY_REQUEST_TIMEOUT_MS (src/http/server.ts).
  const server = await listen(gw, cfg.port);
  gw.log.info({ port: cfg.port, database: cfg.databaseUrl ? 'postgresql' : `embedded (${cfg.dataDir})`, workers: !apiOnly }, 'gateway listening');
  // Bounded (src/shutdown.ts): HTTP first, so nothing new is accepted, then the workers and connections.
  stopOnSignals(gw.log, async () => {
    await closeServer(server, 3_000);
    await gw.close({ graceMs: 4_000 });
  });
}

main().catch((e) => {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
