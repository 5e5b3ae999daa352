/**
 * Deliveries: one per (subscriber, event), created with its webhook-id and its exact body, queued
 * through the transactional outbox. The row, not the BullMQ job, is the truth about a delivery:
 * workers claim it with a conditional update, so a job that runs twice (stalled, re-added by the
 * relay, replayed) never sends a delivered webhook again.
 */
import crypto from 'node:crypto';
import type { Sql } from '../db/db';
import { toCstIso } from '../time';
import { render, type NotificationEvent } from './formats';
import type { MaskOptions } from './mask';
import type { SubscriberRow } from './subscriber-store';
import { DELIVERIES_QUEUE } from '../queue/queue-names';
import { enqueueJob } from '../queue/outbox';

export type DeliveryStatus = 'pending' | 'sending' | 'failed' | 'delivered' | 'dead' | 'cancelled';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'sending',
  'failed',
  'delivered',
  'dead',
  'cancelled',
];

export interface DeliveryRow {
  id: string;
  subscriber_id: string;
  event_key: string;
  event_type: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  lease_until: Date | null;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  replays: number;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  attempt_no: number;
  replay_no: number;
  at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** Queue one delivery job durably (same transaction as the row it names). */
export async function queueDeliveryJob(q: Sql, deliveryId: string, jobId: string): Promise<void> {
  await enqueueJob(q, DELIVERIES_QUEUE, { delivery_id: deliveryId, job_id: jobId });
}

/**
 * Create the delivery of `event` to `sub` unless one exists for the same event (a notification job
 * that runs twice creates nothing new). Returns the new delivery id, or undefined.
 */
export async function createDelivery(
  q: Sql,
  sub: SubscriberRow,
  eventKey: string,
  event: NotificationEvent,
  at: Date,
  mask: MaskOptions = {},
): Promise<string | undefined> {
  const id = `msg_${crypto.randomUUID()}`;
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO deliveries (id, subscriber_id, event_key, event_type, body, status, next_attempt_at, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,'pending',$6,$6,$6) ON CONFLICT (subscriber_id, event_key) DO NOTHING RETURNING id`,
    [id, sub.id, eventKey, event.type, render(sub.format, event, mask), at],
  );
  if (!rows.length) return undefined;
  // job id = webhook-id: one job per delivery while BullMQ keeps it (`:` is not allowed in job ids).
  await queueDeliveryJob(q, id, id);
  return id;
}

export interface DeliveryFilter {
  subscriber_id?: string;
  status?: DeliveryStatus;
  owner_client_id?: string;
}

export async function listDeliveries(
  q: Sql,
  f: DeliveryFilter,
  limit: number,
  cursor?: { created_at: string; id: string },
): Promise<{ items: DeliveryRow[]; next_cursor: string | null }> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.subscriber_id) add('d.subscriber_id = ?', f.subscriber_id);
  if (f.status) add('d.status = ?', f.status);
  if (f.owner_client_id) add('s.owner_client_id = ?', f.owner_client_id);
  if (cursor) {
    params.push(cursor.created_at, cursor.id);
    where.push(`(d.created_at, d.id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(limit + 1);
  const { rows } = await q.query<DeliveryRow>(
    `SELECT d.* FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items,
    next_cursor:
      more && last ? Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id])).toString('base64url') : null,
  };
}

export function parseDeliveryCursor(s: string): { created_at: string; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString()) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      !Number.isNaN(Date.parse(v[0])) &&
      typeof v[1] === 'string' &&
      /^msg_[0-9a-f-]{36}$/.test(v[1])
    ) {
      return { created_at: v[0], id: v[1] };
    }
  } catch {
    /* not ours */
  }
  return undefined;
}

export async function getDelivery(
  q: Sql,
  id: string,
): Promise<(DeliveryRow & { owner_client_id: string | null }) | undefined> {
  const { rows } = await q.query<DeliveryRow & { owner_client_id: string | null }>(
    'SELECT d.*, s.owner_client_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1',
    [id],
  );
  return rows[0];
}

export async function deliveryAttempts(q: Sql, id: string): Promise<AttemptRow[]> {
  const { rows } = await q.query<AttemptRow>(
    'SELECT attempt_no, replay_no, at, status_code, error, duration_ms FROM delivery_attempts WHERE delivery_id = $1 ORDER BY replay_no, attempt_no',
    [id],
  );
  return rows;
}

/**
 * Ops replay: the same webhook-id and body go out again (receivers deduplicate by webhook-id), with
 * a fresh retry schedule. The job needs its own id because BullMQ still remembers the first one.
 */
export async function replayDelivery(q: Sql, id: string, at: Date): Promise<'queued' | 'in_flight' | 'missing'> {
  const { rows } = await q.query<{ replays: number }>(
    `UPDATE deliveries SET status = 'pending', attempts = 0, replays = replays + 1, next_attempt_at = $2, lease_until = NULL, updated_at = $2
     WHERE id = $1 AND status <> 'sending' RETURNING replays`,
    [id, at],
  );
  if (!rows.length) return (await getDelivery(q, id)) ? 'in_flight' : 'missing';
  await queueDeliveryJob(q, id, `${id}-replay-${rows[0]!.replays}`);
  return 'queued';
}

export async function isStopped(q: Sql, lock = false): Promise<boolean> {
  const { rows } = await q.query<{ stopped: boolean }>(
    `SELECT stopped FROM notification_control ${lock ? 'FOR SHARE' : ''}`,
  );
  return rows[0]?.stopped ?? false;
}

/** Waits for claims in progress (they hold the row FOR SHARE): after this commits, no attempt starts. */
export async function setStopped(q: Sql, stopped: boolean, by: string, reason: string | null, at: Date): Promise<void> {
  await q.query('UPDATE notification_control SET stopped = $1, changed_by = $2, reason = $3, changed_at = $4', [
    stopped,
    by,
    reason,
    at,
  ]);
}

export async function controlState(
  q: Sql,
): Promise<{ stopped: boolean; reason: string | null; changed_by: string | null; changed_at: Date | null }> {
  const { rows } = await q.query<{
    stopped: boolean;
    reason: string | null;
    changed_by: string | null;
    changed_at: Date | null;
  }>('SELECT stopped, reason, changed_by, changed_at FROM notification_control');
  return rows[0] ?? { stopped: false, reason: null, changed_by: null, changed_at: null };
}

/** What an insurer reads instead of a network error (which names addresses and ports: a port scanner). */
export const GENERIC_DELIVERY_ERROR = 'delivery failed';

/**
 * The API form of a delivery. Without `detail` (an insurer), an attempt that got no HTTP answer shows
 * only GENERIC_DELIVERY_ERROR; the receiver's own answers (`HTTP 500`) and the gateway's reasons for
 * cancelling stay readable. Ops (`detail`) see every error as recorded.
 */
export function deliveryView(d: DeliveryRow, attempts?: AttemptRow[], detail = false): Record<string, unknown> {
  const t = (x: Date | null) => (x ? toCstIso(x) : undefined);
  const lastError =
    !detail && d.last_error && d.last_status === null && d.status !== 'cancelled'
      ? GENERIC_DELIVERY_ERROR
      : d.last_error;
  const attemptError = (a: AttemptRow) =>
    !detail && a.error && a.status_code === null ? GENERIC_DELIVERY_ERROR : a.error;
  return {
    id: d.id,
    webhook_id: d.id,
    subscriber_id: d.subscriber_id,
    event_type: d.event_type,
    event_key: d.event_key,
    status: d.status,
    attempts: d.attempts,
    replays: d.replays,
    next_attempt_at: ['pending', 'failed'].includes(d.status) ? t(d.next_attempt_at) : undefined,
    last_attempt_at: t(d.last_attempt_at),
    last_status: d.last_status ?? undefined,
    last_error: lastError ?? undefined,
    delivered_at: t(d.delivered_at),
    created_at: toCstIso(d.created_at),
    payload: JSON.parse(d.body) as unknown,
    ...(attempts ? { attempt_log: attempts.map((a) => ({ ...a, error: attemptError(a), at: toCstIso(a.at) })) } : {}),
  };
}
