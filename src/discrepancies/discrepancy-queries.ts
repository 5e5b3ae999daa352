/** Reads of the discrepancy ledger, filtered to the caller's scope, with keyset (cursor) pagination. */
import type { Sql } from '../db/db';
import type { ScopeFilter } from '../http/auth';
import { toCstIso } from '../time';
import { auditHistory, type AuditEntry } from '../audit/audit-trail';
import type { CaseDispute } from './case-answer-input';

export interface DiscrepancyFilter {
  code?: string;
  status?: string;
  severity?: string;
  admdvs?: string;
  insurer_code?: string;
  fixmedins_code?: string;
  period?: string;
  setl_id?: string;
}

export interface DiscrepancyRow {
  id: string;
  code: string;
  severity: string;
  status: string;
  resolution: string | null;
  admdvs: string;
  insurer_code: string;
  fixmedins_code: string | null;
  period: string;
  setl_id: string | null;
  subject_key: string;
  expected_amount: string | null;
  actual_amount: string | null;
  difference: string | null;
  detail: string;
  evidence: unknown;
  occurrences: number;
  detected_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  reopens: string | null;
  note: string | null;
  /** The dispute in force (spec §10), when a party disputed the case. */
  dispute?: CaseDispute | null;
}

/** SQL conditions for a scope; appends to `params`. */
export function scopeSql(
  scope: ScopeFilter,
  params: unknown[],
  cols = { insurer: 'insurer_code', fixmedins: 'fixmedins_code', admdvs: 'admdvs' },
): string[] {
  const where: string[] = [];
  if (scope.insurer_codes) {
    params.push(scope.insurer_codes);
    where.push(`${cols.insurer} = ANY($${params.length}::text[])`);
  }
  if (scope.fixmedins_codes) {
    params.push(scope.fixmedins_codes);
    where.push(`${cols.fixmedins} = ANY($${params.length}::text[])`);
  }
  if (scope.admdvs_prefixes) {
    params.push(scope.admdvs_prefixes.map((p) => `${p}%`));
    where.push(`${cols.admdvs} LIKE ANY($${params.length}::text[])`);
  }
  if (scope.codes) {
    params.push(scope.codes);
    where.push(`code = ANY($${params.length}::text[])`);
  }
  return where;
}

