/**
 * Stopping a gateway process on SIGTERM (docker stop) or SIGINT (Ctrl-C), within a bound whatever is
 * unreachable. Without Redis the old shutdown waited on its connections for ever and only kill -9
 * ended it. Nothing accepted is lost by not waiting: a 202 means the write and its outbox row were
 * committed, and jobs cut short run again. The bound stays under docker's default stop timeout (10 s),
 * so the process exits on its own rather than by SIGKILL. A second signal exits at once.
 */
import type { Server } from 'node:http';
import type { Logger } from './logging/logger';

/** Under `docker stop`'s default 10 s. */
export const SHUTDOWN_BOUND_MS = 9_000;

export function stopOnSignals(log: Logger, stop: () => Promise<void>, boundMs = SHUTDOWN_BOUND_MS): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, `shutting down (within ${Math.round(boundMs / 1000)} s; a second Ctrl-C exits at once)`);
    const t0 = Date.now();
    const deadline = setTimeout(() => {
      log.warn(
        { bound_ms: boundMs },
        'shutdown did not finish in time; exiting anyway (what was accepted is in the database and its outbox)',
      );
      process.exit(1);
    }, boundMs);
    deadline.unref();
    stop().then(
      () => {
        log.info({ ms: Date.now() - t0 }, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.warn({ err }, 'shutdown failed; exiting');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Stop accepting connections and let the requests in progress finish, for at most `ms`; then close
 * what is still open. (server.close alone also closes idle keep-alive connections, Node ≥ 19.)
 */
export function closeServer(server: Server, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, ms);
    t.unref();
    server.close(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
