/** Reads of the discrepancy ledger, filtered to the caller's scope, with keyset (cursor) pagination. */
import type { Sql } from '../db/db';
import type { ScopeFilter } from '../http/auth';
import { toCstIso } from '../time';

export interface DiscrepancyFilter {
  code?: string; status?: string; severity?: string; admdvs?: string; insurer_code?: string; fixmedins_code?: string; period?: string; setl_id?: string;
}

export interface DiscrepancyRow {
  id: string; code: string; severity: string; status: string; resolution: string | null; admdvs: string; insurer_code: string;
  fixmedins_code: string | null; period: string; setl_id: string | null; subject_key: string; expected_amount: string | null;
  actual_amount: string | null; difference: string | null; detail: string; evidence: unknown; occurrences: number;
  detected_at: Date; updated_at: Date; resolved_at: Date | null; reopens: string | null; note: string | null;
}

/** SQL conditions for a scope; appends to `params`. */
export function scopeSql(scope: ScopeFilter, params: unknown[], cols = { insurer: 'insurer_code', fixmedins: 'fixmedins_code', admdvs: 'admdvs' }): string[] {
  const where: string[] = [];
  if (scope.insurer_codes) { params.push(scope.insurer_codes); where.push(`${cols.insurer} = ANY($${params.length}::text[])`); }
  if (scope.fixmedins_codes) { params.push(scope.fixmedins_codes); where.push(`${cols.fixmedins} = ANY($${params.length}::text[])`); }
  if (scope.admdvs_prefixes) { params.push(scope.admdvs_prefixes.map((p) => `${p}%`)); where.push(`${cols.admdvs} LIKE ANY($${params.length}::text[])`); }
  return where;
}

export async function listDiscrepancies(q: Sql, f: DiscrepancyFilter, scope: ScopeFilter, limit: number, cursor?: string): Promise<{ items: DiscrepancyRow[]; next_cursor: string | null }> {
  const params: unknown[] = [];
  const where = scopeSql(scope, params);
  const eq = (col: keyof DiscrepancyFilter) => { const v = f[col]; if (v !== undefined) { params.push(v); where.push(`${col} = $${params.length}`); } };
  for (const c of ['code', 'status', 'severity', 'insurer_code', 'fixmedins_code', 'period', 'setl_id'] as const) eq(c);
  if (f.admdvs) { params.push(`${f.admdvs}%`); where.push(`admdvs LIKE $${params.length}`); }
  if (cursor) { params.push(cursor); where.push(`id < $${params.length}::uuid`); }
  params.push(limit + 1);
  const { rows } = await q.query<DiscrepancyRow>(
    `SELECT * FROM discrepancies ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`, params,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next_cursor: more ? Buffer.from(items[items.length - 1]!.id).toString('base64url') : null };
}

export async function getDiscrepancy(q: Sql, id: string): Promise<DiscrepancyRow | undefined> {
  const { rows } = await q.query<DiscrepancyRow>('SELECT * FROM discrepancies WHERE id = $1', [id]);
  return rows[0];
}

export async function discrepancyHistory(q: Sql, id: string): Promise<{ seq: string; at: Date; action: string; actor: string; data: unknown }[]> {
  const { rows } = await q.query<{ seq: string; at: Date; action: string; actor: string; data: unknown }>(
    `SELECT seq, at, action, actor, data FROM audit_events WHERE entity = 'discrepancy' AND entity_id = $1 ORDER BY seq`, [id],
  );
  return rows;
}

/** The wire form of spec §4: amounts as strings, times in CST, absent optionals left out. */
export function discrepancyView(r: DiscrepancyRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: r.id, code: r.code, severity: r.severity, status: r.status, admdvs: r.admdvs, insurer_code: r.insurer_code, period: r.period,
    subject_key: r.subject_key, detail: r.detail, evidence: r.evidence, occurrences: r.occurrences,
    detected_at: toCstIso(r.detected_at), updated_at: toCstIso(r.updated_at),
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
  return out;
}
