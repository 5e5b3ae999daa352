/**
 * The append-only, hash-chained audit trail (issue 7 of 7 §6), in shards (issue 15). Each event's
 * hash covers the previous event's hash *in its shard* and the event itself (RFC 8785 canonical
 * JSON), so an edited, removed or reordered row breaks its shard's chain; each shard's head record
 * (audit_heads: its event count, last event and last hash, written in the same transaction as the
 * events) seals the chain's end, so removing a shard's last events is found too.
 *
 * Why shards by region (the 4-digit admdvs prefix of the event's subject: the prefecture that has a
 * policy file in regions/), and not by a hash of the subject into a fixed number of shards:
 *  - one region's history is one chain: an auditor of Dehong verifies Dehong's chain with Dehong's
 *    events alone, and an export of one region carries its own proof;
 *  - commits of different regions never wait for one another (each shard has its own advisory lock);
 *    commits of one region still take turns, but only for the tail of their transaction (the chain
 *    lock is the last lock a writer takes, just before commit), which is what lets several worker
 *    processes overlap the rest (fact loads, rules, loop and case writes);
 *  - a hash of the subject would spread one matching chunk (hundreds of settlements) over every
 *    shard, so every chunk would lock every shard: as serial as one lock, with more locks.
 * Shard 0 is the chain written before migration 150 (one global chain, sealed by the migration);
 * shard 1 holds events whose subject has no region (no admdvs).
 *
 * Lock order: a transaction appends its events in ONE appendAudit call, after its case rows are
 * locked (discrepancies/case-store.ts), and that call takes its shards' locks in ascending shard
 * order. Two appendAudit calls in one transaction could take shards out of order (deadlock).
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import type { Sql } from '../db/db';

export interface AuditEvent {
  entity: string;
  entity_id: string;
  action: string;
  actor: string;
  data: Record<string, unknown>;
  at: Date;
  /** The region of the event's subject (the case's or settlement's admdvs; '' when it has none): picks the shard. */
  admdvs: string;
}

const GENESIS = '0'.repeat(64);
/** The first key of the two-key advisory locks of the shards (pg_advisory_xact_lock(CHAIN_LOCK, shard)). */
const CHAIN_LOCK = 7_340_114;
export const LEGACY_SHARD = 0;
export const NO_REGION_SHARD = 1;

/** The shard of an event's region: the 4-digit admdvs prefix as a number (5331 for 533102). */
export function shardOf(admdvs: string): number {
  return /^\d{4}/.test(admdvs) ? Number(admdvs.slice(0, 4)) : NO_REGION_SHARD;
}

/** The hash of an event after `prev` (the region is not hashed: the chain an event sits in says it). */
export function eventHash(prev: string, e: Omit<AuditEvent, 'admdvs'>): string {
  const body =
    canonicalize({
      at: e.at.toISOString(),
      entity: e.entity,
      entity_id: e.entity_id,
      action: e.action,
      actor: e.actor,
      data: e.data,
    }) ?? '';
  return crypto.createHash('sha256').update(prev).update(body).digest('hex');
}

/**
 * Append the events of one transaction (inside it), each to its region's chain. Takes the shards'
 * locks in ascending order, then extends each chain from its head and moves the heads, in one
 * statement with the insert.
 */
export async function appendAudit(q: Sql, events: readonly AuditEvent[]): Promise<void> {
  if (!events.length) return;
  const shardOfEvent = events.map((e) => shardOf(e.admdvs));
  const shards = [...new Set(shardOfEvent)].sort((a, b) => a - b);
  for (const s of shards) await q.query('SELECT pg_advisory_xact_lock($1, $2)', [CHAIN_LOCK, s]);
  const heads = await q.query<{ shard: number; last_hash: string }>(
    'SELECT shard, last_hash FROM audit_heads WHERE shard = ANY($1::int[])',
    [shards],
  );
  const prev = new Map<number, string>(shards.map((s) => [s, GENESIS]));
  for (const h of heads.rows) prev.set(Number(h.shard), h.last_hash);
  const rows = events.map((e, i) => {
    const shard = shardOfEvent[i]!;
    const p = prev.get(shard)!;
    const hash = eventHash(p, e);
    prev.set(shard, hash);
    return { e, shard, prev: p, hash };
  });
  const counts = shards.map((s) => shardOfEvent.filter((x) => x === s).length);
  // unnest yields the rows in array order, so within a shard the sequence numbers follow the chain.
  await q.query(
    `WITH ins AS (
       INSERT INTO audit_events (at, entity, entity_id, action, actor, data, prev_hash, hash, shard)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::int[])
       RETURNING seq, shard)
     INSERT INTO audit_heads AS h (shard, events, last_seq, last_hash)
     SELECT x.shard, x.n, (SELECT max(seq) FROM ins WHERE ins.shard = x.shard), x.last_hash
       FROM unnest($10::int[], $11::bigint[], $12::text[]) AS x(shard, n, last_hash)
     ON CONFLICT (shard) DO UPDATE SET events = h.events + excluded.events, last_seq = excluded.last_seq, last_hash = excluded.last_hash`,
    [
      rows.map((r) => r.e.at),
      rows.map((r) => r.e.entity),
      rows.map((r) => r.e.entity_id),
      rows.map((r) => r.e.action),
      rows.map((r) => r.e.actor),
      rows.map((r) => JSON.stringify(r.e.data)),
      rows.map((r) => r.prev),
      rows.map((r) => r.hash),
      rows.map((r) => r.shard),
      shards,
      counts,
      shards.map((s) => prev.get(s)!),
    ],
  );
}

export interface AuditEntry {
  seq: string;
  at: Date;
  action: string;
  actor: string;
  data: unknown;
}

