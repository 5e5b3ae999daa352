/**
 * Reconciliation runs in the database. A run is created with its job in the outbox (one
 * transaction), so a 202 always means "will run" even when Redis is briefly down; the relay queues
 * it on 'reconciliation' with jobId = run_id.
 *
 * One run per region-period at a time (unique index on active runs): a request for a region-period
 * whose run is still queued or running gets that run back instead of a second one. Its `as_of` may
 * differ from the one asked for; the caller sees it in the answer and can ask again once it is done.
 *
 * The two clocks (spec §5): `as_of` (business time) and `known_at` (knowledge cut-off). A run asked
 * for without known_at gets the instant the worker starts it; one whose known_at lies before its
 * start is `report_only`: it reproduces a report and changes no discrepancy.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../db/db';
import { RECONCILIATION_QUEUE } from '../queue/queue-names';
import { enqueueJob } from '../queue/outbox';

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface RunRow {
  run_id: string;
  admdvs: string;
  period: string;
  as_of: Date;
  /** Null while a run asked for without one is queued (it becomes the start). */
  known_at: Date | null;
  report_only: boolean;
  status: RunStatus;
  trigger: 'api' | 'nightly';
  requested_by: string;
  summary: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface InstitutionRow {
  fixmedins_code: string;
  declared_cnt: number;
  declared_hifob: string;
  recorded_cnt: number;
  recorded_hifob: string;
  recorded_direct_cnt: number;
  recorded_direct_hifob: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  balanced: boolean;
  /** Outstanding by working days past due as of the run's as_of (spec §10); null on runs before migration 140. */
  ageing?: AgeingRow | null;
}

/** Arrears by age (spec §10): amount strings per bucket. */
export type AgeingRow = Record<'not_due' | 'd1_10' | 'd11_30' | 'd31_60' | 'over_60', string>;

export interface InsurerRow {
  insurer_code: string;
  plan_revision: number | null;
  plan_message_id: string | null;
  planned: string;
  paid: string;
  payments_count: number;
  disbursed: string;
  disbursements: Array<{ disbursement_id: string; message_id: string; amount: string }>;
  ageing?: AgeingRow | null;
}

export interface NewRun {
  admdvs: string;
  period: string;
  asOf: Date;
  knownAt?: Date;
  trigger: 'api' | 'nightly';
  requestedBy: string;
  at: Date;
}

/** Creates a queued run (and its outbox row), or returns the region-period's active run. */
export async function createRun(
  db: { tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> },
  r: NewRun,
): Promise<{ run: RunRow; created: boolean }> {
  return db.tx(async (q) => {
    // Serialise creators of one region-period so the "existing run" read below cannot miss a run
    // another transaction is inserting.
    await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon-create:' || $1 || ':' || $2, 0))`, [
      r.admdvs,
      r.period,
    ]);
    const active = await q.query<RunRow>(
      `SELECT * FROM reconciliation_runs WHERE admdvs = $1 AND period = $2 AND status IN ('queued','running')`,
      [r.admdvs, r.period],
    );
    if (active.rows[0]) return { run: active.rows[0], created: false };
    const id = uuidv7();
    const { rows } = await q.query<RunRow>(
      `INSERT INTO reconciliation_runs (run_id, admdvs, period, as_of, known_at, status, trigger, requested_by, created_at)
       VALUES ($1,$2,$3,$4,$8,'queued',$5,$6,$7) RETURNING *`,
      [id, r.admdvs, r.period, r.asOf, r.trigger, r.requestedBy, r.at, r.knownAt ?? null],
    );
    await enqueueJob(q, RECONCILIATION_QUEUE, { kind: 'run', run_id: id, job_id: id }, id);
    return { run: rows[0]!, created: true };
  });
}

export async function getRun(q: Sql, runId: string): Promise<RunRow | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runId)) return undefined;
  const { rows } = await q.query<RunRow>('SELECT * FROM reconciliation_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function runInstitutions(q: Sql, runId: string): Promise<InstitutionRow[]> {
  const { rows } = await q.query<InstitutionRow>(
    `SELECT fixmedins_code, declared_cnt, declared_hifob, recorded_cnt, recorded_hifob, recorded_direct_cnt, recorded_direct_hifob,
            paid, rejected, recovered, outstanding, balanced, ageing
       FROM reconciliation_institutions WHERE run_id = $1 ORDER BY fixmedins_code`,
    [runId],
  );
  return rows;
}

export async function runInsurers(q: Sql, runId: string): Promise<InsurerRow[]> {
  const { rows } = await q.query<InsurerRow>(
    `SELECT insurer_code, plan_revision, plan_message_id, planned, paid, payments_count, disbursed, disbursements, ageing
       FROM reconciliation_insurers WHERE run_id = $1 ORDER BY insurer_code`,
    [runId],
  );
  return rows;
}

/**
 * Claims a run for the worker; a run already completed or failed for good (job delivered twice) is
 * not claimed. 'running' is claimable: a retry after a crash picks its run up again, with the start,
 * known_at and report_only of its first attempt (SET reads the row as it was).
 */
