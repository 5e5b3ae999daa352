/**
 * Pulls new and changed settlements of a region from the agency platform, page by page from the
 * cursor the gateway remembers. Each page goes through the feed's own path (Settlement schema, scope,
 * the same insert) in ONE transaction with its message row, its outbox rows ('ingest' and
 * 'benefits') and the cursor advance. So a crash between pages resumes at the first page not
 * committed, and a page is applied at most once; a page fetched twice (a crash after the commit but
 * before the next read, or another puller) is refused by the cursor check, and records seen again are
 * duplicates in the ledger anyway (ON CONFLICT DO NOTHING on (setl_id, status)).
 */
import type { Config } from '../config/config';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import type { Client } from '../http/clients';
import { deleteMessage, finishMessage, insertFeedMessage, type Envelope } from '../ingest/message-store';
import { enqueueMessageJobs } from '../queue/outbox';
import { BENEFITS_QUEUE, INGEST_QUEUE } from '../queue/queue-names';
import { FEED_LOCK_KEY, storeSettlementRecords, type Rejected } from '../ingest/settlement-feed';
import { SchemaValidator } from '../schemas/validator';
import { PlatformClient, type PlatformClientOptions, type PullPage } from './platform-client';

export const PULL_CLIENT_ID = 'agency-pull';

/** What a pull needs: the platform's address, the database, the relay to kick, the clock. */
export interface PullDeps {
  db: Db;
  cfg: Pick<Config, 'agencyPullUrl' | 'agencyPullToken'>;
  log: Logger;
  relay: { kick(): void };
  now: () => number;
}

export interface PullOutcome {
  pages: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  cursor: string | null;
}

export class CursorMoved extends Error {}

let validator: SchemaValidator | undefined;
const schemaValidator = () => (validator ??= new SchemaValidator());

export async function readCursor(q: Sql, admdvs: string): Promise<string | null> {
  const { rows } = await q.query<{ cursor: string | null }>(
    'SELECT cursor FROM agency_pull_cursors WHERE admdvs = $1',
    [admdvs],
  );
  return rows[0]?.cursor ?? null;
}

/** Pulls until the platform says there is no more; throws when a page keeps failing (what was committed stays). */
export async function pullAgencySettlements(
  gw: PullDeps,
  admdvs: string,
  opts: Omit<PlatformClientOptions, 'baseUrl' | 'token'> & { maxPages?: number } = {},
): Promise<PullOutcome> {
  if (!/^\d{2,6}$/.test(admdvs)) throw new RangeError(`admdvs prefix must be 2–6 digits: ${admdvs}`);
  if (!gw.cfg.agencyPullUrl) throw new Error('GATEWAY_AGENCY_PULL_URL is not configured');
  const platform = new PlatformClient({ ...opts, baseUrl: gw.cfg.agencyPullUrl, token: gw.cfg.agencyPullToken });
  await gw.db.query(
    `INSERT INTO agency_pull_cursors (admdvs, updated_at) VALUES ($1, $2) ON CONFLICT (admdvs) DO NOTHING`,
    [admdvs, new Date(gw.now())],
  );
  const out: PullOutcome = {
    pages: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    cursor: await readCursor(gw.db, admdvs),
  };
  const maxPages = opts.maxPages ?? 100_000;
  for (let n = 0; n < maxPages; n++) {
    const page = await platform.page(admdvs, out.cursor, (attempt, err) =>
      gw.log.warn({ err, admdvs, attempt }, 'agency pull: page failed; retrying'),
    );
    const r = await applyPage(gw, admdvs, out.cursor, page);
    out.pages++;
    out.accepted += r.accepted;
    out.duplicates += r.duplicates;
    out.rejected += r.rejected.length;
    out.cursor = page.nextCursor ?? out.cursor;
    if (r.accepted > 0) gw.relay.kick();
    if (!page.hasMore) break;
  }
  gw.log.info(
    { admdvs, pages: out.pages, accepted: out.accepted, duplicates: out.duplicates, rejected: out.rejected },
    'agency pull done',
  );
  return out;
}

/** One page, all or nothing: records, message + outbox, cursor. */
async function applyPage(
  gw: PullDeps,
  admdvs: string,
  fromCursor: string | null,
  page: PullPage,
): Promise<{ accepted: number; duplicates: number; rejected: Rejected[] }> {
  const receivedAt = new Date(gw.now());
  return gw.db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [FEED_LOCK_KEY]);
    const cur = await q.query<{ cursor: string | null }>(
      'SELECT cursor FROM agency_pull_cursors WHERE admdvs = $1 FOR UPDATE',
      [admdvs],
    );
    if ((cur.rows[0]?.cursor ?? null) !== fromCursor)
      throw new CursorMoved(`the pull cursor of ${admdvs} moved while this page was read (another puller?)`);
    let result = { accepted: 0, duplicates: 0, rejected: [] as Rejected[] };
    if (page.records.length) {
      const env: Envelope = {
        clientId: PULL_CLIENT_ID,
        webhookId: `pull-${admdvs}-${page.bodySha256.slice(0, 16)}`,
        bodySha256: page.bodySha256,
        rawBody: null,
        contentType: 'application/json',
        bodyBytes: page.bodyBytes,
        receivedAt,
      };
      const messageId = await insertFeedMessage(q, env);
      const client: Client = {
        client_id: PULL_CLIENT_ID,
        role: 'agency',
        scope: [admdvs],
        signing_secrets: [],
        token_sha256: [],
      };
      const v = schemaValidator();
      result = await storeSettlementRecords(q, page.records, {
        client,
        validate: v.validate.bind(v),
        lang: 'en',
        messageId,
        receivedAt,
      });
      if (result.accepted === 0) {
        // Nothing new on this page (all seen before, or all rejected): no message to process.
        await deleteMessage(q, messageId);
      } else {
        await enqueueMessageJobs(
          q,
          [{ message_id: messageId, kind: 'agency_settlements', request_id: null }],
          [INGEST_QUEUE, BENEFITS_QUEUE],
        );
        await finishMessage(q, messageId, {
          recordCount: result.accepted,
          errors: result.rejected.length ? result.rejected.slice(0, 100) : null,
        });
      }
    }
    await q.query(
      `UPDATE agency_pull_cursors SET cursor = coalesce($2, cursor), pages = pages + 1, records = records + $3, rejected = rejected + $4,
              last_errors = $5, updated_at = $6 WHERE admdvs = $1`,
      [
        admdvs,
        page.nextCursor,
        result.accepted,
        result.rejected.length,
        result.rejected.length ? JSON.stringify(result.rejected.slice(0, 100)) : null,
        receivedAt,
      ],
    );
    if (result.rejected.length)
      gw.log.warn(
        { admdvs, rejected: result.rejected.length },
        'agency pull: records rejected (see agency_pull_cursors.last_errors)',
      );
    return result;
  });
}
