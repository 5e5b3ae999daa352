/**
 * Outbound notifications (spec §6): subscribers, critical alerts at once, one digest per run, signed
 * deliveries with a Svix-like retry schedule, a delivery log, replay and an emergency stop.
 */
import type { Worker } from 'bullmq';
import type { Config } from '../config/config';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import { createDeliveryWorker, createHttpSender } from './delivery-worker';
import { createDestinationGuard } from './destination-guard';
import type { OwnerLookup } from './audience';
import { createNotificationWorker } from './fan-out';
import { scheduleSpanMs } from './retry-schedule';

export { queueCriticalNotifications } from './critical-hook';
export { enqueueDigest, fanOutCritical, fanOutDigest, digestData, DIGEST_MAX_IDS, type DigestSpec } from './fan-out';
export { processDelivery, createHttpSender, type DeliveryDeps, type Outcome, type Sender } from './delivery-worker';
export { notificationsRouter, type NotificationsRouterDeps } from './routes';
export { loadSubscribersFile, matchesFilter, parseSubscriberInput, type SubscriberFilter, type SubscriberRow } from './subscriber-store';
export { createDestinationGuard, specialRange, type DestinationGuard } from './destination-guard';
export { NOTIFICATIONS_QUEUE, DELIVERIES_QUEUE, GENERIC_DELIVERY_ERROR, type DeliveryRow, type DeliveryStatus } from './delivery-store';
export { render, type Format, type NotificationEvent, type DigestData } from './formats';
export { maskPersonal, maskText, maskSubjectKey, type MaskOptions } from './mask';
export { caseFor, mayRead, subscriberReader, type OwnerLookup } from './audience';
export { decide, parseRetryAfter, type AttemptResult, type Decision } from './retry-schedule';

export interface NotificationWorkerDeps {
  cfg: Pick<Config, 'redisUrl' | 'queuePrefix' | 'workerConcurrency' | 'deliveryScheduleMs' | 'deliveryTimeoutMs' | 'subscriberDisableAfterDays' | 'subscriberAllowHosts'>;
  db: Db;
  log: Logger;
  relay: { kick(): void };
  now: () => number;
  /** Whose callback an insurer's subscriber is, and that client's scope now (audience.ts). */
  clients?: OwnerLookup;
}

/** The notification fan-out worker and the delivery worker (Gateway.startWorkers starts them). */
export function startNotificationWorkers(gw: NotificationWorkerDeps): Worker[] {
  const { cfg, db, log, relay, now } = gw;
  if (scheduleSpanMs(cfg.deliveryScheduleMs) < 86_400_000) {
    log.warn({ schedule_ms: cfg.deliveryScheduleMs }, 'delivery retry schedule covers less than 24 h (spec §6 asks for at least a day)');
  }
  const common = { redisUrl: cfg.redisUrl, prefix: cfg.queuePrefix, concurrency: cfg.workerConcurrency, db, log, now };
  return [
    createNotificationWorker({ ...common, relay, clients: gw.clients }),
    createDeliveryWorker({
      ...common, scheduleMs: cfg.deliveryScheduleMs, timeoutMs: cfg.deliveryTimeoutMs, disableAfterDays: cfg.subscriberDisableAfterDays,
      send: createHttpSender(createDestinationGuard(cfg.subscriberAllowHosts)),
    }),
  ];
}
