/**
 * The write endpoints of spec §3 and the message log read of §5. A write route parses and
 * authorises, cheapest check first: media type (415) → signature headers and the kind's role
 * (401/403) → body within the limit (413) → signature over the raw bytes (401) → UTF-8 and JSON (400;
 * a member named twice or nesting past 64 levels 422); ingest-service.ts decides and stores (202, 200
 * for a duplicate).
 */
import { Router, type Request, type Response } from 'express';
import type { ClientRegistry } from '../http/clients';
import { beginSignedWrite, requireBearer, verifySignedWrite } from '../http/auth';
import { langOf, notFound, unsupportedMedia, type ProblemError } from '../http/problem';
import { mediaType, parseJson, readBody } from '../http/request-body';
import { toCstIso } from '../time';
import {
  batchSpec,
  collectionSpec,
  costReportSpec,
  disbursementSpec,
  paymentSpec,
  planSpec,
  recoverySpec,
  transferSpec,
  type KindSpec,
} from './kinds';
import { createIngestService, type IngestDeps, type IngestService } from './ingest-service';
import { settlementFeedHandler, type FeedSettings } from './settlement-feed';
import { getMessage } from './message-store';

export function ingestRouter(deps: IngestDeps & { feed?: Partial<FeedSettings> }): Router {
  const r = Router();
  const service = createIngestService(deps);
  r.post('/v1/agency/settlements', settlementFeedHandler(deps));
  r.post('/v1/agency/disbursements', singleKindRoute(disbursementSpec, deps, service));
  r.post('/v1/settlement-batches', singleKindRoute(batchSpec, deps, service));
  r.post('/v1/insurer-payments', singleKindRoute(paymentSpec, deps, service));
  r.post('/v1/spending-plans', singleKindRoute(planSpec, deps, service));
  r.post('/v1/recoveries', singleKindRoute(recoverySpec, deps, service));
  // The fund year (spec §8).
  r.post('/v1/premium-collections', singleKindRoute(collectionSpec, deps, service));
  r.post('/v1/fund-transfers', singleKindRoute(transferSpec, deps, service));
  r.post('/v1/insurer-cost-reports', singleKindRoute(costReportSpec, deps, service));
  return r;
}

/** The route of one single-document kind: read and authorise the request, hand it to the service, answer. */
function singleKindRoute<T, R>(spec: KindSpec<T, R>, deps: IngestDeps, service: IngestService) {
  return async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    try {
      if (mediaType(req) !== 'application/json') throw unsupportedMedia(['application/json']);
      const signed = beginSignedWrite(req, deps.clients, spec.role, deps.now());
      const raw = await readBody(req, deps.maxBodyBytes, (b) => signed.verifier.update(b));
      await verifySignedWrite(signed, res);
      const { value, text } = parseJson(raw, lang);
      const result = await service.accept(spec, {
        client: signed.client,
        webhookId: signed.webhookId,
        raw,
        value,
        text,
        requestId: res.locals.requestId,
        lang,
      });
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

export function messagesRouter(deps: { db: IngestDeps['db']; clients: ClientRegistry }): Router {
  const r = Router();
  r.get('/v1/messages/:id', requireBearer(deps.clients), async (req, res) => {
    const m = await getMessage(deps.db, String(req.params.id));
    const c = res.locals.client;
    // A client sees its own messages; ops sees all.
    if (!m || (c.role !== 'ops' && m.client_id !== c.client_id))
      throw notFound({ en: 'no such message', zh: '没有该消息' });
    res.json({
      message_id: m.message_id,
      kind: m.kind,
      status: m.status,
      received_at: toCstIso(m.received_at),
      ...(m.processed_at ? { processed_at: toCstIso(m.processed_at) } : {}),
      ...(m.errors ? { errors: m.errors } : {}),
      record_count: m.record_count,
    });
  });
  return r;
}
