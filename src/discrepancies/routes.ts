/** GET /v1/discrepancies (spec §5 filters, cursor pagination, scope), one case with its history, and case handling. */
import { Router, type Request, type Response } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { inScope, readsCode, requireBearer, requireOperatorAuth, requireRole, scopeFilter } from '../http/auth';
import { badRequest, notFound, unprocessable } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { changeStatus } from './case-store';
import { discrepancyView, getDiscrepancy, listDiscrepancies, type DiscrepancyFilter } from './discrepancy-queries';
import { caseReadView, scopedDiscrepancyViews } from './evidence-scope';
import express from 'express';

const PARAMS: Record<keyof DiscrepancyFilter, RegExp> = {
  code: /^[A-Z_]{3,40}$/,
  status: /^(open|acknowledged|resolved)$/,
  severity: /^(low|medium|high|critical)$/,
  admdvs: /^\d{2,6}$/,
  insurer_code: /^[A-Z0-9_]{2,20}$/,
  fixmedins_code: /^[A-Za-z0-9_-]{1,30}$/,
  period: /^\d{4}-(0[1-9]|1[0-2])$/,
  setl_id: /^[\x21-\x7E]{1,30}$/,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseFilter(req: Request): { filter: DiscrepancyFilter; limit: number; cursor?: string } {
  const errors: FieldError[] = [];
  const filter: DiscrepancyFilter = {};
  for (const [k, re] of Object.entries(PARAMS) as [keyof DiscrepancyFilter, RegExp][]) {
    const v = req.query[k];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !re.test(v))
      errors.push({ path: `?${k}`, code: 'pattern', message: `must match ${re.source}` });
    else filter[k] = v;
  }
  const rawLimit = req.query.limit;
  const limit = rawLimit === undefined ? 100 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    errors.push({ path: '?limit', code: 'range', message: 'must be a whole number from 1 to 1000' });
  let cursor: string | undefined;
  if (typeof req.query.cursor === 'string' && req.query.cursor) {
    cursor = Buffer.from(req.query.cursor, 'base64url').toString();
    if (!UUID.test(cursor)) errors.push({ path: '?cursor', code: 'cursor', message: 'not a cursor this API returned' });
  }
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return { filter, limit, cursor };
}

export function discrepanciesRouter(deps: { db: Db; clients: ClientRegistry; now: () => number }): Router {
  const r = Router();
  const auth = requireBearer(deps.clients);
  const operator = requireOperatorAuth(deps);
  r.get('/v1/discrepancies', auth, async (req, res) => {
    const { filter, limit, cursor } = parseFilter(req);
    const client = res.locals.client as Client;
    const page = await listDiscrepancies(deps.db, filter, scopeFilter(client), limit, cursor);
    // Each party sees its own rows of the evidence and no psn_no (evidence-scope.ts).
    res.json({ items: await scopedDiscrepancyViews(deps.db, page.items, client), next_cursor: page.next_cursor });
  });
  const visible = async (id: string, c: Client) => {
    const d = UUID.test(id) ? await getDiscrepancy(deps.db, id) : undefined;
    if (
      !d ||
      !readsCode(c, d.code) ||
      !inScope(c, { insurer_code: d.insurer_code, fixmedins_code: d.fixmedins_code ?? undefined, admdvs: d.admdvs })
    ) {
      throw notFound({ en: 'no such discrepancy', zh: '没有该差异' });
    }
    return d;
  };
  r.get('/v1/discrepancies/:id', auth, async (req, res) => {
    const d = await visible(String(req.params.id), res.locals.client);
    res.json(await caseReadView(deps.db, d, res.locals.client as Client));
  });
  const changeTo = (action: 'acknowledge' | 'resolve') => async (req: Request, res: Response) => {
    const c = res.locals.client as Client;
    const d = await visible(String(req.params.id), c);
    const note = (req.body as { note?: unknown } | undefined)?.note;
    if (typeof note !== 'string' || !note.trim() || note.length > 2000)
      throw unprocessable([{ path: '/note', code: 'required', message: 'a note of 1–2000 characters is required' }]);
    const ok = await deps.db.tx((q) => changeStatus(q, d.id, action, note.trim(), c.client_id, new Date(deps.now())));
    const after = await getDiscrepancy(deps.db, d.id);
    res.status(ok ? 200 : 409).json(discrepancyView(after!));
  };
  r.post(
    '/v1/discrepancies/:id/acknowledge',
    operator,
    requireRole('ops', 'agency'),
    express.json({ limit: '64kb' }),
    changeTo('acknowledge'),
  );
  r.post(
    '/v1/discrepancies/:id/resolve',
    operator,
    requireRole('ops', 'agency'),
    express.json({ limit: '64kb' }),
    changeTo('resolve'),
  );
  return r;
}
