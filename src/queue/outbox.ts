/**
 * The transactional outbox: the only module that sends SQL to the `outbox` table. A job is written
 * here in the same transaction as the rows it is about, so a committed write always has its job;
 * outbox-relay.ts moves the rows to BullMQ (job id = `payload.job_id`, else the row's message_id).
 */
import crypto from 'node:crypto';
import type { Sql } from '../db/db';

/** What a job carries: ids only (no personal data); `kind` names the BullMQ job, `job_id` its id. */
export type OutboxPayload = Record<string, unknown>;
/** A payload to queue: any JSON object (a job's own interface, say). */
type NewPayload = object;

export interface OutboxRow {
  id: string;
  message_id: string;
  queue: string;
  payload: OutboxPayload;
  /** The job the row was relayed in when it shared one with other rows (migration 200); else null. */
  job_id?: string | null;
}

/** A stored message's job on each of `queues`, in order (payload: message_id, kind, request_id). */
export interface MessageJob {
  message_id: string;
  kind: string;
  request_id: string | null;
}

/**
 * Queue the jobs of stored messages: one row per message per queue, in the order of `messages`
 * then of `queues` (the relay takes rows in id order).
 */
export async function enqueueMessageJobs(
  q: Sql,
  messages: readonly MessageJob[],
  queues: readonly string[],
): Promise<void> {
  if (!messages.length || !queues.length) return;
  await q.query(
    `INSERT INTO outbox (message_id, queue, payload)
     SELECT m.message_id, qn.name, jsonb_build_object('message_id', m.message_id, 'kind', m.kind, 'request_id', m.request_id)
       FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS m(message_id, kind, request_id, ord),
            unnest($4::text[]) WITH ORDINALITY AS qn(name, qord)
      ORDER BY m.ord, qn.qord`,
    [messages.map((m) => m.message_id), messages.map((m) => m.kind), messages.map((m) => m.request_id), queues],
  );
}

/**
 * The outbox's part of the statement that stores messages (message-store.ts appendMessages), so
 * that a group of messages and their jobs take one statement, not two: a data-modifying CTE `o`
 * queueing, for each row of the relation `from` (columns message_id, kind, request_id, ord), one
 * job on each queue of the text[] parameter `queuesParam` — the rows enqueueMessageJobs writes.
 */
export function enqueueMessageJobsCte(from: string, queuesParam: string): string {
  return `o AS (INSERT INTO outbox (message_id, queue, payload)
       SELECT f.message_id, qn.name, jsonb_build_object('message_id', f.message_id, 'kind', f.kind, 'request_id', f.request_id)
         FROM ${from} AS f, unnest(${queuesParam}::text[]) WITH ORDINALITY AS qn(name, qord)
        ORDER BY f.ord, qn.qord)`;
}

/**
 * Queue one job. `messageId` is the row's key for the relay (the job id when the payload names no
 * `job_id`); a fresh one when the job belongs to no stored message.
 */
export async function enqueueJob(
  q: Sql,
  queue: string,
  payload: NewPayload,
  messageId: string = crypto.randomUUID(),
): Promise<void> {
  await q.query('INSERT INTO outbox (message_id, queue, payload) VALUES ($1, $2, $3)', [
    messageId,
    queue,
    JSON.stringify(payload),
  ]);
}

/** Queue one job per id, `payload(id)` each, with the id as the row's message_id. */
export async function enqueueJobs(
  q: Sql,
  queue: string,
  ids: readonly string[],
  payload: (id: string) => NewPayload,
): Promise<void> {
  if (!ids.length) return;
  await q.query(
    `INSERT INTO outbox (message_id, queue, payload)
     SELECT id, $2, p FROM unnest($1::uuid[], $3::jsonb[]) WITH ORDINALITY AS x(id, p, ord) ORDER BY ord`,
    [ids, queue, ids.map((id) => JSON.stringify(payload(id)))],
  );
}

/**
 * The relay's claim: up to `limit` rows not yet relayed, oldest first, locked for the caller's
 * transaction (another relay skips them).
 *
 * Read by an index scan of outbox_pending in id order, never a bitmap scan (disabled for the claim's
 * transaction): each relayed row leaves an index entry pointing to its dead version until a VACUUM,
 * and a bitmap scan — the planner's choice on a young, never-analysed outbox — visited all of them
 * and their heap pages at every claim (1.5 ms a claim after 20 s of 1,000 payments/s, growing until
 * a VACUUM). An index scan marks them dead in the index as it passes (kill_prior_tuple), so the next
 * claims skip them (test/e2e/outbox-claim-plan.test.ts).
 */
export async function claimPending(q: Sql, limit: number): Promise<OutboxRow[]> {
  await q.query(`SELECT set_config('enable_bitmapscan', 'off', true)`);
  const { rows } = await q.query<OutboxRow>(
    'SELECT id, message_id, queue, payload FROM outbox WHERE relayed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
    [limit],
  );
  return rows;
}

/**
 * Mark claimed rows as relayed, with the job each went in when it shared one (`jobIds`, else null),
 * in the claim's transaction (committed once the jobs were added). The commit
 * does not wait for its WAL flush (synchronous_commit off for this transaction): a mark lost in a
 * crash only relays its rows again, under the same job ids (one job each), while waiting for the
 * flush put a disk sync on every message's way from its 202 to the worker.
 */
export async function markRelayed(q: Sql, ids: readonly string[], jobIds?: readonly (string | null)[]): Promise<void> {
  // One statement: the setting is read at the commit (an uncorrelated sub-select runs once, first).
  await q.query(
    `UPDATE outbox o SET relayed_at = now(), job_id = x.job_id
       FROM unnest($1::bigint[], $2::text[]) AS x(id, job_id)
      WHERE o.id = x.id AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'`,
    [ids, jobIds ?? ids.map(() => null)],
  );
}

/**
 * The rows of `queue` for these messages relayed more than `olderThanSeconds` ago, oldest first
 * (the relay re-queues those whose message is still unfinished).
 */
export async function relayedJobsOf(
  q: Sql,
  queue: string,
  messageIds: readonly string[],
  olderThanSeconds: number,
  limit: number,
): Promise<OutboxRow[]> {
  if (!messageIds.length) return [];
  const { rows } = await q.query<OutboxRow>(
    `SELECT id, message_id, queue, payload, job_id FROM outbox
      WHERE message_id = ANY($1::uuid[]) AND queue = $2 AND relayed_at < now() - make_interval(secs => $3)
      ORDER BY id LIMIT $4`,
    [messageIds, queue, olderThanSeconds, limit],
  );
  return rows;
}

/** Rows not yet relayed (the demo waits for none). */
export async function countPending(q: Sql): Promise<number> {
  const { rows } = await q.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE relayed_at IS NULL');
  return Number(rows[0]!.n);
}

/**
 * `gateway purge`: rows relayed before `cutoff` — counted in a dry run, else deleted `batch` at a
 * time (each its own short statement), at most `maxBatches` batches. Returns how many.
 */
export async function purgeRelayed(
  q: Sql,
  cutoff: Date,
  o: { dryRun: boolean; batch: number; maxBatches: number },
): Promise<number> {
  if (o.dryRun) {
    const { rows } = await q.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < $1',
      [cutoff],
    );
    return Number(rows[0]!.n);
  }
  let total = 0;
  for (let i = 0; i < o.maxBatches; i++) {
    const r = await q.query(
      'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < $1 LIMIT $2)',
      [cutoff, o.batch],
    );
    total += r.rowCount;
    if (r.rowCount < o.batch) break;
  }
  return total;
}