/** The events of one entity (e.g. a discrepancy's history), oldest first. */
export async function auditHistory(q: Sql, entity: string, entityId: string): Promise<AuditEntry[]> {
  const { rows } = await q.query<AuditEntry>(
    'SELECT seq, at, action, actor, data FROM audit_events WHERE entity = $1 AND entity_id = $2 ORDER BY seq',
    [entity, entityId],
  );
  return rows;
}

/** The sequence number of the chain's last event ('0' for an empty chain): a mark to read the events after. */
export async function auditHead(q: Sql): Promise<string> {
  const { rows } = await q.query<{ seq: string }>('SELECT coalesce(max(seq), 0)::text AS seq FROM audit_events');
  return rows[0]!.seq;
}

/** The ids of the entities of a kind with one of `actions` after sequence number `afterSeq` (each once). */
export async function entityIdsSince(
  q: Sql,
  entity: string,
  actions: readonly string[],
  afterSeq: string,
): Promise<string[]> {
  const { rows } = await q.query<{ entity_id: string }>(
    'SELECT DISTINCT entity_id FROM audit_events WHERE entity = $1 AND action = ANY($2::text[]) AND seq > $3::bigint',
    [entity, actions, afterSeq],
  );
  return rows.map((r) => r.entity_id);
}

/** One shard's chain as verify-audit found it. */
export interface ShardHead {
  shard: number;
  events: number;
  lastSeq: string | null;
  lastHash: string;
}

export interface VerifyResult {
  checked: number;
  shards: ShardHead[];
  brokenAt?: string;
  brokenShard?: number;
  reason?: string;
}

type Row = {
  seq: string;
  at: Date;
  entity: string;
  entity_id: string;
  action: string;
  actor: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
};
type Head = { shard: number; events: string; last_seq: string; last_hash: string };

/**
 * Walk every shard's chain; returns the first broken event (sequence number) with the reason, or no
 * `brokenAt` when every chain holds and ends where its head says. Safe while appends go on: each
 * chain is checked against the head read before it was walked (events appended later extend it,
 * and their links are checked too).
 */
export async function verifyAudit(q: Sql, pageSize = 5000): Promise<VerifyResult> {
  const heads = new Map(
    (await q.query<Head>('SELECT shard, events::text, last_seq::text, last_hash FROM audit_heads')).rows.map((h) => [
      Number(h.shard),
      h,
    ]),
  );
  const { rows: present } = await q.query<{ shard: number }>(
    `WITH RECURSIVE s AS (SELECT min(shard) AS shard FROM audit_events
       UNION ALL SELECT (SELECT min(shard) FROM audit_events WHERE shard > s.shard) FROM s WHERE s.shard IS NOT NULL)
     SELECT shard FROM s WHERE shard IS NOT NULL`,
  );
  const shards = [...new Set([...heads.keys(), ...present.map((r) => Number(r.shard))])].sort((a, b) => a - b);
  const out: VerifyResult = { checked: 0, shards: [] };
  for (const shard of shards) {
    let head: Head | undefined = heads.get(shard);
    // A shard first written after the heads were read: its head is committed with its first events.
    if (!head)
      head = (
        await q.query<Head>('SELECT shard, events::text, last_seq::text, last_hash FROM audit_heads WHERE shard = $1', [
          shard,
        ])
      ).rows[0];
    const r = await verifyShard(q, shard, head, pageSize);
    out.checked += r.checked;
    out.shards.push(r.head);
    if (r.brokenAt) return { ...out, brokenAt: r.brokenAt, brokenShard: shard, reason: r.reason! };
  }
  return out;
}

async function verifyShard(
  q: Sql,
  shard: number,
  head: Head | undefined,
  pageSize: number,
): Promise<{ checked: number; head: ShardHead; brokenAt?: string; reason?: string }> {
  let prev = GENESIS;
  let after = '0';
  let checked = 0;
  let sealed = !head || head.events === '0';
  const result = (extra: { brokenAt?: string; reason?: string } = {}) => ({
    checked,
    head: { shard, events: checked, lastSeq: checked ? after : null, lastHash: prev },
    ...extra,
  });
  for (;;) {
    const { rows } = await q.query<Row>(
      'SELECT seq::text, at, entity, entity_id, action, actor, data, prev_hash, hash FROM audit_events e WHERE shard = $1 AND e.seq > $2::bigint ORDER BY e.seq LIMIT $3',
      [shard, after, pageSize],
    );
    for (const r of rows) {
      if (r.prev_hash !== prev)
        return result({ brokenAt: r.seq, reason: 'prev_hash does not match the previous event' });
      if (eventHash(prev, r) !== r.hash) return result({ brokenAt: r.seq, reason: 'hash does not match the event' });
      prev = r.hash;
      after = r.seq;
      checked++;
      if (head && !sealed && BigInt(r.seq) >= BigInt(head.last_seq)) {
        if (r.seq !== head.last_seq || String(checked) !== head.events || r.hash !== head.last_hash) {
          return result({
            brokenAt: head.last_seq,
            reason: `the head records ${head.events} events ending at event ${head.last_seq}, the chain reaches it with ${checked} (${r.seq})`,
          });
        }
        sealed = true;
      }
    }
    if (rows.length < pageSize) break;
  }
  if (!head && checked) return result({ brokenAt: after, reason: 'the chain has no head record' });
  if (!sealed)
    return result({
      brokenAt: head!.last_seq,
      reason: `events removed at the end: the head records ${head!.events} events ending at event ${head!.last_seq}, the chain has ${checked}${checked ? ` ending at event ${after}` : ''}`,
    });
  return result();
}
