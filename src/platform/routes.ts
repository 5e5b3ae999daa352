/**
 * POST /v1/platform (spec §9): the platform's envelope. Parsed and authorised like every signed write
 * (ingest/routes.ts), cheapest check first: media type (415) → signature headers (401) → body within
 * the limit (413) → signature over the raw bytes (401) → UTF-8 and JSON (400/422). Any role may call
 * it: which transaction a role may send is the envelope's business, answered 200 with infcode −1.
 * platform-service.ts decides and answers.
 */
import { Router, type Request, type Response } from 'express';
import type { Role } from '../http/clients';
import { beginSignedWrite, verifySignedWrite } from '../http/auth';
import { langOf, unsupportedMedia } from '../http/problem';
import { mediaType, parseJson, readBody } from '../http/request-body';
import { createPlatformService, type PlatformDeps } from './platform-service';

const ANY_ROLE: readonly Role[] = ['agency', 'institution', 'insurer', 'ops', 'tax', 'finance'];

export function platformRouter(deps: PlatformDeps): Router {
  const r = Router();
  const service = createPlatformService(deps);
  r.post('/v1/platform', async (req: Request, res: Response) => {
    const lang = langOf(req.headers['accept-language']);
    if (mediaType(req) !== 'application/json') throw unsupportedMedia(['application/json']);
    const signed = beginSignedWrite(req, deps.clients, ANY_ROLE, deps.now());
    const raw = await readBody(req, deps.maxBodyBytes, (b) => signed.verifier.update(b));
    await verifySignedWrite(signed, res);
    const { value, text } = parseJson(raw, lang);
    const answer = await service.handle({
      client: signed.client,
      webhookId: signed.webhookId,
      raw,
      value,
      text,
      requestId: res.locals.requestId,
    });
    if ('file' in answer) {
      // 9102 answers the file itself, as the platform does; a refusal is an envelope like any other.
      res
        .status(200)
        .type(answer.file.zipped ? 'application/zip' : 'text/plain; charset=utf-8')
        .set('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(answer.file.filename)}`)
        .send(answer.file.content);
      return;
    }
    res.status(200).json(answer);
  });
  return r;
}
