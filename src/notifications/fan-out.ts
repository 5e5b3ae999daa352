/**
 * From discrepancies to deliveries. Critical cases go out at once: `syncGroups` queues a
 * `notifications` job in the transaction that opens the case (durable through the outbox). The rest
 * go out as one digest per subscriber per reconciliation run, never one message per case. Jobs
 * carry ids only (no personal data); the worker loads the case and matches subscribers' filters.
 */
import crypto from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Job } from 'bullmq';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import { getDiscrepancy, nonCriticalCasesDetected, nonCriticalCasesOf } from '../discrepancies/discrepancy-queries';
import { toCstIso } from '../time';
import { caseFor, mayRead, subscriberReader, type OwnerLookup } from './audience';
import { createDelivery } from './delivery-store';
import { NOTIFICATIONS_QUEUE } from '../queue/queue-names';
import { enqueueJob } from '../queue/outbox';
import type { DigestData } from './formats';
import { enabledSubscribers, matchesFilter, matchingSubscribers } from './subscriber-store';
import type { CaseStepJob } from './case-step-hook';
import { fanOutCaseStep } from './case-steps';

/** More ids than this in one digest are counted but not listed (a chat message has a size limit). */
export const DIGEST_MAX_IDS = 200;

/**
 * A digest: the non-critical cases of the region-period detected in the window, less `exceptCodes`, plus the cases `ids`
 * (a run's: the premium-chain cases its sweep opened, of any period). `onlyIds`: just the cases `ids`, the window only
 * labels it (a fund statement's or a fund message's digest: the cases it opened).
 */
export interface DigestSpec {
  run_id?: string;
  admdvs?: string;
  period?: string;
  window_start: Date | string;
  window_end: Date | string;
  exceptCodes?: readonly string[];
  ids?: readonly string[];
  onlyIds?: boolean;
}
interface DigestJob {
  kind: 'digest';
  key: string;
  run_id?: string;
  admdvs?: string;
  period?: string;
  window_start: string;
  window_end: string;
  except_codes?: string[];
  ids?: string[];
  only_ids?: boolean;
}

/**
 * Queue the digest of a run (the reconciliation engine calls this at the end of each run). Pass the
 * gateway (committed now, relay kicked) or the run's own transaction (committed with the run).
 * Idempotent per run_id (or per identical spec): a run that finishes twice sends one digest.
 */
export async function enqueueDigest(
  target: { db: Db; relay: { kick(): void } } | Sql,
  spec: DigestSpec,
): Promise<string> {
  const start = new Date(spec.window_start),
    end = new Date(spec.window_end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end)
    throw new RangeError('enqueueDigest: window_start must be a time before window_end');
  const ident =
    spec.run_id ??
    crypto
      .createHash('sha256')
      .update(canonicalize({ ...spec, window_start: start.toISOString(), window_end: end.toISOString() }) ?? '')
      .digest('hex')
      .slice(0, 32);
  const key = ident.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
  const job: DigestJob & { job_id: string } = {
    kind: 'digest',
    key,
    job_id: `digest-${key}`,
    window_start: start.toISOString(),
    window_end: end.toISOString(),
    ...(spec.run_id ? { run_id: spec.run_id } : {}),
    ...(spec.admdvs ? { admdvs: spec.admdvs } : {}),
    ...(spec.period ? { period: spec.period } : {}),
    ...(spec.exceptCodes?.length ? { except_codes: [...spec.exceptCodes] } : {}),
    ...(spec.ids?.length ? { ids: [...spec.ids] } : {}),
    ...(spec.onlyIds ? { only_ids: true } : {}),
  };
  const insert = (q: Sql) => enqueueJob(q, NOTIFICATIONS_QUEUE, job);
  if ('relay' in target) {
    await insert(target.db);
    target.relay.kick();
  } else await insert(target);
  return job.job_id;
}

export interface FanOutDeps {
  db: Db;
  log: Logger;
  now: () => number;
  relay: { kick(): void };
  /** The clients registry: an insurer's callback is read with its owner's scope now (audience.ts). */
  clients?: OwnerLookup;
}

