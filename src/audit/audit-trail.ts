/**
 * The append-only, hash-chained audit trail (issue 7 of 7 §6), in shards (issue 15). Each event's
 * hash covers the previous event's hash *in its shard* and the event itself (RFC 8785 canonical
 * JSON), so an edited, removed or reordered row breaks its shard's chain; each shard's head record
 * (audit_heads: its event count, last event and last hash, written in the same transaction as the
 * events) seals the chain's end, so removing a shard's last events is found too.
 *
 * Shards: each region (the 4-digit admdvs prefix of the event's subject: the prefecture that has a
 * policy file in regions/) has REGION_CHAINS chains, shard = region × 100 + chain (533100–533107
 * for Dehong 5331; events with no region: 1000000–1000007). A transaction appends all its events of
 * one region to ONE of the region's chains: the first one no other transaction holds at that moment
 * (pg_try_advisory_xact_lock, chain 0 first), or, when all are held, it waits for one. So
 *  - commits of different regions never wait for one another, and commits of one region wait only
 *    when REGION_CHAINS of them are committing at the same moment (several worker processes, the
 *    API's operator actions, the benefit audit, all on one region);
 *  - one region's history is still its own: an auditor of Dehong verifies Dehong's chains with
 *    Dehong's events alone, and an export of one region carries its own proof;
 *  - which of its region's chains an event is in says nothing about the event (it is the chain that
 *    was free when it was committed); each chain is checked link by link and against its sealed head.
 * Not by a hash of the subject: one matching chunk holds hundreds of settlements, which a hash
 * spreads over every chain, so every chunk would lock every chain — as serial as one lock.
 * Earlier shards, never appended to again and verified like the others: 0, the single chain written
 * before migration 150 (sealed by it); 1 and 1101–9999, one chain per region (no region: 1) as
 * migration 150 to the second pass of issue 15 wrote them.
 *
 * Lock order: a transaction appends its events in ONE appendAudit call, after its case rows are
 * locked (discrepancies/case-store.ts), and that call takes one chain of each of its regions in
 * ascending region order. It waits (if at all) only for a chain of the region it is at, holding
 * chains of lower regions only, so waits follow ascending regions and cannot form a cycle. Two
 * appendAudit calls in one transaction could take regions out of order (deadlock).
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
/** Chains per region. Changing it changes only where new events go: every chain verifies on its own. */
export const REGION_CHAINS = 8;
/** The region number of events whose subject has no region (no 4-digit admdvs prefix). */
export const NO_REGION = 10_000;

/** The region of an event: the 4-digit admdvs prefix as a number (5331 for 533102), else NO_REGION. */
export function regionOf(admdvs: string): number {
  return /^[1-9]\d{3}/.test(admdvs) ? Number(admdvs.slice(0, 4)) : NO_REGION;
}

/** The shard number of a region's chain: region × 100 + chain (533100 is Dehong's chain 0). */
export const shardOf = (region: number, chain: number): number => region * 100 + chain;

/** What a shard is, for verify-audit's listing. */
export function describeShard(shard: number): string {
  if (shard === LEGACY_SHARD) return 'the chain before migration 150';
  if (shard < 100_000)
    return shard === 1 ? 'no region, one chain for all (earlier)' : `region ${shard}, one chain (earlier)`;
  const region = Math.floor(shard / 100);
  return `${region === NO_REGION ? 'no region' : `region ${region}`}, chain ${shard % 100}`;
}

/**
 * Take one chain of each region (ascending): the first free one, chain 0 first (one round trip per
 * region); when every chain of a region is held, wait for one (chosen at random, so that waiters
 * spread over the chains). Returns the shard of each region.
 */
async function lockChains(q: Sql, regions: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const region of regions) {
    const { rows } = await q.query<{ shard: number }>(
      `SELECT s AS shard FROM unnest($2::int[]) AS s WHERE pg_try_advisory_xact_lock($1, s) LIMIT 1`,
      [CHAIN_LOCK, Array.from({ length: REGION_CHAINS }, (_, c) => shardOf(region, c))],
      { name: 'audit-chain-try' },
    );
    let shard = rows[0] ? Number(rows[0].shard) : undefined;
    if (shard === undefined) {
      shard = shardOf(region, Math.floor(Math.random() * REGION_CHAINS));
      await q.query('SELECT pg_advisory_xact_lock($1, $2)', [CHAIN_LOCK, shard]);
    }
    out.set(region, shard);
  }
  return out;
}

/**
 * The RFC 8785 canonical JSON of an event (what its hash covers), from the canonical JSON of its data:
 * the six keys in their sorted order (action < actor < at < data < entity < entity_id), the strings
 * as JSON.stringify writes them — what `canonicalize` gives for the whole object, without walking it.
 */
