/**
 * GET /v1/settlements/{setl_id}/benefit: how the region's rules give a settlement's large-expense
 * amount (spec §7), as JSON with an explanation, or as plain text with `?format=text`. Visible to the
 * same clients as the settlement itself; anything else is 404, so ids outside a scope are not revealed.
 */
import { Router } from 'express';
import type { Client, ClientRegistry } from '../http/clients';
import { LOOP_READERS, inScope, requireBearer, requireRole } from '../http/auth';
import { badRequest, langOf, notFound } from '../http/problem';
import { loadSettlementRecord } from './audit-records';
import { explainSettlement } from './benefit-view';
import type { AuditDeps } from './audit';

const SETL_ID = /^[\x21-\x7E]{1,30}$/;

export function benefitsRouter(deps: AuditDeps & { clients: ClientRegistry }): Router {
  const r = Router();
  r.get(
    '/v1/settlements/:setl_id/benefit',
    requireBearer(deps.clients),
    requireRole(...LOOP_READERS),
    async (req, res) => {
      const setlId = String(req.params.setl_id);
      const format = req.query.format;
      if (format !== undefined && format !== 'json' && format !== 'text') {
        throw badRequest({ en: 'format must be json or text', zh: 'format 应为 json 或 text' }, [
          { path: '?format', code: 'enum', message: 'must be json or text' },
        ]);
      }
      const c = res.locals.client as Client;
      const rec = SETL_ID.test(setlId) ? await loadSettlementRecord(deps.db, setlId) : undefined;
      if (
        !rec ||
        !inScope(c, { insurer_code: rec.insurer_code, fixmedins_code: rec.fixmedins_code, admdvs: rec.insuplc_admdvs })
      ) {
        throw notFound({ en: 'no such settlement', zh: '没有该结算' });
      }
      const lang = langOf(req.headers['accept-language']);
      const out = (await explainSettlement(deps, setlId, lang))!;
      if (format === 'text') {
        res.type('text/plain; charset=utf-8').set('Content-Language', lang).send(`${out.explanation}\n`);
        return;
      }
      res.set('Content-Language', lang).json({ setl_id: setlId, ...out.view, explanation: out.explanation });
    },
  );
  return r;
}
