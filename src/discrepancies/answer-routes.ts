/**
 * The parties' answers on a case (spec §10): comment, dispute (with evidence), the decision on a
 * dispute, and a dispute's file. Signed or bearer, as every operator action (spec §2); the service
 * (case-answers.ts) decides, the store writes.
 */
import express, { Router, type Request, type Response } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { requireBearer, requireOperatorAuth, requireRole } from '../http/auth';
import { notFound, unprocessable } from '../http/problem';
import { DISPUTE_BODY_LIMIT, parseComment, parseDecision, parseDispute, type Parsed } from './case-answer-input';
import { caseAttachment, commentOnCase, decideDispute, disputeCase, type CaseAnswerDeps } from './case-answers';
import type { DiscrepancyRow } from './discrepancy-queries';
import { caseReadView } from './evidence-scope';

export interface CaseAnswersRouterDeps extends CaseAnswerDeps {
  clients: ClientRegistry;
  db: Db;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The case id of the path; anything that is not a uuid names no case (404, as a read). */
function caseId(req: Request): string {
  const id = String(req.params.id);
  if (!UUID.test(id)) throw notFound({ en: 'no such discrepancy', zh: '没有该差异' });
  return id;
}

function valid<T>(p: Parsed<T>): T {
  if (p.errors) throw unprocessable(p.errors);
  return p.value;
}

export function caseAnswersRouter(deps: CaseAnswersRouterDeps): Router {
  const r = Router();
  const operator = requireOperatorAuth(deps);
  const small = express.json({ limit: '64kb' });
  const answer = async (res: Response, d: DiscrepancyRow) =>
    res.json(await caseReadView(deps.db, d, res.locals.client as Client));

  r.post(
    '/v1/discrepancies/:id/comment',
    operator,
    requireRole('insurer', 'institution', 'agency', 'ops'),
    small,
    async (req, res) => {
      const id = caseId(req);
      await answer(res, await commentOnCase(deps, res.locals.client as Client, id, valid(parseComment(req.body))));
    },
  );

  r.post(
    '/v1/discrepancies/:id/dispute',
    requireOperatorAuth(deps, { bodyLimit: DISPUTE_BODY_LIMIT }),
    requireRole('insurer', 'institution'),
    express.json({ limit: DISPUTE_BODY_LIMIT }),
    async (req, res) => {
      const id = caseId(req);
      await answer(res, await disputeCase(deps, res.locals.client as Client, id, valid(parseDispute(req.body))));
    },
  );

  r.post('/v1/discrepancies/:id/dispute-decision', operator, requireRole('agency', 'ops'), small, async (req, res) => {
    const id = caseId(req);
    await answer(res, await decideDispute(deps, res.locals.client as Client, id, valid(parseDecision(req.body))));
  });

  r.get('/v1/discrepancies/:id/attachments/:attachment_id', requireBearer(deps.clients), async (req, res) => {
    const id = caseId(req);
    const attachmentId = String(req.params.attachment_id);
    if (!UUID.test(attachmentId)) throw notFound({ en: 'no such attachment', zh: '没有该附件' });
    const a = await caseAttachment(deps, res.locals.client as Client, id, attachmentId);
    // Always a download, never rendered in the gateway's origin (a party's file is not the gateway's page).
    res.setHeader('Content-Type', a.content_type);
    res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(a.filename)}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.setHeader('Digest', `sha-256=${Buffer.from(a.sha256, 'hex').toString('base64')}`);
    res.send(a.content);
  });
  return r;
}