function canonicalBody(e: Omit<AuditEvent, 'admdvs' | 'data'>, data: string, at = e.at.toISOString()): string {
  return `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"at":"${at}","data":${data},"entity":${JSON.stringify(e.entity)},"entity_id":${JSON.stringify(e.entity_id)}}`;
}

/** The canonical JSON of an event's data (the stored jsonb is the same value). */
const canonicalData = (data: Record<string, unknown> | undefined): string =>
  (data === undefined ? undefined : canonicalize(data)) ?? 'null';

/** The hash of an event after `prev` (the region is not hashed: the chain an event sits in says it). */
export function eventHash(prev: string, e: Omit<AuditEvent, 'admdvs'>): string {
  return hashBody(prev, canonicalBody(e, canonicalData(e.data)));
}

/** SHA-256 of `prev` then `body`, in hex (one call: the same digest as updating a hash with each). */
const hashBody = (prev: string, body: string): string => crypto.hash('sha256', prev + body, 'hex');

/** The columns of an audit_events row in appendAudit's JSON parameter. */
const EVENT_RECORD = `(at timestamptz, entity text, entity_id text, action text, actor text, data text, prev_hash text, hash text, shard int)`;

/**
 * Append the events of one transaction (inside it), each to a chain of its region. Takes one chain
 * per region in ascending region order (lockChains), then extends each chain from its head and
 * moves the heads, in one statement with the insert. The events go as one JSON parameter, each
 * event's data as the canonical JSON its hash was computed over, read as text and cast (node-pg
 * would escape every element of a jsonb[] parameter in JavaScript; PostgreSQL reads jsonb[] 3-5x
 * slower than json, and a jsonb column of json_to_recordset ~5x slower than a text one cast).
 * Its statements run in every matching chunk: named statements (db.ts), parsed and planned once
 * per connection.
 */
export async function appendAudit(q: Sql, events: readonly AuditEvent[]): Promise<void> {
  if (!events.length) return;
  const regionOfEvent = events.map((e) => regionOf(e.admdvs));
  const chains = await lockChains(
    q,
    [...new Set(regionOfEvent)].sort((a, b) => a - b),
  );
  const shardOfEvent = regionOfEvent.map((r) => chains.get(r)!);
  const shards = [...new Set(shardOfEvent)].sort((a, b) => a - b);
  const heads = await q.query<{ shard: number; last_hash: string }>(
    'SELECT shard, last_hash FROM audit_heads WHERE shard = ANY($1::int[])',
    [shards],
    { name: 'audit-heads' },
  );
  const prev = new Map<number, string>(shards.map((s) => [s, GENESIS]));
  for (const h of heads.rows) prev.set(Number(h.shard), h.last_hash);
  const json: string[] = [];
  // A transaction's events mostly share one time: its ISO form once.
  let lastAt: Date | undefined;
  let lastIso = '';
  for (const [i, e] of events.entries()) {
    const shard = shardOfEvent[i]!;
    const p = prev.get(shard)!;
    const data = canonicalData(e.data);
    if (e.at !== lastAt) {
      lastAt = e.at;
      lastIso = e.at.toISOString();
    }
    const hash = hashBody(p, canonicalBody(e, data, lastIso));
    prev.set(shard, hash);
    json.push(
      `{"at":"${lastIso}","entity":${JSON.stringify(e.entity)},"entity_id":${JSON.stringify(e.entity_id)},"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"data":${data},"prev_hash":"${p}","hash":"${hash}","shard":${shard}}`,
    );
  }
  const counts = shards.map((s) => shardOfEvent.filter((x) => x === s).length);
  // Inserted in the parameter's order (ORDER BY its ordinality), so within a shard the sequence numbers follow the chain.
  await q.query(
    `WITH ins AS (
       INSERT INTO audit_events (at, entity, entity_id, action, actor, data, prev_hash, hash, shard)
       SELECT at, entity, entity_id, action, actor, data::jsonb, prev_hash, hash, shard
         FROM ROWS FROM (json_to_recordset($1::json) AS ${EVENT_RECORD}) WITH ORDINALITY
           AS e(at, entity, entity_id, action, actor, data, prev_hash, hash, shard, n)
        ORDER BY n
       RETURNING seq, shard)
     INSERT INTO audit_heads AS h (shard, events, last_seq, last_hash)
     SELECT x.shard, x.n, (SELECT max(seq) FROM ins WHERE ins.shard = x.shard), x.last_hash
       FROM unnest($2::int[], $3::bigint[], $4::text[]) AS x(shard, n, last_hash)
     ON CONFLICT (shard) DO UPDATE SET events = h.events + excluded.events, last_seq = excluded.last_seq, last_hash = excluded.last_hash`,
    [`[${json.join(',')}]`, shards, counts, shards.map((s) => prev.get(s)!)],
    { name: 'audit-append' },
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
