/**
 * Sends one delivery. Three steps, so a worker restart never sends a delivered webhook twice:
 *   1. claim — in one transaction, under the stop flag (FOR SHARE) and the delivery row (FOR UPDATE):
 *      skip it if it is finished, wait if another worker holds its lease or it is not due yet,
 *      else mark it `sending` with a lease;
 *   2. POST it, signed (Standard Webhooks), with a timeout;
 *   3. record the outcome with an update conditional on the claim (delivered / retry / dead / gone).
 * A process that dies between 1 and 3 leaves a lease that expires: the delivery is then retried with
 * the same webhook-id (at-least-once; receivers deduplicate by webhook-id).
 * Retries are not BullMQ attempts: the job moves itself to `delayed` until the row's next_attempt_at,
 * so the schedule, Retry-After and the emergency stop all live in one place (the row).
 * Where a webhook may go is the destination guard's to say (destination-guard.ts, SSRF): the sender
 * connects only through agents whose `lookup` refuses non-public addresses, follows no redirect and
 * ignores HTTP(S)_PROXY (a proxy would hide the real destination from the guard).
 */
import http from 'node:http';
import https from 'node:https';
import axios from 'axios';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import { sign, signWithSm2 } from '../http/signature';
import type { Sm2PrivateKey } from '../http/sm2';
import { isStopped, type DeliveryRow } from './delivery-store';
import { dingtalkRefusal, dingtalkSignedUrl } from './dingtalk-sign';
import { DESTINATION_REFUSED, literalRefusal, type DestinationGuard } from './destination-guard';
import { decide, describe, type AttemptResult } from './retry-schedule';
import { setSubscriberEnabled } from './subscriber-store';

export interface DeliveryDeps {
  db: Db;
  log: Logger;
  now: () => number;
  scheduleMs: number[];
  timeoutMs: number;
  disableAfterDays: number;
  /** createHttpSender(guard) in production; there is no default, so nothing sends around the guard. */
  send: Sender;
  /** The gateway's SM2 key, for subscribers that ask for `v1sm2` (spec §9); the composition root always passes it. */
  sm2Key?: Sm2PrivateKey;
}

/** `robot: 'dingtalk'`: a 2xx is judged by DingTalk's `errcode` too (dingtalk-sign.ts dingtalkRefusal). */
export type Sender = (
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  opts?: { robot?: 'dingtalk' },
) => Promise<AttemptResult>;

export type Outcome =
  | { outcome: 'delivered' | 'dead' | 'gone' | 'skipped' }
  | { outcome: 'retry' | 'held' | 'busy' | 'not_due'; retryAt: number };

/** While stopped, a job that still runs (another process, or before the pause took effect) looks again this much later. */
const HOLD_MS = 60_000;
/** The lease outlives the request's own abort (timeout + 1 s) with room to record the outcome. */
const LEASE_MARGIN_MS = 5_000;
/** A job that finds another worker's live lease looks again this soon (the other usually finishes within ms). */
const BUSY_RECHECK_MS = 1_000;

/** The HTTP sender: axios over agents that resolve through the guard. */
export function createHttpSender(guard: DestinationGuard): Sender {
  const httpAgent = new http.Agent({ keepAlive: true, lookup: guard.lookup });
  const httpsAgent = new https.Agent({ keepAlive: true, lookup: guard.lookup });
  return async (url, body, headers, timeoutMs, opts) => {
    // net.connect does not call `lookup` for an IP literal: judge it here.
    const literal = literalRefusal(guard, new URL(url));
    if (literal) return { kind: 'error', message: `${DESTINATION_REFUSED}: ${literal.message}` };
    return post(url, body, headers, timeoutMs, httpAgent, httpsAgent, opts?.robot);
  };
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  httpAgent: http.Agent,
  httpsAgent: https.Agent,
  robot?: 'dingtalk',
): Promise<AttemptResult> {
  try {
    const res = await axios.post(url, body, {
      headers,
      timeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs + 1000),
      maxRedirects: 0,
      proxy: false,
      httpAgent,
      httpsAgent,
      validateStatus: () => true,
      responseType: 'stream',
      transformRequest: [(d: unknown) => d],
    });
    if (robot === 'dingtalk' && res.status >= 200 && res.status < 300) {
      const refusal = dingtalkRefusal(await readHead(res.data as NodeJS.ReadableStream, 4096));
      if (refusal) return { kind: 'error', message: `HTTP ${res.status}, ${refusal}` };
    }
    // The receiver's body is of no interest; do not let a large one hold the worker.
    (res.data as { destroy?: () => void }).destroy?.();
    const ra = res.headers['retry-after'];
    return { kind: 'response', status: res.status, retryAfter: typeof ra === 'string' ? ra : undefined };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { kind: 'error', message: `${err.code ? `${err.code}: ` : ''}${err.message ?? 'request failed'}` };
  }
}

