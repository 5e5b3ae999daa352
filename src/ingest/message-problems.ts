/**
 * The HTTP answers the message log's outcomes turn into (message-store.ts runs SQL only): a
 * webhook-id replayed with another body (401), a business key seen before (200 duplicate or 409).
 */
import type { Sql } from '../db/db';
import { conflict, unauthorized } from '../http/problem';
import { noteWebhookId, type Envelope, type InsertOutcome } from './message-store';

export function webhookReplayed() {
  return unauthorized('WEBHOOK_ID_REPLAYED', {
    en: 'this webhook-id was used within the last 24 h with a different body',
    zh: '该 webhook-id 在 24 小时内已用于不同的请求体',
  });
}

/**
 * Standard Webhooks replay protection: the same webhook-id from the same client within 24 h must
 * carry the same body (a retransmission); a different body is refused (401 WEBHOOK_ID_REPLAYED).
 */
export async function recordWebhookId(q: Sql, env: Envelope): Promise<void> {
  if (!(await noteWebhookId(q, env))) throw webhookReplayed();
}

/**
 * 200 duplicate or 409 for a business key seen before. The 409 names the first message only to the
 * client that sent it: to another client (a second system of the same institution or insurer) it
 * says that the key is taken and nothing else.
 */
export function duplicateOrConflict(
  outcome: Extract<InsertOutcome, { inserted: false }>,
  contentSha256: string,
  businessKey: string,
) {
  if (outcome.content_sha256 === contentSha256)
    return { message_id: outcome.message_id, status: 'accepted' as const, duplicate: true as const };
  if (!outcome.same_client) {
    throw conflict({
      en: `business key ${businessKey} was accepted before with a different body`,
      zh: `业务键 ${businessKey} 已以不同内容受理`,
    });
  }
  throw conflict(
    {
      en: `business key ${businessKey} was accepted before with a different body (message ${outcome.message_id})`,
      zh: `业务键 ${businessKey} 已以不同内容受理（消息 ${outcome.message_id}）`,
    },
    { message_id: outcome.message_id },
  );
}
