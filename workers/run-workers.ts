/**
 * What every worker process does (not an entry point itself: workers/<queue>.ts and workers/all.ts
 * call it). Builds the gateway, runs the outbox relay, starts the workers of `queues`, and stops
 * within the shutdown bound on SIGTERM/SIGINT (src/shutdown.ts): each worker gets 6 s to finish its
 * active jobs with Redis reachable, none without (src/queue/start-worker.ts closeWorkers).
 */
import { ConfigError, loadConfig } from '../src/config/config';
import { DataDirInUse } from '../src/db/data-dir-lock';
import { buildGateway } from '../src/composition-root';
import type { QueueName } from '../src/queue/queues';
import { stopOnSignals } from '../src/shutdown';

export function runWorkers(queues?: readonly QueueName[]): void {
  const main = async () => {
    const gw = await buildGateway(loadConfig());
    gw.relay.start();
    gw.startWorkers(queues);
    gw.log.info({ queues: queues ?? 'all' }, 'workers started');
    stopOnSignals(gw.log, () => gw.close({ graceMs: 6_000 }));
  };
  main().catch((e) => {
    process.stderr.write(
      `${e instanceof ConfigError || e instanceof DataDirInUse ? `gateway worker: ${e.message}` : ((e as Error).stack ?? String(e))}\n`,
    );
    process.exit(1);
  });
}
