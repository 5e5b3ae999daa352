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

export const RECONCILIATION_QUEUE = 'reconciliation';

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface RunRow {
  run_id: string; admdvs: string; period: string; as_of: Date;
  /** Null while a run asked for without one is queued (it becomes the start). */
  known_at: Date | null; report_only: boolean; status: RunStatus; trigger: 'api' | 'nightly';
  requested_by: string; summary: Record<string, unknown> | null; error: string | null;
  created_at: Date; started_at: Date | null; finished_at: Date | null;
}

export interface InstitutionRow {
  fixmedins_code: string; declared_cnt: number; declared_hifob: string; recorded_cnt: number; recorded_hifob: string;
  recorded_direct_cnt: number; recorded_direct_hifob: string; paid: string; rejected: string; recovered: string;
  outstanding: string; balanced: boolean;
}

export interface InsurerRow {
  insurer_code: string; plan_revision: number | null; plan_message_id: string | null; planned: string; paid: string;
  payments_count: number; disbursed: string; disbursements: Array<{ disbursement_id: string; message_id: string; amount: string }>;
}

export interface NewRun { admdvs: string; period: string; asOf: Date; knownAt?: Date; trigger: 'api' | 'nightly'; requestedBy: string; at: Date }

/** Creates a queued run (and its outbox row), or returns the region-period's active run. */
export async function createRun(db: { tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> }, r: NewRun): Promise<{ run: RunRow; created: boolean }> {
  return db.tx(async (q) => {
    // Serialise creators of one region-period so the "existing run" read below cannot miss a run
    // another transaction is inserting.
    await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon-create:' || $1 || ':' || $2, 0))`, [r.admdvs, r.period]);
    const active = await q.query<RunRow>(`SELECT * FROM reconciliation_runs WHERE admdvs = $1 AND period = $2 AND status IN ('queued','running')`, [r.admdvs, r.period]);
    if (active.rows[0]) return { run: active.rows[0], created: false };
    const id = uuidv7();
    const { rows } = await q.query<RunRow>(
      `INSERT INTO reconciliation_runs (run_id, admdvs, period, as_of, known_at, status, trigger, requested_by, created_at)
       VALUES ($1,$2,$3,$4,$8,'queued',$5,$6,$7) RETURNING *`,
      [id, r.admdvs, r.period, r.asOf, r.trigger, r.requestedBy, r.at, r.knownAt ?? null],
    );
    await q.query(
      `INSERT INTO outbox (message_id, queue, payload) VALUES ($1::uuid, $2, jsonb_build_object('kind', 'run', 'run_id', $3::text, 'job_id', $3::text))`,
      [id, RECONCILIATION_QUEUE, id],
    );
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
            paid, rejected, recovered, outstanding, balanced
       FROM reconciliation_institutions WHERE run_id = $1 ORDER BY fixmedins_code`, [runId],
  );
  return rows;
}

export async function runInsurers(q: Sql, runId: string): Promise<InsurerRow[]> {
  const { rows } = await q.query<InsurerRow>(
    `SELECT insurer_code, plan_revision, plan_message_id, planned, paid, payments_count, disbursed, disbursements
       FROM reconciliation_insurers WHERE run_id = $1 ORDER BY insurer_code`, [runId],
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
      WHERE run_id = $1 AND status IN ('queued','running') RETURNING *`, [runId, at, knownAt],
  );
  return rows[0];
}

export async function failRun(q: Sql, runId: string, error: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE reconciliation_runs SET status = 'failed', error = $2, finished_at = $3 WHERE run_id = $1 AND status <> 'completed'`,
    [runId, error.slice(0, 2000), at],
  );
}