/**
 * One delivery per matching subscriber for a critical case; returns how many were created. Each
 * body is the case as the subscriber's owner may read it (audience.ts): an insurer's callback gets
 * its own rows of the evidence, an ops channel the whole case.
 */
export async function fanOutCritical(deps: FanOutDeps, discrepancyId: string): Promise<number> {
  const at = new Date(deps.now());
  const n = await deps.db.tx(async (q) => {
    const d = await getDiscrepancy(q, discrepancyId);
    if (!d || d.severity !== 'critical') return 0;
    let created = 0;
    for (const sub of await matchingSubscribers(q, d)) {
      const seen = await caseFor(q, d, subscriberReader(sub, deps.clients));
      if (!seen) continue;
      if (
        await createDelivery(
          q,
          sub,
          `critical:${d.id}`,
          { type: 'discrepancy.critical', at, data: seen.data },
          at,
          seen.mask,
        )
      )
        created++;
    }
    return created;
  });
  if (n) deps.relay.kick();
  return n;
}

/**
 * One digest per subscriber with at least one matching non-critical case opened in the window; an
 * insurer's digest lists and counts only the cases its owner may read.
 */
export async function fanOutDigest(deps: FanOutDeps, job: DigestJob): Promise<number> {
  const at = new Date(deps.now());
  const n = await deps.db.tx(async (q) => {
    const rows = job.only_ids
      ? await nonCriticalCasesOf(q, job.ids ?? [])
      : await nonCriticalCasesDetected(q, {
          from: job.window_start,
          to: job.window_end,
          admdvsPrefix: job.admdvs,
          period: job.period,
          exceptCodes: job.except_codes,
          alsoIds: job.ids,
        });
    if (!rows.length) return 0;
    const subs = await enabledSubscribers(q);
    let created = 0;
    for (const sub of subs) {
      const reader = subscriberReader(sub, deps.clients);
      const mine = rows.filter((r) => matchesFilter(sub.filter, r) && mayRead(reader, r));
      if (!mine.length) continue;
      if (
        await createDelivery(
          q,
          sub,
          `digest:${job.key}`,
          { type: 'discrepancy.digest', at, data: digestData(job, mine) },
          at,
        )
      )
        created++;
    }
    return created;
  });
  if (n) deps.relay.kick();
  return n;
}

export function digestData(
  job: Omit<DigestJob, 'kind' | 'key' | 'except_codes' | 'ids' | 'only_ids'>,
  cases: { id: string; code: string; severity: string }[],
): DigestData {
  const count = (k: 'code' | 'severity') =>
    Object.fromEntries(
      [...cases.reduce((m, c) => m.set(c[k], (m.get(c[k]) ?? 0) + 1), new Map<string, number>())].sort(([a], [b]) =>
        a.localeCompare(b),
      ),
    );
  return {
    ...(job.run_id ? { run_id: job.run_id } : {}),
    ...(job.admdvs ? { admdvs: job.admdvs } : {}),
    ...(job.period ? { period: job.period } : {}),
    window: { start: toCstIso(new Date(job.window_start)), end: toCstIso(new Date(job.window_end)) },
    total: cases.length,
    counts_by_code: count('code'),
    counts_by_severity: count('severity'),
    discrepancy_ids: cases.slice(0, DIGEST_MAX_IDS).map((c) => c.id),
    truncated: cases.length > DIGEST_MAX_IDS,
  };
}

/** A critical case's job (critical-hook.ts), a run's digest (enqueueDigest) or a step on a case (case-step-hook.ts). */
export type NotificationJob = { discrepancy_id?: string } | DigestJob | CaseStepJob;

/** The 'notifications' queue's process function (startWorker runs it: the root's startWorkers, workers/notifications.ts). */
export async function processNotificationJob(
  deps: FanOutDeps,
  job: Job<NotificationJob>,
): Promise<{ deliveries: number }> {
  const d = job.data;
  if ('kind' in d && d.kind === 'digest') return { deliveries: await fanOutDigest(deps, d) };
  if ('kind' in d && d.kind === 'case_step') return { deliveries: await fanOutCaseStep(deps, d) };
  if ('discrepancy_id' in d && d.discrepancy_id) return { deliveries: await fanOutCritical(deps, d.discrepancy_id) };
  return { deliveries: 0 };
}
