/**
 * Reconciliation runs (spec §5) and the spreadsheet exports. Registered before the discrepancies
 * router: `/v1/discrepancies/export` would otherwise be taken for a discrepancy id.
 */
import express, { Router, type Request } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import {
  LOOP_READERS,
  requireBearer,
  requireRegionInScope,
  requireOperatorAuth,
  requireRole,
  scopeFilter,
} from '../http/auth';
import { badRequest, unprocessable, unsupportedMedia } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { parseFilter } from '../discrepancies/routes';
import { isPeriod, parseWireTime, toCstIso } from '../time';
import { createRun, listRuns } from './run-store';
import { runListView, runView, visibleRun } from './run-view';
import { parseRunListQuery } from './run-history-query';
import { runCsv, runXlsx, type Section } from './report-export';
import { streamDiscrepanciesCsv, streamDiscrepanciesXlsx } from './discrepancy-export';

export interface ReconciliationRouterDeps {
  db: Db;
  clients: ClientRegistry;
  now: () => number;
  onCommitted: () => void;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CSV_TYPE = 'text/csv; charset=utf-8';

/**
 * How far a known_at may lie after the request (a client's clock running ahead): read as "everything
 * received when the run starts", the default. The signatures' timestamp window.
 */
export const KNOWN_AT_SKEW_MS = 300_000;

export interface RunRequest {
  admdvs: string;
  period: string;
  asOf: Date;
  knownAt?: Date;
}

/**
 * The request body, checked field by field with JSON Pointer paths (422). known_at (spec §5, the
 * knowledge cut-off) must not lie after the request: what the gateway has not received yet cannot be
 * known, and a run is computed when it starts. Up to KNOWN_AT_SKEW_MS after it reads as the default.
 */
export function parseRunRequest(body: unknown, now: Date): RunRequest {
  const errors: FieldError[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw unprocessable([
      { path: '', code: 'type', message: 'the body must be a JSON object {admdvs, period, as_of?, known_at?}' },
    ]);
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['admdvs', 'period', 'as_of', 'known_at'].includes(k))
      errors.push({ path: `/${k}`, code: 'additionalProperties', message: 'unknown property' });
  if (b.admdvs === undefined)
    errors.push({ path: '/admdvs', code: 'required', message: 'admdvs (a 2–6 digit prefix) is required' });
  else if (typeof b.admdvs !== 'string' || !/^\d{2,6}$/.test(b.admdvs))
    errors.push({ path: '/admdvs', code: 'pattern', message: 'must be a 2–6 digit admdvs prefix' });
  if (b.period === undefined)
    errors.push({ path: '/period', code: 'required', message: 'period (yyyy-MM) is required' });
  else if (typeof b.period !== 'string' || !isPeriod(b.period))
    errors.push({ path: '/period', code: 'pattern', message: 'must be a period yyyy-MM' });
  let asOf = now;
  if (b.as_of !== undefined) {
    const t = typeof b.as_of === 'string' ? parseWireTime(b.as_of) : undefined;
    if (!t)
      errors.push({
        path: '/as_of',
        code: 'format',
        message: 'must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss (China Standard Time)',
      });
    else asOf = t;
  }
  let knownAt: Date | undefined;
  if (b.known_at !== undefined) {
    const t = typeof b.known_at === 'string' ? parseWireTime(b.known_at) : undefined;
    if (!t)
      errors.push({
        path: '/known_at',
        code: 'format',
        message: 'must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss (China Standard Time)',
      });
    else if (t.getTime() > now.getTime() + KNOWN_AT_SKEW_MS)
      errors.push({
        path: '/known_at',
        code: 'maximum',
        message: `must not be after now (${toCstIso(now)}): facts not yet received cannot be known; leave known_at out to count everything received when the run starts`,
      });
    else if (t.getTime() < now.getTime()) knownAt = t;
  }
  if (errors.length) throw unprocessable(errors);
  return { admdvs: b.admdvs as string, period: b.period as string, asOf, ...(knownAt ? { knownAt } : {}) };
}

function formatOf(req: Request): 'xlsx' | 'csv' {
  const f = req.query.format ?? 'xlsx';
  if (f !== 'xlsx' && f !== 'csv')
    throw badRequest({ en: 'format must be xlsx or csv', zh: 'format 应为 xlsx 或 csv' }, [
      { path: '?format', code: 'enum', message: 'must be xlsx or csv' },
    ]);
  return f;
}

function attachment(name: string): string {
  return `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function reconciliationRouter(deps: ReconciliationRouterDeps): Router {
  const r = Router();
  const auth = requireBearer(deps.clients);
  const operator = requireOperatorAuth(deps);

  r.post(
    '/v1/reconciliations',
    operator,
    requireRole('agency', 'ops'),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      if (!req.is('application/json')) throw unsupportedMedia(['application/json']);
      const c = res.locals.client as Client;
      const now = new Date(deps.now());
      const body = parseRunRequest(req.body, now);
      requireRegionInScope(c, body.admdvs);
      const { run, created } = await createRun(deps.db, {
        admdvs: body.admdvs,
        period: body.period,
        asOf: body.asOf,
        ...(body.knownAt ? { knownAt: body.knownAt } : {}),
        trigger: 'api',
        requestedBy: c.client_id,
        at: now,
      });
      if (created) deps.onCommitted();
      res
        .status(202)
        .location(`/v1/reconciliations/${run.run_id}`)
        .json({
          run_id: run.run_id,
          status: run.status,
          admdvs: run.admdvs,
          period: run.period,
          as_of: toCstIso(run.as_of),
          known_at: run.known_at ? toCstIso(run.known_at) : null,
          ...(created ? {} : { existing: true }),
        });
    },
  );

  // Run history (spec §10): scoped as one run is (run-view.ts), so a caller lists exactly the runs it could open.
  r.get('/v1/reconciliations', auth, requireRole(...LOOP_READERS), async (req, res) => {
    const { filter, limit, cursor } = parseRunListQuery(req.query);
    const page = await listRuns(deps.db, filter, scopeFilter(res.locals.client as Client), limit, cursor);
    res.json({ items: page.items.map(runListView), next_cursor: page.next_cursor });
  });

  r.get('/v1/reconciliations/:id', auth, requireRole(...LOOP_READERS), async (req, res) => {
    res.json(runView(await visibleRun(deps.db, String(req.params.id), res.locals.client)));
  });

  r.get('/v1/reconciliations/:id/export', auth, requireRole(...LOOP_READERS), async (req, res) => {
    const format = formatOf(req);
    const section = (req.query.section ?? 'institutions') as Section;
    if (!['summary', 'institutions', 'insurers'].includes(section))
      throw badRequest(
        {
          en: 'section must be summary, institutions or insurers',
          zh: 'section 应为 summary、institutions 或 insurers',
        },
        [{ path: '?section', code: 'enum', message: 'must be summary, institutions or insurers' }],
      );
    const rep = await visibleRun(deps.db, String(req.params.id), res.locals.client);
    const base = `reconciliation-${rep.run.admdvs}-${rep.run.period}-${rep.run.run_id.slice(-12)}`;
    if (format === 'xlsx') {
      res.setHeader('Content-Disposition', attachment(`${base}.xlsx`));
      res.type(XLSX_TYPE).send(await runXlsx(rep));
    } else {
      res.setHeader('Content-Disposition', attachment(`${base}-${section}.csv`));
      res.setHeader('Content-Type', CSV_TYPE);
      res.send(runCsv(rep, section));
    }
  });

  r.get('/v1/discrepancies/export', auth, async (req, res) => {
    const format = formatOf(req);
    const { filter } = parseFilter(req);
    const scope = scopeFilter(res.locals.client as Client);
    const stamp = toCstIso(new Date(deps.now())).slice(0, 10);
    res.setHeader('Content-Disposition', attachment(`discrepancies-${stamp}.${format}`));
    res.setHeader('Content-Type', format === 'xlsx' ? XLSX_TYPE : CSV_TYPE);
    try {
      if (format === 'xlsx') await streamDiscrepanciesXlsx(deps.db, filter, scope, res);
      else await streamDiscrepanciesCsv(deps.db, filter, scope, res);
    } catch (e) {
      // Once rows are on the wire no problem document can follow: cut the response so the client
      // sees a broken download rather than a short file that looks complete.
      if (res.headersSent) {
        res.destroy(e as Error);
        return;
      }
      throw e;
    }
  });
  return r;
}
