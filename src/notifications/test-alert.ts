/**
 * A test alert (issue 18): ops add a channel in the console and see a message arrive there, through
 * the whole real path — the subscriber's format, its signatures (DingTalk 加签 included), the retry
 * schedule and the delivery log — not a side door that could work while alerts do not.
 */
import crypto from 'node:crypto';
import type { Sql } from '../db/db';
import { createDelivery } from './delivery-store';
import type { SubscriberRow } from './subscriber-store';

export const TEST_ALERT_NOTE =
  '这是一条测试告警，收到即说明该通道配置正确（签名、格式、网络可达）。This is a test alert: the channel works.';

/** Queues one test delivery to `sub` (durable, through the outbox); returns its id (= webhook-id). */
export async function queueTestAlert(q: Sql, sub: SubscriberRow, requestedBy: string, at: Date): Promise<string> {
  const id = await createDelivery(
    q,
    sub,
    `test:${crypto.randomUUID()}`,
    {
      type: 'subscriber.test',
      at,
      data: { subscriber_id: sub.id, requested_by: requestedBy, note: TEST_ALERT_NOTE },
    },
    at,
  );
  // The event key is new each time, so createDelivery always makes a row.
  return id!;
}
