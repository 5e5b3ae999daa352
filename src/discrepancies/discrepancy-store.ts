/**
 * The case lifecycle (spec §4, Formance-style): an evaluation hands over the findings of one group
 * (e.g. everything implied by settlement X); `syncGroup` opens what is new, updates what changed
 * (occurrences + 1), auto-resolves what the facts no longer imply, and reopens a returning cause as
 * a new case naming the old one. Every change is an audit event in the same transaction.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../db/db';
import type { Money } from '../money';
import { appendAudit, type AuditEvent } from '../audit/audit-trail';
import { queueCriticalNotifications } from '../notifications/critical-hook';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
type Amount = Money | string | undefined | null;

/** What an evaluator says is wrong; the store turns it into a case. */
export interface FindingInput {
  code: string;
  severity: Severity;
  subject_key: string;
  admdvs: string;
  insurer_code: string;
  fixmedins_code?: string | null;
  period: string;
  setl_id?: string | null;
  expected_amount?: Amount;
  actual_amount?: Amount;
  difference?: Amount;
  detail: string;
  evidence: Record<string, unknown>;
}

export interface SyncResult { opened: string[]; updated: string[]; resolved: string[] }

const amt = (a: Amount) => (a === undefined || a === null ? null : String(a));

export function fingerprint(f: FindingInput): string {
  const body = canonicalize({ e: amt(f.expected_amount), a: amt(f.actual_amount), d: amt(f.difference), ev: f.evidence, s: f.severity }) ?? '';
  return crypto.createHash('sha256').update(body).digest('hex').slice(0, 32);
}

interface OpenRow { id: string; code: string; subject_key: string; fingerprint: string }

export async function syncGroup(q: Sql, groupKey: string, findings: FindingInput[], at: Date, actor = 'system'): Promise<SyncResult> {
  const res: SyncResult = { opened: [], updated: [], resolved: [] };
  const events: AuditEvent[] = [];
  const open = await q.query<OpenRow>(
    `SELECT id, code, subject_key, fingerprint FROM discrepancies WHERE group_key = $1 AND status <> 'resolved' FOR UPDATE`, [groupKey],
  );
  const openByKey = new Map(open.rows.map((r) => [`${r.code}\u0000${r.subject_key}`, r]));
  const wanted = new Set<string>();
  for (const f of findings) {
    const key = `${f.code}\u0000${f.subject_key}`;
    if (wanted.has(key)) continue;
    wanted.add(key);
    const fp = fingerprint(f);
    const existing = openByKey.get(key);
    if (existing) {
      if (existing.fingerprint === fp) continue;
      await q.query(
        `UPDATE discrepancies SET severity = $2, expected_amount = $3, actual_amount = $4, difference = $5, detail = $6, evidence = $7,
           fingerprint = $8, occurrences = occurrences + 1, updated_at = $9 WHERE id = $1`,
        [existing.id, f.severity, amt(f.expected_amount), amt(f.actual_amount), amt(f.difference), f.detail, JSON.stringify(f.evidence), fp, at],
      );
      res.updated.push(existing.id);
      events.push({ entity: 'discrepancy', entity_id: existing.id, action: 'updated', actor, at, data: { code: f.code, subject_key: f.subject_key, fingerprint: fp } });
      continue;
    }
    // A case an operator closed by hand stays closed while the facts behind it are unchanged.
    const last = await q.query<{ id: string; resolution: string | null; fingerprint: string }>(
      `SELECT id, resolution, fingerprint FROM discrepancies WHERE code = $1 AND subject_key = $2 AND status = 'resolved' ORDER BY detected_at DESC, id DESC LIMIT 1`,
      [f.code, f.subject_key],
    );
    const prev = last.rows[0];
    if (prev && prev.resolution === 'manual' && prev.fingerprint === fp) continue;
    const id = uuidv7();
    // Another evaluation may have opened the same (code, subject) a moment ago: then it is an update.
    const ins = await q.query(
      `INSERT INTO discrepancies (id, code, severity, status, admdvs, insurer_code, fixmedins_code, period, setl_id, subject_key, group_key,
         expected_amount, actual_amount, difference, detail, evidence, fingerprint, occurrences, detected_at, updated_at, reopens)
       VALUES ($1,$2,$3,'open',$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,1,$17,$17,$18)
       ON CONFLICT (code, subject_key) WHERE status <> 'resolved' DO NOTHING RETURNING id`,
      [id, f.code, f.severity, f.admdvs, f.insurer_code, f.fixmedins_code ?? null, f.period, f.setl_id ?? null, f.subject_key, groupKey,
        amt(f.expected_amount), amt(f.actual_amount), amt(f.difference), f.detail, JSON.stringify(f.evidence), fp, at, prev?.id ?? null],
    );
    if (!ins.rowCount) continue;
    res.opened.push(id);
    events.push({ entity: 'discrepancy', entity_id: id, action: prev ? 'reopened' : 'opened', actor, at, data: { code: f.code, subject_key: f.subject_key, fingerprint: fp, ...(prev ? { reopens: prev.id } : {}) } });
  }
  for (const [key, row] of openByKey) {
    if (wanted.has(key)) continue;
    await q.query(`UPDATE discrepancies SET status = 'resolved', resolution = 'auto', resolved_at = $2, updated_at = $2 WHERE id = $1`, [row.id, at]);
    res.resolved.push(row.id);
    events.push({ entity: 'discrepancy', entity_id: row.id, action: 'auto_resolved', actor, at, data: { code: row.code, subject_key: row.subject_key } });
  }
  await appendAudit(q, events);
  // Critical cases are notified at once (spec §6), queued in this transaction so none is lost.
  await queueCriticalNotifications(q, res.opened);
  return res;
}

/** An operator acknowledges or resolves a case by hand, with a note. */
export async function changeStatus(q: Sql, id: string, action: 'acknowledge' | 'resolve', note: string, actor: string, at: Date): Promise<boolean> {
  const r = action === 'acknowledge'
    ? await q.query(`UPDATE discrepancies SET status = 'acknowledged', note = $2, updated_at = $3 WHERE id = $1 AND status = 'open' RETURNING id`, [id, note, at])
    : await q.query(`UPDATE discrepancies SET status = 'resolved', resolution = 'manual', note = $2, resolved_at = $3, updated_at = $3 WHERE id = $1 AND status <> 'resolved' RETURNING id`, [id, note, at]);
  if (!r.rowCount) return false;
  await appendAudit(q, [{ entity: 'discrepancy', entity_id: id, action: action === 'acknowledge' ? 'acknowledged' : 'resolved', actor, at, data: { note } }]);
  return true;
}