export async function startRun(q: Sql, runId: string, at: Date): Promise<RunRow | undefined> {
  // The default known_at is the start rounded up to the second: the wire form of times has whole
  // seconds, so a known_at read from a run and asked for again reproduces its report exactly.
  const knownAt = new Date(Math.ceil(at.getTime() / 1000) * 1000);
  const { rows } = await q.query<RunRow>(
    `UPDATE reconciliation_runs SET status = 'running', started_at = coalesce(started_at, $2), error = NULL,
            known_at = coalesce(known_at, $3),
            report_only = coalesce(known_at < coalesce(started_at, $2), false)
      WHERE run_id = $1 AND status IN ('queued','running') RETURNING *`,
    [runId, at, knownAt],
  );
  return rows[0];
}

export async function failRun(q: Sql, runId: string, error: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE reconciliation_runs SET status = 'failed', error = $2, finished_at = $3 WHERE run_id = $1 AND status <> 'completed'`,
    [runId, error.slice(0, 2000), at],
  );
}

export interface RunListFilter {
  admdvs?: string;
  period?: string;
  status?: RunStatus;
}

/** Who may see which runs, as run-view.ts decides for one run (ops: all; the other roles: their own). */
export interface RunListScope {
  admdvs_prefixes?: string[];
  insurer_codes?: string[];
  fixmedins_codes?: string[];
}

/** Keyset position of the last run of a page: created_at to the microsecond (UTC), then run_id. */
export interface RunCursor {
  created_at: string;
  run_id: string;
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeRunCursor(c: RunCursor): string {
  return Buffer.from(JSON.stringify([c.created_at, c.run_id])).toString('base64url');
}

/** The cursor a page returned, or undefined for anything else (the route answers 400). */
export function decodeRunCursor(s: string): RunCursor | undefined {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      CURSOR_AT.test(v[0]) &&
      !Number.isNaN(Date.parse(v[0])) &&
      typeof v[1] === 'string' &&
      RUN_ID.test(v[1])
    )
      return { created_at: v[0], run_id: v[1] };
  } catch {
    /* not a cursor of ours */
  }
  return undefined;
}

/**
 * Run history (spec §10): newest first, keyset-paged on (created_at, run_id). An insurer or an
 * institution sees a run once it has a row of its own in it, as visibleRun does; a run still queued
 * has none yet. The cursor carries created_at as PostgreSQL renders it, to the microsecond, so no
 * run is skipped or repeated between pages (a JS Date would cut it to the millisecond).
 */
export async function listRuns(
  q: Sql,
  f: RunListFilter,
  scope: RunListScope,
  limit: number,
  cursor?: RunCursor,
): Promise<{ items: RunRow[]; next_cursor: string | null }> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (scope.admdvs_prefixes)
    add(
      (p) => `r.admdvs LIKE ANY(${p}::text[])`,
      scope.admdvs_prefixes.map((x) => `${x}%`),
    );
  if (scope.insurer_codes)
    add(
      (p) =>
        `EXISTS (SELECT 1 FROM reconciliation_insurers i WHERE i.run_id = r.run_id AND i.insurer_code = ANY(${p}::text[]))`,
      scope.insurer_codes,
    );
  if (scope.fixmedins_codes)
    add(
      (p) =>
        `EXISTS (SELECT 1 FROM reconciliation_institutions i WHERE i.run_id = r.run_id AND i.fixmedins_code = ANY(${p}::text[]))`,
      scope.fixmedins_codes,
    );
  // admdvs filters like the discrepancy list: the runs of a region and of the regions under it.
  if (f.admdvs) add((p) => `r.admdvs LIKE ${p}`, `${f.admdvs}%`);
  if (f.period) add((p) => `r.period = ${p}`, f.period);
  if (f.status) add((p) => `r.status = ${p}`, f.status);
  if (cursor) {
    params.push(cursor.created_at, cursor.run_id);
    where.push(`(r.created_at, r.run_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const { rows } = await q.query<RunRow & { cursor_at: string }>(
    `SELECT r.*, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM reconciliation_runs r ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY r.created_at DESC, r.run_id DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  const items = page.map(({ cursor_at: _c, ...run }) => run as RunRow);
  return {
    items,
    next_cursor: more && last ? encodeRunCursor({ created_at: last.cursor_at, run_id: last.run_id }) : null,
  };
}

/** An insurer's arrears by age in the latest completed run of a region-period (what /metrics shows). */
export interface InsurerAgeingRow {
  admdvs: string;
  period: string;
  insurer_code: string;
  ageing: AgeingRow;
}

/**
 * The insurer rows' ageing of the latest completed run (report-only runs reproduce the past: left
 * out) of each region-period from `fromPeriod` on. Rows before migration 140 carry none.
 */
export async function latestInsurerAgeing(q: Sql, fromPeriod: string): Promise<InsurerAgeingRow[]> {
  const { rows } = await q.query<InsurerAgeingRow>(
    `WITH latest AS (
       SELECT DISTINCT ON (admdvs, period) run_id, admdvs, period FROM reconciliation_runs
        WHERE status = 'completed' AND NOT report_only AND period >= $1
        ORDER BY admdvs, period, finished_at DESC, run_id DESC
     )
     SELECT l.admdvs, l.period, i.insurer_code, i.ageing
       FROM latest l JOIN reconciliation_insurers i ON i.run_id = l.run_id
      WHERE i.ageing IS NOT NULL
      ORDER BY l.admdvs, l.period, i.insurer_code`,
    [fromPeriod],
  );
  return rows;
}
