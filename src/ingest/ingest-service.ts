/**
 * The ingest service of the single-document kinds (spec §3, §8). routes.ts has read the body and
 * checked the signature; this decides, cheapest check first: schema (422 with JSON pointers) →
 * scope (403) → business rules (422) → one transaction: the kind's ledger rules (422), then the
 * message log (message-store.ts), its ingest job (queue/outbox.ts) and its ledger rows (the kind's
 * store in src/ledger/) → accepted, a duplicate (200) or a conflict (409).
 * Kinds without ledger rules are written by group commit (group-commit.ts), one transaction with the
 * messages of the same kind that arrive at the same time; the answers are the same as one at a time.
 */
import crypto from 'node:crypto';
import type { Db, Sql } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { inScope } from '../http/auth';
import { forbidden, unprocessable } from '../http/problem';
import type { Lang, SchemaValidator } from '../schemas/validator';
import { contentHash, normalize } from '../schemas/normalize';
import { INGEST_QUEUE } from '../queue/queue-names';
import { kindSpec, type KindSpec, type MessageKind } from './kinds';
import { acceptMessage, acceptMessages, type AcceptItem, type AcceptOutcome, type Envelope } from './message-store';
import { duplicateOrConflict, webhookReplayed } from './message-problems';
import { GroupCommit, DEFAULT_GROUP_LIMITS, type GroupLimits } from './group-commit';

/** What the composition root gives the ingest routes (routes.ts, settlement-feed.ts) and this service. */
export interface IngestDeps {
  db: Db;
  validator: SchemaValidator;
  clients: ClientRegistry;
  now: () => number;
  maxBodyBytes: number;
  maxFeedBytes: number;
  /** Called after a commit so the outbox relay queues the work at once. */
  onCommitted: () => void;
  onOutcome?: (kind: string, outcome: 'accepted' | 'duplicate' | 'rejected') => void;
}

/** A signed document as the route hands it over: its body read, its signature and role checked. */
export interface SignedDocument {
  client: Client;
  webhookId: string;
  raw: Buffer;
  /** The body parsed (strict JSON), and its text. */
  value: unknown;
  text: string;
  requestId?: string;
  lang: Lang;
}

export type IngestAnswer =
  { message_id: string; status: 'accepted' } | { message_id: string; status: 'accepted'; duplicate: true };

/** One accepted-to-be message of a group: its envelope, keys, and the ledger row its kind adds. */
export interface KindItem extends AcceptItem {
  kind: MessageKind;
  rows: unknown;
}
export type AcceptCommitter = GroupCommit<KindItem, AcceptOutcome>;

/**
 * The write of a group of messages of one kind, in the caller's transaction: the message log and,
 * for the messages it stored, their ingest jobs (one statement for the group: message-store.ts,
 * queue/outbox.ts), then their ledger rows (the kind's store, one multi-row statement).
 */
export async function acceptGroup(q: Sql, items: KindItem[]): Promise<(AcceptOutcome | Error)[]> {
  const outcomes = await acceptMessages(q, items[0]!.kind, items, [INGEST_QUEUE]);
  await storeAccepted(q, items, outcomes);
  return outcomes;
}

/** One message's write (acceptGroup of one), in the caller's transaction. */
export async function acceptOne(q: Sql, item: KindItem): Promise<AcceptOutcome> {
  const outcome = await acceptMessage(q, item.env, item.kind, item.businessKey, item.contentSha256, [INGEST_QUEUE]);
  await storeAccepted(q, [item], [outcome]);
  return outcome;
}

/** The ledger rows of the messages stored (their ingest jobs were queued with them, acceptMessages). */
async function storeAccepted(q: Sql, items: KindItem[], outcomes: (AcceptOutcome | Error)[]): Promise<void> {
  const stored = items.flatMap((it, i) => {
    const o = outcomes[i];
    return o && !(o instanceof Error) && 'inserted' in o && o.inserted ? [{ it, message_id: o.message_id }] : [];
  });
  if (!stored.length) return;
  await kindSpec(items[0]!.kind).store(
    q,
    stored.map(({ it, message_id }) => ({ message_id, received_at: it.env.receivedAt, row: it.rows })),
  );
}

