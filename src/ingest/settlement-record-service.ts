/**
 * Settlement records that arrive one envelope at a time (the platform's 2207/2208, src/platform/)
 * stored by the agency feed's own path: the Settlement schema, scope, the same insert and the same
 * duplicate / conflict judgement (storeSettlementRecords), under the feed lock, in ONE transaction
 * with the message row (kind agency_settlements, its raw body kept), the webhook-id and the
 * 'ingest' and 'benefits' jobs — so matching, the benefit audit and the findings follow exactly as
 * for a feed. A request that stores nothing (a duplicate, or refused) leaves no message behind.
 */
import crypto from 'node:crypto';
import type { Sql } from '../db/db';
import type { Client } from '../http/clients';
import type { Lang } from '../schemas/validator';
import { enqueueMessageJobs } from '../queue/outbox';
import { BENEFITS_QUEUE, INGEST_QUEUE } from '../queue/queue-names';
import { finishMessage, insertFeedMessage, type Envelope } from './message-store';
import { recordWebhookId } from './message-problems';
import { FEED_LOCK_KEY, storeSettlementRecords, type Rejected } from './settlement-feed';
import type { IngestDeps } from './ingest-service';
import { storedSettlementKeys } from '../ledger/settlement-store';

export interface SettlementRecordsRequest {
  client: Client;
  webhookId: string;
  /** The request body as received (kept in the message log). */
  raw: Buffer;
  requestId?: string;
  lang: Lang;
}

export interface SettlementRecordsOutcome {
  /** The message that stored them; undefined when nothing was stored. */
  message_id?: string;
  accepted: number;
  duplicates: number;
  /** The message that first stored a duplicate record. */
  firstDuplicateOf?: string;
  rejected: Rejected[];
}

class NothingStored extends Error {
  constructor(readonly outcome: SettlementRecordsOutcome) {
    super('nothing stored');
  }
}

export async function acceptSettlementRecords(
  deps: Pick<IngestDeps, 'db' | 'validator' | 'now'>,
  req: SettlementRecordsRequest,
  records: readonly unknown[],
): Promise<SettlementRecordsOutcome> {
  const receivedAt = new Date(deps.now());
  const validator = deps.validator;
  try {
    return await deps.db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1)', [FEED_LOCK_KEY]);
      const env: Envelope = {
        clientId: req.client.client_id,
        webhookId: req.webhookId,
        bodySha256: crypto.createHash('sha256').update(req.raw).digest('hex'),
        rawBody: req.raw,
        contentType: 'application/json',
        bodyBytes: req.raw.length,
        requestId: req.requestId,
        receivedAt,
      };
      await recordWebhookId(q, env);
      const messageId = await insertFeedMessage(q, env);
      const r = await storeSettlementRecords(q, records, {
        client: req.client,
        validate: validator.validate.bind(validator),
        lang: req.lang,
        messageId,
        receivedAt,
      });
      if (r.accepted === 0) {
        const dup = r.duplicates > 0 ? await firstDuplicate(q, records) : undefined;
        // Rolled back: no message, no webhook-id (a retry with the same webhook-id is judged afresh).
        throw new NothingStored({
          accepted: 0,
          duplicates: r.duplicates,
          rejected: r.rejected,
          ...(dup ? { firstDuplicateOf: dup } : {}),
        });
      }
      await enqueueMessageJobs(
        q,
        [{ message_id: messageId, kind: 'agency_settlements', request_id: req.requestId ?? null }],
        [INGEST_QUEUE, BENEFITS_QUEUE],
      );
      await finishMessage(q, messageId, {
        recordCount: r.accepted,
        errors: r.rejected.length ? r.rejected.slice(0, 100) : null,
      });
      return { message_id: messageId, accepted: r.accepted, duplicates: r.duplicates, rejected: r.rejected };
    });
  } catch (e) {
    if (e instanceof NothingStored) return e.outcome;
    throw e;
  }
}

/** The message that stored the first record of `records` (a duplicate: its (setl_id, status) is stored with the same body). */
async function firstDuplicate(q: Sql, records: readonly unknown[]): Promise<string | undefined> {
  const first = records[0] as { setl_id?: unknown; status?: unknown } | undefined;
  if (typeof first?.setl_id !== 'string') return undefined;
  const rows = await storedSettlementKeys(q, [first.setl_id]);
  return rows.find((r) => r.status === first.status)?.message_id;
}
