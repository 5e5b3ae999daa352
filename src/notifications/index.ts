/**
 * Outbound notifications (spec §6): subscribers, critical alerts at once, one digest per run, signed
 * deliveries with a Svix-like retry schedule, a delivery log, replay and an emergency stop.
 */
import type { Logger } from '../logging/logger';
import { scheduleSpanMs } from './retry-schedule';

export { queueCriticalNotifications } from './critical-hook';
export {
  enqueueDigest,
  fanOutCritical,
  fanOutDigest,
  digestData,
  processNotificationJob,
  DIGEST_MAX_IDS,
  type DigestSpec,
  type FanOutDeps,
  type NotificationJob,
} from './fan-out';
export {
  processDelivery,
  processDeliveryJob,
  deliveryLockMs,
  createHttpSender,
  type DeliveryDeps,
  type DeliveryJob,
  type Outcome,
  type Sender,
} from './delivery-worker';
export { notificationsRouter, type NotificationsRouterDeps } from './routes';
export {
  loadSubscribersFile,
  matchesFilter,
  parseSubscriberInput,
  type SubscriberFilter,
  type SubscriberRow,
} from './subscriber-store';
export { createDestinationGuard, specialRange, type DestinationGuard } from './destination-guard';
export { GENERIC_DELIVERY_ERROR, type DeliveryRow, type DeliveryStatus } from './delivery-store';
/** The queues this feature's workers process (named in src/queue/queue-names.ts). */
export { NOTIFICATIONS_QUEUE, DELIVERIES_QUEUE } from '../queue/queue-names';
export { render, type Format, type NotificationEvent, type DigestData } from './formats';
export { maskPersonal, maskText, maskSubjectKey, type MaskOptions } from './mask';
export { caseFor, mayRead, subscriberReader, type OwnerLookup } from './audience';
export { decide, parseRetryAfter, type AttemptResult, type Decision } from './retry-schedule';

/** Said once when the deliveries worker starts: spec §6 asks for a retry schedule of at least a day. */
export function warnIfShortSchedule(scheduleMs: readonly number[], log: Logger): void {
  if (scheduleSpanMs([...scheduleMs]) < 86_400_000) {
    log.warn(
      { schedule_ms: scheduleMs },
      'delivery retry schedule covers less than 24 h (spec §6 asks for at least a day)',
    );
  }
}
