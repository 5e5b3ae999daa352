/**
 * The 'reconciliation' queue: `run` jobs (jobId = run_id, queued through the outbox) and `nightly`
 * jobs, which the gateway schedules for itself per configured region with a BullMQ job scheduler
 * (cron in Asia/Shanghai). A nightly job first pulls the region's new settlements from the agency
 * platform when a pull URL is configured, then asks for two runs as of now: the previous month
 * (payments for it are still arriving and its deadlines lapse this month) and the current month.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Gateway } from '../composition-root';
import { workerConnection, workerErrorLog } from '../queue/queues';
import { addMonths, periodOf } from '../time';
import { pullAgencySettlements } from '../agency-pull/agency-pull';
import { executeRun } from './run-reconciliation';
import { createRun, failRun, RECONCILIATION_QUEUE } from './run-store';

export type ReconciliationJob = { kind: 'run'; run_id: string } | { kind: 'nightly'; admdvs: string };

/** Scheduler ids name their region; BullMQ keys use ':' so the id avoids it. */
export const nightlySchedulerId = (admdvs: string) => `nightly-${admdvs}`;

export function startReconciliationWorker(gw: Gateway): Worker {
  const connection = workerConnection(gw.cfg.redisUrl);
  const worker = new Worker<ReconciliationJob>(
    RECONCILIATION_QUEUE,
    async (job: Job<ReconciliationJob>) => {
      const data = job.data;
      if (data.kind === 'run') {
        const run = await executeRun(gw, data.run_id);
        return run ? 'completed' : 'skipped';
      }
      if (data.kind === 'nightly') return nightly(gw, data.admdvs);
      throw new UnrecoverableError(`unknown reconciliation job kind ${(data as { kind?: string }).kind}`);
    },
    { connection: connection as ConnectionOptions, prefix: gw.cfg.queuePrefix, concurrency: 2, autorun: true },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    gw.log[final ? 'error' : 'warn']({ err, job: job.name, data: job.data, attempt: job.attemptsMade }, final ? 'reconciliation job failed for good' : 'reconciliation job failed; will retry');
    if (final && job.data.kind === 'run') void failRun(gw.db, job.data.run_id, err.message, new Date(gw.now())).catch(() => undefined);
  });
  worker.on('error', workerErrorLog(gw.log, 'reconciliation worker', gw.cfg.redisUrl));
  worker.on('closed', () => connection.disconnect());
  return worker;
}

async function nightly(gw: Gateway, admdvs: string): Promise<{ runs: string[] }> {
  if (gw.cfg.agencyPullUrl) {
    try {
      await pullAgencySettlements(gw, admdvs);
    } catch (err) {
      // A platform that is down must not cost the night's reconciliation: reconcile what we have.
      gw.log.warn({ err, admdvs }, 'agency pull failed; reconciling without it');
    }
  }
  const now = new Date(gw.now());
  const current = periodOf(now);
  const runs: string[] = [];
  for (const period of [addMonths(current, -1), current]) {
    const { run } = await createRun(gw.db, { admdvs, period, asOf: now, trigger: 'nightly', requestedBy: 'scheduler', at: now });
    runs.push(run.run_id);
  }
  gw.relay.kick();
  return { runs };
}

/**
 * Upserts one job scheduler per configured region (GATEWAY_NIGHTLY_REGIONS, GATEWAY_NIGHTLY_CRON,
 * Asia/Shanghai) and removes those of regions no longer configured. Upserting is idempotent, so every
 * process that starts workers may call it.
 */
export async function scheduleNightlyRuns(gw: Gateway): Promise<string[]> {
  const queue = gw.queues.get(RECONCILIATION_QUEUE);
  const wanted = new Set(gw.cfg.nightlyRegions.map(nightlySchedulerId));
  for (const s of await queue.getJobSchedulers()) {
    const id = s.key;
    if (id.startsWith('nightly-') && !wanted.has(id)) await queue.removeJobScheduler(id);
  }
  for (const admdvs of gw.cfg.nightlyRegions) {
    await queue.upsertJobScheduler(
      nightlySchedulerId(admdvs),
      { pattern: gw.cfg.nightlyCron, tz: 'Asia/Shanghai' },
      { name: 'nightly', data: { kind: 'nightly', admdvs }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { count: 100 }, removeOnFail: { age: 7 * 86_400 } } },
    );
  }
  return [...wanted];
}