export async function listDiscrepancies(
  q: Sql,
  f: DiscrepancyFilter,
  scope: ScopeFilter,
  limit: number,
  cursor?: string,
): Promise<{ items: DiscrepancyRow[]; next_cursor: string | null }> {
  const params: unknown[] = [];
  const where = scopeSql(scope, params);
  const eq = (col: keyof DiscrepancyFilter) => {
    const v = f[col];
    if (v !== undefined) {
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
  };
  for (const c of ['code', 'status', 'severity', 'insurer_code', 'fixmedins_code', 'period', 'setl_id'] as const) eq(c);
  if (f.admdvs) {
    params.push(`${f.admdvs}%`);
    where.push(`admdvs LIKE $${params.length}`);
  }
  if (cursor) {
    params.push(cursor);
    where.push(`id < $${params.length}::uuid`);
  }
  params.push(limit + 1);
  const { rows } = await q.query<DiscrepancyRow>(
    `SELECT * FROM discrepancies ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next_cursor: more ? Buffer.from(items[items.length - 1]!.id).toString('base64url') : null };
}

export async function getDiscrepancy(q: Sql, id: string): Promise<DiscrepancyRow | undefined> {
  const { rows } = await q.query<DiscrepancyRow>('SELECT * FROM discrepancies WHERE id = $1', [id]);
  return rows[0];
}

/** A case's history: its audit events, oldest first. */
export function discrepancyHistory(q: Sql, id: string): Promise<AuditEntry[]> {
  return auditHistory(q, 'discrepancy', id);
}

/** The cases of one settlement the scope may read, oldest first (the settlement read). */
export async function casesOfSettlement(q: Sql, setlId: string, scope: ScopeFilter): Promise<DiscrepancyRow[]> {
  const params: unknown[] = [setlId];
  const where = ['setl_id = $1', ...scopeSql(scope, params)];
  const { rows } = await q.query<DiscrepancyRow>(
    `SELECT * FROM discrepancies WHERE ${where.join(' AND ')} ORDER BY detected_at, id`,
    params,
  );
  return rows;
}

/** Open cases (status `open`, not acknowledged) by code and severity (the metrics gauge). */
export async function openCaseCounts(q: Sql): Promise<{ code: string; severity: string; n: string }[]> {
  const { rows } = await q.query<{ code: string; severity: string; n: string }>(
    `SELECT code, severity, count(*) AS n FROM discrepancies WHERE status = 'open' GROUP BY code, severity`,
  );
  return rows;
}

/** Unresolved cases (open or acknowledged) by code, in code order; of a region prefix and period when given. */
export async function unresolvedCountsByCode(
  q: Sql,
  of?: { admdvsPrefix: string; period: string },
): Promise<{ code: string; n: number }[]> {
  const { rows } = of
    ? await q.query<{ code: string; n: number }>(
        `SELECT code, count(*)::int AS n FROM discrepancies WHERE admdvs LIKE $1 AND period = $2 AND status <> 'resolved' GROUP BY code ORDER BY code`,
        [`${of.admdvsPrefix}%`, of.period],
      )
    : await q.query<{ code: string; n: number }>(
        `SELECT code, count(*)::int AS n FROM discrepancies WHERE status <> 'resolved' GROUP BY code ORDER BY code`,
      );
  return rows;
}

/** Of the cases `ids`, those of a region prefix and period, by code, in code order. */
export async function countsByCodeOf(
  q: Sql,
  ids: readonly string[],
  admdvsPrefix: string,
  period: string,
): Promise<{ code: string; n: number }[]> {
  if (!ids.length) return [];
  const { rows } = await q.query<{ code: string; n: number }>(
    `SELECT code, count(*)::int AS n FROM discrepancies WHERE id = ANY($3::uuid[]) AND admdvs LIKE $1 AND period = $2 GROUP BY code ORDER BY code`,
    [`${admdvsPrefix}%`, period, ids],
  );
  return rows;
}

/** The group keys of the open PLAN_VARIANCE and DISBURSEMENT_MISMATCH cases of a region and period. */
export async function openPlanCaseGroups(q: Sql, admdvs: string, period: string): Promise<string[]> {
  const { rows } = await q.query<{ group_key: string }>(
    `SELECT DISTINCT group_key FROM discrepancies
      WHERE status <> 'resolved' AND code IN ('PLAN_VARIANCE','DISBURSEMENT_MISMATCH') AND admdvs = $1 AND period = $2
        AND (group_key LIKE 'plan:%' OR group_key LIKE 'disb:%')`,
    [admdvs, period],
  );
  return rows.map((r) => r.group_key);
}

/** The institution-periods of a region prefix and period with an unresolved DECLARATION_MISSING case. */
export async function openDeclarationMissingKeys(
  q: Sql,
  admdvsPrefix: string,
  period: string,
): Promise<{ fixmedins_code: string; insurer_code: string; period: string }[]> {
  const { rows } = await q.query<{ fixmedins_code: string; insurer_code: string; period: string }>(
    `SELECT DISTINCT fixmedins_code, insurer_code, period FROM discrepancies
      WHERE code = 'DECLARATION_MISSING' AND status <> 'resolved' AND admdvs LIKE $1 || '%' AND period = $2 AND fixmedins_code IS NOT NULL`,
    [admdvsPrefix, period],
  );
  return rows;
}

export interface DigestCase {
  id: string;
  code: string;
  severity: string;
  insurer_code: string;
  fixmedins_code: string | null;
  admdvs: string;
}

/** The non-critical ones of these cases, in id order (a digest of the cases a fund statement or premium-chain check opened). */
export async function nonCriticalCasesOf(q: Sql, ids: readonly string[]): Promise<DigestCase[]> {
  if (!ids.length) return [];
  const { rows } = await q.query<DigestCase>(
    `SELECT id, code, severity, insurer_code, fixmedins_code, admdvs FROM discrepancies WHERE id = ANY($1::uuid[]) AND severity <> 'critical' ORDER BY id`,
    [ids],
  );
  return rows;
}

/**
 * Non-critical cases detected in [from, to), of a region prefix and period when given, in id order (a digest's cases);
 * `exceptCodes`: codes left out (the fund codes, which have digests of their own), `alsoIds`: cases listed besides the window's.
 */
export async function nonCriticalCasesDetected(
  q: Sql,
  w: {
    from: string | Date;
    to: string | Date;
    admdvsPrefix?: string;
    period?: string;
    exceptCodes?: readonly string[];
    alsoIds?: readonly string[];
  },
): Promise<DigestCase[]> {
  const params: unknown[] = [w.from, w.to];
  const where = [`detected_at >= $1`, `detected_at < $2`];
  if (w.admdvsPrefix) {
    params.push(`${w.admdvsPrefix}%`);
    where.push(`admdvs LIKE $${params.length}`);
  }
  if (w.period) {
    params.push(w.period);
    where.push(`period = $${params.length}`);
  }
  if (w.exceptCodes?.length) {
    params.push(w.exceptCodes);
    where.push(`code <> ALL($${params.length}::text[])`);
  }
  if (w.alsoIds?.length) {
    params.push(w.alsoIds);
    const { rows } = await q.query<DigestCase>(
      `SELECT id, code, severity, insurer_code, fixmedins_code, admdvs FROM discrepancies
        WHERE severity <> 'critical' AND ((${where.join(' AND ')}) OR id = ANY($${params.length}::uuid[])) ORDER BY id`,
      params,
    );
    return rows;
  }
  where.push(`severity <> 'critical'`);
  const { rows } = await q.query<DigestCase>(
    `SELECT id, code, severity, insurer_code, fixmedins_code, admdvs FROM discrepancies WHERE ${where.join(' AND ')} ORDER BY id`,
    params,
  );
  return rows;
}

/** The wire form of spec §4: amounts as strings, times in CST, absent optionals left out. */
export function discrepancyView(r: DiscrepancyRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: r.id,
    code: r.code,
    severity: r.severity,
    status: r.status,
    admdvs: r.admdvs,
    insurer_code: r.insurer_code,
    period: r.period,
    subject_key: r.subject_key,
    detail: r.detail,
    evidence: r.evidence,
    occurrences: r.occurrences,
    detected_at: toCstIso(r.detected_at),
    updated_at: toCstIso(r.updated_at),
  };
  if (r.resolution) out.resolution = r.resolution;
  if (r.fixmedins_code) out.fixmedins_code = r.fixmedins_code;
  if (r.setl_id) out.setl_id = r.setl_id;
  if (r.expected_amount !== null) out.expected_amount = r.expected_amount;
  if (r.actual_amount !== null) out.actual_amount = r.actual_amount;
  if (r.difference !== null) out.difference = r.difference;
  if (r.resolved_at) out.resolved_at = toCstIso(r.resolved_at);
  if (r.reopens) out.reopens = r.reopens;
  if (r.note) out.note = r.note;
  if (r.dispute) out.dispute = r.dispute;
  return out;
}
