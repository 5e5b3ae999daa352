/**
 * The 'reconciliation' queue: `run` jobs (jobId = run_id, queued through the outbox) and `nightly`
 * jobs, which the gateway schedules for itself per configured region with a BullMQ job scheduler
 * (cron in Asia/Shanghai). A nightly job first pulls the region's new settlements from the agency
 * platform when a pull URL is configured, then asks for two runs as of now: the previous month
 * (payments for it are still arriving and its deadlines lapse this month) and the current month.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Config } from '../config/config';
import { RECONCILIATION_QUEUE, type Queues } from '../queue/queues';
import { addMonths, periodOf, toCstIso } from '../time';
import { pullAgencySettlements, type PullDeps } from '../agency-pull/agency-pull';
import { executeRun, type RunDeps } from './run-reconciliation';
import { createRun, failRun } from './run-store';
import { executeStatement, fundPolicyOf, fundYearWindow } from '../fund/statement-service';
import { createStatement, failStatement } from '../fund/statement-store';

export type ReconciliationJob =
  | { kind: 'run'; run_id: string }
  | { kind: 'nightly'; admdvs: string }
  // A fund-year statement (spec §8, src/fund): computed on this queue, like a run.
  | { kind: 'fund_statement'; statement_id: string };

/** What the queue's jobs need: a run's, a pull's (the nightly job pulls first), and the relay to kick. */
export interface ReconciliationWorkerDeps extends RunDeps, PullDeps {}

/** Scheduler ids name their region; BullMQ keys use ':' so the id avoids it. */
export const nightlySchedulerId = (admdvs: string) => `nightly-${admdvs}`;

/** The 'reconciliation' queue's process function (startWorker runs it: the root's startWorkers, workers/reconciliation.ts). */
export async function processReconciliationJob(
  gw: ReconciliationWorkerDeps,
  job: Job<ReconciliationJob>,
): Promise<'completed' | 'skipped' | { runs: string[] }> {
  const data = job.data;
  if (data.kind === 'run') {
    const run = await executeRun(gw, data.run_id);
    return run ? 'completed' : 'skipped';
  }
  if (data.kind === 'nightly') return nightly(gw, data.admdvs);
  if (data.kind === 'fund_statement') return (await executeStatement(gw, data.statement_id)) ? 'completed' : 'skipped';
  throw new UnrecoverableError(`unknown reconciliation job kind ${(data as { kind?: string }).kind}`);
}

/** A run whose job failed for good is marked failed (its error in the run). */
export async function onReconciliationJobFailed(
  gw: Pick<RunDeps, 'db' | 'now'>,
  job: Job<ReconciliationJob>,
  err: Error,
): Promise<void> {
  if (job.data.kind === 'run') await failRun(gw.db, job.data.run_id, err.message, new Date(gw.now()));
  if (job.data.kind === 'fund_statement')
    await failStatement(gw.db, job.data.statement_id, err.message, new Date(gw.now()));
}

async function nightly(gw: ReconciliationWorkerDeps, admdvs: string): Promise<{ runs: string[] }> {
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
    const { run } = await createRun(gw.db, {
      admdvs,
      period,
      asOf: now,
      trigger: 'nightly',
      requestedBy: 'scheduler',
      at: now,
    });
    runs.push(run.run_id);
  }
  // The fund-year statements of the region (spec §8): the current fund year and the one before (its
  // cost reports and late payments still arrive), so their cases open and resolve with the nights.
  const fund = fundPolicyOf(gw.regions.regionFor(admdvs));
  const cstYear = Number(toCstIso(now).slice(0, 4));
  const year = now < fundYearWindow(fund, cstYear).from ? cstYear - 1 : cstYear;
  for (const fundYear of [year - 1, year]) {
    const st = await createStatement(gw.db, {
      admdvs,
      fundYear,
      asOf: now,
      trigger: 'nightly',
      requestedBy: 'scheduler',
      at: now,
    });
    runs.push(st.statement_id);
  }
  gw.relay.kick();
  return { runs };
}

/**
 * Upserts one job scheduler per configured region (GATEWAY_NIGHTLY_REGIONS, GATEWAY_NIGHTLY_CRON,
 * Asia/Shanghai) and removes those of regions no longer configured. Upserting is idempotent, so every
 * process that starts workers may call it.
 */
export async function scheduleNightlyRuns(gw: {
  queues: Pick<Queues, 'get'>;
  cfg: Pick<Config, 'nightlyRegions' | 'nightlyCron'>;
}): Promise<string[]> {
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
      {
        name: 'nightly',
        data: { kind: 'nightly', admdvs },
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 60_000 },
          removeOnComplete: { count: 100 },
          removeOnFail: { age: 7 * 86_400 },
        },
      },
    );
  }
  return [...wanted];
}
