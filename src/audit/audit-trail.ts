/**
 * The append-only, hash-chained audit trail (issue 7 of 7 §6). Each event's hash covers the previous
 * event's hash and the event itself (RFC 8785 canonical JSON), so an edited, removed or reordered row
 * breaks the chain. Appends take a transaction-scoped lock so the chain has one order.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import type { Sql } from '../db/db';

export interface AuditEvent { entity: string; entity_id: string; action: string; actor: string; data: Record<string, unknown>; at: Date }

const GENESIS = '0'.repeat(64);
const CHAIN_LOCK = 7_340_114;

export function eventHash(prev: string, e: AuditEvent): string {
  const body = canonicalize({ at: e.at.toISOString(), entity: e.entity, entity_id: e.entity_id, action: e.action, actor: e.actor, data: e.data }) ?? '';
  return crypto.createHash('sha256').update(prev).update(body).digest('hex');
}

export async function appendAudit(q: Sql, events: AuditEvent[]): Promise<void> {
  if (!events.length) return;
  await q.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
  const last = await q.query<{ hash: string }>('SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  let prev = last.rows[0]?.hash ?? GENESIS;
  const rows: { e: AuditEvent; prev: string; hash: string }[] = [];
  for (const e of events) {
    const hash = eventHash(prev, e);
    rows.push({ e, prev, hash });
    prev = hash;
  }
  await q.query(
    `INSERT INTO audit_events (at, entity, entity_id, action, actor, data, prev_hash, hash)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[])`,
    [rows.map((r) => r.e.at), rows.map((r) => r.e.entity), rows.map((r) => r.e.entity_id), rows.map((r) => r.e.action), rows.map((r) => r.e.actor),
      rows.map((r) => JSON.stringify(r.e.data)), rows.map((r) => r.prev), rows.map((r) => r.hash)],
  );
}

export interface AuditEntry { seq: string; at: Date; action: string; actor: string; data: unknown }

/** The events of one entity (e.g. a discrepancy's history), oldest first. */
export async function auditHistory(q: Sql, entity: string, entityId: string): Promise<AuditEntry[]> {
  const { rows } = await q.query<AuditEntry>(
    'SELECT seq, at, action, actor, data FROM audit_events WHERE entity = $1 AND entity_id = $2 ORDER BY seq', [entity, entityId],
  );
  return rows;
}

/** The sequence number of the chain's last event ('0' for an empty chain): a mark to read the events after. */
export async function auditHead(q: Sql): Promise<string> {
  const { rows } = await q.query<{ seq: string }>('SELECT coalesce(max(seq), 0)::text AS seq FROM audit_events');
  return rows[0]!.seq;
}

/** The ids of the entities of a kind with one of `actions` after sequence number `afterSeq` (each once). */
export async function entityIdsSince(q: Sql, entity: string, actions: readonly string[], afterSeq: string): Promise<string[]> {
  const { rows } = await q.query<{ entity_id: string }>(
    'SELECT DISTINCT entity_id FROM audit_events WHERE entity = $1 AND action = ANY($2::text[]) AND seq > $3::bigint',
    [entity, actions, afterSeq],
  );
  return rows.map((r) => r.entity_id);
}

/** Walk the chain; returns the first broken sequence number, or undefined when it holds. */
export async function verifyAudit(q: Sql, pageSize = 5000): Promise<{ checked: number; brokenAt?: string; reason?: string }> {
  let prev = GENESIS;
  let after = '0';
  let checked = 0;
  for (;;) {
    const { rows } = await q.query<{ seq: string; at: Date; entity: string; entity_id: string; action: string; actor: string; data: Record<string, unknown>; prev_hash: string; hash: string }>(
      'SELECT seq, at, entity, entity_id, action, actor, data, prev_hash, hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, pageSize],
    );
    if (!rows.length) return { checked };
    for (const r of rows) {
      if (r.prev_hash !== prev) return { checked, brokenAt: r.seq, reason: 'prev_hash does not match the previous event' };
      if (eventHash(prev, r) !== r.hash) return { checked, brokenAt: r.seq, reason: 'hash does not match the event' };
      prev = r.hash;
      after = r.seq;
      checked++;
    }
  }
}