/**
 * The group committer of the single-document kinds. Keys: a client's webhook-id and a kind's
 * business key — two messages sharing one are never written in the same group, nor at once.
 */
export function createAcceptCommitter(db: Pick<Db, 'tx'>, limits: GroupLimits = DEFAULT_GROUP_LIMITS): AcceptCommitter {
  return new GroupCommit<KindItem, AcceptOutcome>(
    (items) => db.tx((q) => acceptGroup(q, items)),
    (it) => db.tx((q) => acceptOne(q, it)),
    (it) => ({
      group: it.kind,
      keys: [`w\0${it.env.clientId}\0${it.env.webhookId}`, `b\0${it.kind}\0${it.businessKey}`],
      bytes: it.env.bodyBytes,
    }),
    limits,
  );
}

export interface IngestService {
  /** Decide on a signed document of `spec`'s kind and store it; throws the problem (422, 403, 401, 409) that refuses it. */
  accept<T, R>(spec: KindSpec<T, R>, doc: SignedDocument): Promise<IngestAnswer>;
}

/** One service, so one committer for all kinds: a webhook-id is a client's, whatever the endpoint. */
export function createIngestService(
  deps: Pick<IngestDeps, 'db' | 'validator' | 'now'>,
  committer: AcceptCommitter = createAcceptCommitter(deps.db),
): IngestService {
  return {
    async accept<T, R>(spec: KindSpec<T, R>, doc: SignedDocument): Promise<IngestAnswer> {
      const { lang, client } = doc;
      const schemaErrors = deps.validator.validate(spec.schema, doc.value, lang, '', doc.text);
      if (schemaErrors.length) throw unprocessable(schemaErrors);
      const msg = normalize<T>(spec.schema, doc.value);
      const scope = spec.scopeValue(msg);
      if (scope !== undefined && !inScope(client, { insurer_code: scope, fixmedins_code: scope })) {
        throw forbidden({
          en: `${scope} is outside client ${client.client_id}'s scope`,
          zh: `${scope} 不在客户端 ${client.client_id} 的授权范围内`,
        });
      }
      const senderErrors = spec.senderRules?.(msg, client, lang) ?? [];
      if (senderErrors.length)
        throw forbidden(
          {
            en: `the message names data outside client ${client.client_id}'s scope`,
            zh: `消息含有客户端 ${client.client_id} 授权范围之外的数据`,
          },
          senderErrors,
        );
      const ruleErrors = spec.rules(msg, lang);
      if (ruleErrors.length) throw unprocessable(ruleErrors);

      const businessKey = spec.businessKey(msg);
      const contentSha = contentHash(msg);
      const env: Envelope = {
        clientId: client.client_id,
        webhookId: doc.webhookId,
        bodySha256: crypto.createHash('sha256').update(doc.raw).digest('hex'),
        rawBody: doc.raw,
        contentType: 'application/json',
        bodyBytes: doc.raw.length,
        requestId: doc.requestId,
        receivedAt: new Date(deps.now()),
      };
      const item: KindItem = {
        kind: spec.kind,
        env,
        businessKey,
        contentSha256: contentSha,
        rows: spec.rows(msg, client),
      };
      const answer = (out: AcceptOutcome): IngestAnswer => {
        if ('replayed' in out) throw webhookReplayed();
        if (!out.inserted) return duplicateOrConflict(out, contentSha, businessKey);
        return { message_id: out.message_id, status: 'accepted' };
      };
      // Rules that read the ledger take a lock and need a transaction of their own; the other
      // kinds' write joins the group of messages being written now.
      const ledgerRules = spec.ledgerRules;
      if (!ledgerRules) return answer(await committer.submit(item));
      return deps.db.tx(async (q) => {
        const ledgerErrors = await ledgerRules(q, msg, lang);
        if (ledgerErrors.length) throw unprocessable(ledgerErrors);
        return answer(await acceptOne(q, item));
      });
    },
  };
}
