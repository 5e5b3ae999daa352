/**
 * The SQL of the parties' answers on a case (spec §10): the case row's `dispute`, a dispute upheld
 * (the case resolved by hand), and the dispute's files (table `case_attachments`, owned here).
 * Callers hold the case row's lock (lockCase) before writing, and append to the audit chain after:
 * the lock order of every writer of cases (case-store.ts).
 */
import type { Sql } from '../db/db';
import type { AttachmentMeta, CaseDispute } from './case-answer-input';
import type { DiscrepancyRow } from './discrepancy-queries';

/** The case, its row locked (FOR UPDATE) until the caller's transaction ends; undefined when there is none. */
export async function lockCase(q: Sql, id: string): Promise<DiscrepancyRow | undefined> {
  const { rows } = await q.query<DiscrepancyRow>('SELECT * FROM discrepancies WHERE id = $1 FOR UPDATE', [id]);
  return rows[0];
}

/** Sets the dispute in force; the case stays as it is otherwise. */
export async function setDispute(q: Sql, id: string, dispute: CaseDispute, at: Date): Promise<void> {
  await q.query('UPDATE discrepancies SET dispute = $2, updated_at = $3 WHERE id = $1', [
    id,
    JSON.stringify(dispute),
    at,
  ]);
}

/**
 * A dispute upheld: the case resolves by hand (resolution `manual`) with the decision's note, so the
 * case planner keeps it closed while its cause is unchanged (plan-case-changes.ts).
 */
export async function resolveByDispute(
  q: Sql,
  id: string,
  dispute: CaseDispute,
  note: string,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE discrepancies SET status = 'resolved', resolution = 'manual', note = $3, resolved_at = $4, updated_at = $4, dispute = $2 WHERE id = $1`,
    [id, JSON.stringify(dispute), note, at],
  );
}

export interface AttachmentRow extends AttachmentMeta {
  discrepancy_id: string;
  step_id: string;
  content: Buffer;
  uploaded_by: string;
  uploaded_at: Date;
}

/** The files of one dispute, in one statement. */
export async function insertAttachments(q: Sql, rows: readonly AttachmentRow[]): Promise<void> {
  if (!rows.length) return;
  const col = <T>(f: (r: AttachmentRow) => T) => rows.map(f);
  await q.query(
    `INSERT INTO case_attachments (id, discrepancy_id, step_id, filename, content_type, bytes, sha256, content, uploaded_by, uploaded_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bytea[], $9::text[], $10::timestamptz[])`,
    [
      col((r) => r.id),
      col((r) => r.discrepancy_id),
      col((r) => r.step_id),
      col((r) => r.filename),
      col((r) => r.content_type),
      col((r) => r.bytes),
      col((r) => r.sha256),
      col((r) => r.content),
      col((r) => r.uploaded_by),
      col((r) => r.uploaded_at),
    ],
  );
}

/** One file of a case (with its bytes). */
export async function getAttachment(q: Sql, caseId: string, id: string): Promise<AttachmentRow | undefined> {
  const { rows } = await q.query<AttachmentRow>(
    'SELECT * FROM case_attachments WHERE discrepancy_id = $1 AND id = $2',
    [caseId, id],
  );
  return rows[0];
}

/** Unresolved cases with a dispute open, by code, in code order; of a region prefix and period (the run summary). */
export async function disputedCountsByCode(
  q: Sql,
  admdvsPrefix: string,
  period: string,
): Promise<{ code: string; n: number }[]> {
  const { rows } = await q.query<{ code: string; n: number }>(
    `SELECT code, count(*)::int AS n FROM discrepancies
      WHERE admdvs LIKE $1 AND period = $2 AND status <> 'resolved' AND dispute->>'status' = 'open' GROUP BY code ORDER BY code`,
    [`${admdvsPrefix}%`, period],
  );
  return rows;
}
