/**
 * What the benefit audit (src/benefits) reads of the settlement records: the people and times a feed
 * message touched, the rows of person-years, one settlement's rows, and the settlements a region-month
 * owes for its summary. Rows as stored (valid and reversal); benefits/audit-records.ts merges them.
 */
import type { Sql } from '../db/db';

/** A settlement_records row as the audit reads it (setldetail: the stored JSON, as sent). */
export interface BenefitRecordRow {
  setl_id: string;
  status: 'valid' | 'reversed';
  message_id: string;
  psn_no: string;
  insuplc_admdvs: string;
  mdtrtarea_admvs: string;
  fixmedins_code: string;
  insurer_code: string;
  setl_time: Date;
  period: string;
  hifob_pay: string;
  setldetail: unknown[] | null;
  referral: boolean | null;
}

const COLUMNS = `r.setl_id, r.status, r.message_id, r.psn_no, r.insuplc_admdvs, r.mdtrtarea_admvs, r.fixmedins_code, r.insurer_code,
  r.setl_time, r.period, r.hifob_pay, r.setldetail, r.referral`;

/**
 * The distinct (insuplc_admdvs, psn_no, setl_time) of both rows of every setl_id the messages carried,
 * so a reversal names the person-time of the record it reverses too.
 */
export async function personTimesOfMessages(
  q: Sql,
  messageIds: readonly string[],
): Promise<{ insuplc_admdvs: string; psn_no: string; setl_time: Date }[]> {
  if (!messageIds.length) return [];
  const { rows } = await q.query<{ insuplc_admdvs: string; psn_no: string; setl_time: Date }>(
    `SELECT DISTINCT r.insuplc_admdvs, r.psn_no, r.setl_time FROM settlement_records r
      WHERE r.setl_id IN (SELECT setl_id FROM settlement_records WHERE message_id = ANY($1::uuid[]))`,
    [messageIds],
  );
  return rows;
}

/** A person's time window: settlements of psn_no with from ≤ setl_time < to. */
export interface PersonWindow {
  psn_no: string;
  from: Date;
  to: Date;
}

/**
 * Every row (valid and reversal) of the setl_ids that have a row of one of these people inside their
 * window and under one of the region's admdvs LIKE patterns, ordered by setl_id, the valid row first.
 */
export async function loadPersonWindowRows(
  q: Sql,
  windows: readonly PersonWindow[],
  admdvsLike: readonly string[],
): Promise<BenefitRecordRow[]> {
  if (!windows.length) return [];
  const { rows } = await q.query<BenefitRecordRow>(
    `WITH k AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS k(psn_no, t0, t1)),
     ids AS (
       SELECT DISTINCT s.setl_id FROM settlement_records s JOIN k ON s.psn_no = k.psn_no AND s.setl_time >= k.t0 AND s.setl_time < k.t1
        WHERE s.insuplc_admdvs LIKE ANY($4::text[]))
     SELECT ${COLUMNS} FROM settlement_records r JOIN ids USING (setl_id) ORDER BY r.setl_id, r.status DESC`,
    [windows.map((w) => w.psn_no), windows.map((w) => w.from), windows.map((w) => w.to), admdvsLike],
  );
  return rows;
}

/** Both rows of one setl_id, the valid row first. */
export async function loadBenefitRecordRows(q: Sql, setlId: string): Promise<BenefitRecordRow[]> {
  const { rows } = await q.query<BenefitRecordRow>(
    `SELECT ${COLUMNS} FROM settlement_records r WHERE r.setl_id = $1 ORDER BY r.status DESC`,
    [setlId],
  );
  return rows;
}

/**
 * A region-month's valid settlements that are not reversed (a reversal owes nothing), as a SELECT of
 * `setl_id` — insuplc_admdvs under the prefix in parameter `$1` (digits only, checked by the caller),
 * `period` yyyy-MM in `$2`. The benefit summary counts their stored results in the same statement
 * (benefits/audit.ts): the month's ids used to go to the caller and back as an array parameter (1.25 s
 * of a 300k month's first run).
 */
export const UNREVERSED_MONTH = `
  SELECT s.setl_id FROM settlement_records s
   WHERE s.status = 'valid' AND s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2
     AND NOT EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = s.setl_id AND x.status = 'reversed')`;