/** The first `max` bytes of a response body as text (a robot's answer is a few dozen bytes). */
async function readHead(stream: NodeJS.ReadableStream, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      chunks.push(b);
      n += b.length;
      if (n >= max) break;
    }
  } catch {
    /* cut off (timeout, reset): judge what arrived */
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

interface Claimed {
  d: DeliveryRow;
  url: string;
  secret: string;
  signature: string;
  format: string;
  robot_secret: string | null;
}

async function claim(deps: DeliveryDeps, id: string): Promise<Claimed | Outcome> {
  const now = deps.now();
  return deps.db.tx(async (q) => {
    if (await isStopped(q, true)) return { outcome: 'held', retryAt: now + HOLD_MS };
    const { rows } = await q.query<
      DeliveryRow & {
        url: string;
        secret: string;
        signature: string;
        format: string;
        robot_secret: string | null;
        enabled: boolean;
        deleted_at: Date | null;
      }
    >(
      `SELECT d.*, s.url, s.secret, s.signature, s.format, s.robot_secret, s.enabled, s.deleted_at FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1 FOR UPDATE OF d`,
      [id],
    );
    const d = rows[0];
    if (!d) throw new UnrecoverableError(`delivery ${id} does not exist`);
    if (d.status === 'delivered' || d.status === 'dead' || d.status === 'cancelled') return { outcome: 'skipped' };
    if (!d.enabled || d.deleted_at) {
      await q.query(
        `UPDATE deliveries SET status = 'cancelled', last_error = 'subscriber disabled', lease_until = NULL, updated_at = $2 WHERE id = $1`,
        [id, new Date(now)],
      );
      return { outcome: 'skipped' };
    }
    if (d.status === 'sending' && d.lease_until && d.lease_until.getTime() > now)
      return { outcome: 'busy', retryAt: Math.min(d.lease_until.getTime(), now + BUSY_RECHECK_MS) };
    if (d.status !== 'sending' && d.next_attempt_at.getTime() > now)
      return { outcome: 'not_due', retryAt: d.next_attempt_at.getTime() };
    const upd = await q.query<DeliveryRow>(
      `UPDATE deliveries SET status = 'sending', attempts = attempts + 1, lease_until = $2, last_attempt_at = $3, updated_at = $3 WHERE id = $1 RETURNING *`,
      [id, new Date(now + deps.timeoutMs + LEASE_MARGIN_MS), new Date(now)],
    );
    return {
      d: upd.rows[0]!,
      url: d.url,
      secret: d.secret,
      signature: d.signature,
      format: d.format,
      robot_secret: d.robot_secret,
    };
  });
}

/**
 * `v1` for everyone; a `v1sm2` subscriber gets the gateway's SM2 signature first and the HMAC too,
 * so a receiver verifies whichever it supports (Standard Webhooks: any entry that matches).
 */
function signatureHeader(deps: DeliveryDeps, c: Claimed, ts: number): string {
  const v1 = sign(c.secret, c.d.id, ts, c.d.body, 'v1');
  if (c.signature !== 'v1sm2') return v1;
  if (!deps.sm2Key) {
    // Only a worker built outside the composition root lacks the key; the HMAC still authenticates.
    deps.log.error(
      { delivery_id: c.d.id, subscriber_id: c.d.subscriber_id },
      'subscriber asks for v1sm2 deliveries but this worker has no SM2 key; sent with v1 only',
    );
    return v1;
  }
  return `${signWithSm2(deps.sm2Key, c.d.id, ts, c.d.body)} ${v1}`;
}

export async function processDelivery(deps: DeliveryDeps, id: string): Promise<Outcome> {
  const c = await claim(deps, id);
  if ('outcome' in c) return c;
  const { d } = c;
  const started = deps.now();
  const ts = Math.floor(started / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'hifob-gateway-webhooks/1',
    'webhook-id': d.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signatureHeader(deps, c, ts),
  };
  // A DingTalk robot with 加签 checks timestamp and sign in the URL, freshly signed at each attempt (dingtalk-sign.ts).
  const url = c.robot_secret ? dingtalkSignedUrl(c.url, c.robot_secret, started) : c.url;
  const result = await deps.send(
    url,
    d.body,
    headers,
    deps.timeoutMs,
    c.format === 'dingtalk' ? { robot: 'dingtalk' } : undefined,
  );
  if (result.kind === 'error' && result.message.startsWith(DESTINATION_REFUSED)) {
    // Ops must know (a rebound name, or a probe of the internal network); the insurer sees "delivery failed".
    deps.log.warn(
      { delivery_id: d.id, subscriber_id: d.subscriber_id, reason: result.message },
      'webhook destination refused: not a public address',
    );
  }
  const now = deps.now();
  const at = new Date(now);
  const decision = decide(result, d.attempts, deps.scheduleMs, now);
  const status = result.kind === 'response' ? result.status : null;
  const error = describe(result);
  return deps.db.tx(async (q) => {
    await q.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt_no, replay_no, at, status_code, error, duration_ms) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING`,
      [d.id, d.attempts, d.replays, new Date(started), status, error, Math.max(0, now - started)],
    );
    // Conditional on our claim: a replay or a cancel that happened meanwhile wins.
    const mine = `id = $1 AND status = 'sending' AND attempts = ${d.attempts} AND replays = ${d.replays}`;
    switch (decision.action) {
      case 'delivered':
        await q.query(
          `UPDATE deliveries SET status = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL, lease_until = NULL, updated_at = $2 WHERE ${mine}`,
          [d.id, at, status],
        );
        await q.query('UPDATE subscribers SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [
          d.subscriber_id,
        ]);
        deps.log.debug(
          { delivery_id: d.id, subscriber_id: d.subscriber_id, attempts: d.attempts },
          'notification delivered',
        );
        return { outcome: 'delivered' };
      case 'gone':
        // 410: the receiver asks us to stop for good (Standard Webhooks); nothing more is sent to it.
        await q.query(
          `UPDATE deliveries SET status = 'dead', last_status = $2, last_error = $3, lease_until = NULL, updated_at = $4 WHERE ${mine}`,
          [d.id, status, error, at],
        );
        await setSubscriberEnabled(q, d.subscriber_id, false, 'receiver answered 410 Gone', at);
        deps.log.warn({ delivery_id: d.id, subscriber_id: d.subscriber_id }, 'subscriber answered 410 Gone; disabled');
        return { outcome: 'gone' };
      case 'retry':
      case 'dead': {
        const retryAt = decision.action === 'retry' ? now + decision.delayMs : now;
        await q.query(
          `UPDATE deliveries SET status = $2, next_attempt_at = $3, last_status = $4, last_error = $5, lease_until = NULL, updated_at = $6 WHERE ${mine}`,
          [d.id, decision.action === 'retry' ? 'failed' : 'dead', new Date(retryAt), status, error, at],
        );
        await noteFailure(deps, q, d.subscriber_id, at);
        if (decision.action === 'dead') {
          deps.log.warn(
            { delivery_id: d.id, subscriber_id: d.subscriber_id, attempts: d.attempts, last_error: error },
            'notification undeliverable after the whole retry schedule',
          );
          return { outcome: 'dead' };
        }
        return { outcome: 'retry', retryAt };
      }
    }
  });
}

/** A subscriber that has failed without a single success for longer than the configured days is disabled. */
async function noteFailure(deps: DeliveryDeps, q: Sql, subscriberId: string, at: Date): Promise<void> {
  const { rows } = await q.query<{ failing_since: Date }>(
    'UPDATE subscribers SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 RETURNING failing_since',
    [subscriberId, at],
  );
  const since = rows[0]?.failing_since;
  if (since && at.getTime() - since.getTime() > deps.disableAfterDays * 86_400_000) {
    await setSubscriberEnabled(q, subscriberId, false, `failing for more than ${deps.disableAfterDays} days`, at);
    deps.log.warn(
      { subscriber_id: subscriberId, failing_since: since },
      'subscriber disabled after days of failed deliveries',
    );
  }
}

export interface DeliveryJob {
  delivery_id: string;
}

/**
 * The 'deliveries' queue's process function (startWorker runs it: the root's startWorkers,
 * workers/deliveries.ts, with deliveryLockMs as its lock).
 */
export async function processDeliveryJob(
  deps: DeliveryDeps,
  job: Job<DeliveryJob>,
  token?: string,
): Promise<Outcome['outcome']> {
  const r = await processDelivery(deps, job.data.delivery_id);
  if ('retryAt' in r) {
    // Same job, later: it keeps its id, so the delivery stays one job through all its attempts.
    await job.moveToDelayed(Date.now() + Math.max(0, r.retryAt - deps.now()), token);
    throw new DelayedError();
  }
  return r.outcome;
}

/** The job lock must outlive the longest request, or BullMQ would hand the job to a second worker. */
export const deliveryLockMs = (timeoutMs: number): number => Math.max(30_000, timeoutMs + LEASE_MARGIN_MS);
