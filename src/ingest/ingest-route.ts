/**
 * The write path of every single-document kind, in the order the checks are cheapest:
 * media type (415) → signature headers (401/403) → body within the limit (413) → signature over the
 * raw bytes (401) → UTF-8 and JSON (400; a member named twice or nesting past 64 levels 422) →
 * schema (422 with JSON pointers) → scope (403) →
 * business rules (422) → one transaction: webhook-id, message + outbox, ledger rules, rows → 202.
 * Kinds without ledger rules are written by group commit (group-commit.ts) with the messages that
 * arrive at the same time; the answers are the same as one at a time.
 */
import type { Request, Response } from 'express';
import getRawBody from 'raw-body';
import * as contentType from 'content-type';
import crypto from 'node:crypto';
import type { Db, Sql } from '../db/db';
import type { ClientRegistry } from '../http/clients';
import { beginSignedWrite, inScope, verifySignedWrite } from '../http/auth';
import { badRequest, forbidden, langOf, tooLarge, unprocessable, unsupportedMedia, type ProblemError } from '../http/problem';
import type { Lang, SchemaValidator } from '../schemas/validator';
import { parseStrictJson } from '../schemas/strict-json';
import { contentHash, normalize } from '../schemas/normalize';
import type { KindSpec, MessageKind } from './kinds';
import { acceptMessage, acceptMessages, duplicateOrConflict, webhookReplayed, type AcceptItem, type AcceptOutcome, type Envelope } from './message-store';
import { GroupCommit, DEFAULT_GROUP_LIMITS, type GroupLimits } from './group-commit';
import type { FeedSettings } from './settlement-feed';

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
  /** The agency feed's own limits (settlement-feed.ts); defaults when absent. */
  feed?: Partial<FeedSettings>;
}

export function mediaType(req: Request): string | undefined {
  try {
    return contentType.parse(req.headers['content-type'] ?? '').type;
  } catch {
    return undefined;
  }
}

export async function readBody(req: Request, limit: number, onChunk?: (b: Buffer) => void): Promise<Buffer> {
  try {
    const buf = await getRawBody(req, { limit, length: req.headers['content-length'] });
    onChunk?.(buf);
    return buf;
  } catch (e) {
    const err = e as { type?: string };
    if (err.type === 'entity.too.large') throw tooLarge(limit);
    throw badRequest({ en: 'the request body could not be read completely', zh: '请求体未能完整读取' });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as UTF-8 JSON, read strictly (src/schemas/strict-json.ts): 400 when it is not JSON, 422
 * with the member's path for a duplicate member name or nesting past MAX_JSON_DEPTH. Returns the
 * text too (the validator skips its text walk for a text without escapes).
 */
export function parseJson(buf: Buffer, lang: Lang = 'en'): { value: unknown; text: string } {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = parseStrictJson(text, lang);
  if (parsed.ok) return { value: parsed.value, text };
  if (!parsed.malformed) throw unprocessable([parsed.error]);
  const message = parsed.error.message;
  throw badRequest({ en: `malformed JSON: ${message}`, zh: `JSON 格式错误：${message}` }, [parsed.error]);
}

export interface KindItem extends AcceptItem { kind: MessageKind }
export type AcceptCommitter = GroupCommit<KindItem, AcceptOutcome>;

/**
 * The group committer of the single-document kinds. Keys: a client's webhook-id and a kind's
 * business key — two messages sharing one are never written in the same group, nor at once.
 */
export function createAcceptCommitter(db: Sql, limits: GroupLimits = DEFAULT_GROUP_LIMITS): AcceptCommitter {
  return new GroupCommit<KindItem, AcceptOutcome>(
    (items) => acceptMessages(db, items[0]!.kind, items),
    (it) => acceptMessage(db, it.env, it.kind, it.businessKey, it.contentSha256, it.inserts),
    (it) => ({ group: it.kind, keys: [`w\0${it.env.clientId}\0${it.env.webhookId}`, `b\0${it.kind}\0${it.businessKey}`], bytes: it.env.bodyBytes }),
    limits,
  );
}

export function singleKindHandler<T>(spec: KindSpec<T>, deps: IngestDeps, committer: AcceptCommitter = createAcceptCommitter(deps.db)) {
  return async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    try {
      if (mediaType(req) !== 'application/json') throw unsupportedMedia(['application/json']);
      const signed = beginSignedWrite(req, deps.clients, spec.role, deps.now());
      const raw = await readBody(req, deps.maxBodyBytes, (b) => signed.verifier.update(b));
      await verifySignedWrite(signed, res);
      const { value: data, text } = parseJson(raw, lang);
      const schemaErrors = deps.validator.validate(spec.schema, data, lang, '', text);
      if (schemaErrors.length) throw unprocessable(schemaErrors);
      const msg = normalize<T>(spec.schema, data);
      const scope = spec.scopeValue(msg);
      if (scope !== undefined && !inScope(signed.client, { insurer_code: scope, fixmedins_code: scope })) {
        throw forbidden({ en: `${scope} is outside client ${signed.client.client_id}'s scope`, zh: `${scope} 不在客户端 ${signed.client.client_id} 的授权范围内` });
      }
      const senderErrors = spec.senderRules?.(msg, signed.client, lang) ?? [];
      if (senderErrors.length) throw forbidden({ en: `the message names data outside client ${signed.client.client_id}'s scope`, zh: `消息含有客户端 ${signed.client.client_id} 授权范围之外的数据` }, senderErrors);
      const ruleErrors = spec.rules(msg, lang);
      if (ruleErrors.length) throw unprocessable(ruleErrors);

      const businessKey = spec.businessKey(msg);
      const contentSha = contentHash(msg);
      const env: Envelope = {
        clientId: signed.client.client_id, webhookId: signed.webhookId,
        bodySha256: crypto.createHash('sha256').update(raw).digest('hex'), rawBody: raw,
        contentType: 'application/json', bodyBytes: raw.length, requestId: res.locals.requestId, receivedAt: new Date(deps.now()),
      };
      const answer = (out: AcceptOutcome) => {
        if ('replayed' in out) throw webhookReplayed();
        if (!out.inserted) return duplicateOrConflict(out, contentSha, businessKey);
        return { message_id: out.message_id, status: 'accepted' as const };
      };
      // Rules that read the ledger take a lock and need a transaction of their own; the other
      // kinds' single statement joins the group of messages being written now.
      const ledgerRules = spec.ledgerRules;
      const result = ledgerRules
        ? await deps.db.tx(async (q) => {
          const ledgerErrors = await ledgerRules(q, msg, lang);
          if (ledgerErrors.length) throw unprocessable(ledgerErrors);
          return answer(await acceptMessage(q, env, spec.kind, businessKey, contentSha, spec.rows(msg, signed.client)));
        })
        : answer(await committer.submit({ kind: spec.kind, env, businessKey, contentSha256: contentSha, inserts: spec.rows(msg, signed.client) }));
      if ('duplicate' in result) {
        deps.onOutcome?.(spec.kind, 'duplicate');
        res.status(200).json(result);
      } else {
        deps.onOutcome?.(spec.kind, 'accepted');
        res.status(202).json(result);
        deps.onCommitted();
      }
    } catch (e) {
      if ((e as ProblemError).status) deps.onOutcome?.(spec.kind, 'rejected');
      throw e;
    }
  };
}
