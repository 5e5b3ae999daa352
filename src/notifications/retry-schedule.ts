/**
 * What happens after one delivery attempt — pure, so the rules are unit-tested without a receiver.
 *
 * The schedule is Svix's: attempt 1 at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
 * (≈ 27.6 h in all, spec §6 "at least a day"); `GATEWAY_DELIVERY_SCHEDULE_MS` shortens it in tests.
 * A 2xx is delivered; 410 Gone means the receiver asks us to stop for good (Standard Webhooks); 429
 * and 503 may carry Retry-After and the next attempt is never earlier than that; everything else
 * (other statuses, timeouts, refused connections) is retried on the schedule until it runs out.
 */

export type AttemptResult =
  { kind: 'response'; status: number; retryAfter?: string } | { kind: 'error'; message: string };

export type Decision =
  { action: 'delivered' } | { action: 'gone' } | { action: 'retry'; delayMs: number } | { action: 'dead' };

/** Retry-After larger than this is capped: one receiver must not park a delivery for weeks. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `nowMs`; undefined if unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.min(Math.max(t - nowMs, 0), MAX_RETRY_AFTER_MS);
}

/**
 * @param attempts attempts made so far, this one included (1 after the first)
 * @param schedule delays before each attempt; `schedule.length` attempts in all
 */
export function decide(r: AttemptResult, attempts: number, schedule: number[], nowMs: number): Decision {
  if (r.kind === 'response' && r.status >= 200 && r.status < 300) return { action: 'delivered' };
  if (r.kind === 'response' && r.status === 410) return { action: 'gone' };
  if (attempts >= schedule.length) return { action: 'dead' };
  const scheduled = schedule[attempts] ?? 0;
  const asked =
    r.kind === 'response' && (r.status === 429 || r.status === 503) ? parseRetryAfter(r.retryAfter, nowMs) : undefined;
  return { action: 'retry', delayMs: Math.max(scheduled, asked ?? 0) };
}

/** Total time the schedule covers, ms (start-up can warn when it is shorter than a day). */
export function scheduleSpanMs(schedule: number[]): number {
  return schedule.reduce((a, b) => a + b, 0);
}

/** A short, log-safe description of a failed attempt for the delivery log. */
export function describe(r: AttemptResult): string | null {
  if (r.kind === 'error') return r.message.slice(0, 500);
  if (r.status >= 200 && r.status < 300) return null;
  return `HTTP ${r.status}${r.retryAfter ? ` (Retry-After: ${r.retryAfter.slice(0, 64)})` : ''}`;
}
