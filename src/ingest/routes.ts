/** The write endpoints of spec §3 and the message log read of §5. */
import { Router } from 'express';
import type { ClientRegistry } from '../http/clients';
import { requireBearer } from '../http/auth';
import { notFound } from '../http/problem';
import { toCstIso } from '../time';
import { SINGLE_KINDS } from './kinds';
import { createAcceptCommitter, singleKindHandler, type IngestDeps } from './ingest-route';
import { settlementFeedHandler } from './settlement-feed';
import { getMessage } from './message-store';

export function ingestRouter(deps: IngestDeps): Router {
  const r = Router();
  r.post('/v1/agency/settlements', settlementFeedHandler(deps));
  // One committer for all kinds: a webhook-id is a client's, whatever the endpoint.
  const committer = createAcceptCommitter(deps.db);
  for (const spec of SINGLE_KINDS) r.post(spec.path, singleKindHandler(spec, deps, committer));
  return r;
}

export function messagesRouter(deps: { db: IngestDeps['db']; clients: ClientRegistry }): Router {
  const r = Router();
  r.get('/v1/messages/:id', requireBearer(deps.clients), async (req, res) => {
    const m = await getMessage(deps.db, String(req.params.id));
    const c = res.locals.client;
    // A client sees its own messages; ops sees all.
    if (!m || (c.role !== 'ops' && m.client_id !== c.client_id)) throw notFound({ en: 'no such message', zh: '没有该消息' });
    res.json({
      message_id: m.message_id, kind: m.kind, status: m.status, received_at: toCstIso(m.received_at),
      ...(m.processed_at ? { processed_at: toCstIso(m.processed_at) } : {}), ...(m.errors ? { errors: m.errors } : {}), record_count: m.record_count,
    });
  });
  return r;
}
