/**
 * `npm start`: the API, the outbox relay and the workers in one process (spec §5 "Running").
 * `--role=api` runs only the API and the relay (docker-compose runs workers separately).
 */
import { loadConfig, ConfigError } from './config/config';
import { buildGateway } from './composition-root';
import { listen } from './http/server';
import { closeServer, stopOnSignals } from './shutdown';
import { DataDirInUse } from './db/data-dir-lock';

/** Durability: src/db/db.ts createPgliteDb, measured by test/e2e/journeys/crash-embedded.test.ts. */
const EMBEDDED_NOTE =
  'embedded database (PGlite): one process, for trying the gateway and regions of up to a few tens of thousands of settlements a month. ' +
  'An accepted write (202) survives the process being killed or crashing, but not a power cut or an operating-system crash (PGlite never fsyncs). ' +
  'Set DATABASE_URL to a PostgreSQL server for more, and for production';

async function main() {
  const cfg = loadConfig();
  const apiOnly = process.argv.includes('--role=api');
  const gw = await buildGateway(cfg);
  gw.relay.start();
  if (!apiOnly) gw.startWorkers();
  // Slow clients: GATEWAY_HEADERS_TIMEOUT_MS / GATEWAY_REQUEST_TIMEOUT_MS (src/http/server.ts).
  const server = await listen(gw, cfg.port);
  gw.log.info(
    { port: cfg.port, database: cfg.databaseUrl ? 'postgresql' : `embedded (${cfg.dataDir})`, workers: !apiOnly },
    'gateway listening',
  );
  // What the embedded default is for and what a 202 is worth on it, said where a newcomer looks
  // (README "What the embedded database is for").
  if (!cfg.databaseUrl) gw.log.info({ data_dir: cfg.dataDir }, EMBEDDED_NOTE);
  // Bounded (src/shutdown.ts): HTTP first, so nothing new is accepted, then the workers and connections.
  stopOnSignals(gw.log, async () => {
    await closeServer(server, 3_000);
    await gw.close({ graceMs: 4_000 });
  });
}

main().catch((e) => {
  // A mistake of the operator's gets its message alone; anything else its stack.
  process.stderr.write(
    `${e instanceof ConfigError || e instanceof DataDirInUse ? `gateway: ${e.message}` : ((e as Error).stack ?? String(e))}\n`,
  );
  process.exit(1);
});
