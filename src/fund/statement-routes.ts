/**
 * Fund-year statements (spec §8): `POST /v1/fund-statements` (agency, ops; signed or bearer, like
 * reconciliations) → 202 {statement_id}; `GET /v1/fund-statements` (the latest completed statement of each
 * region-year, `?admdvs=&fund_year=`); `GET /v1/fund-statements/{id}`; `GET …/{id}/export?format=
 * xlsx|csv[&section=region|insurers|accounts][&audience=public]`. An agency sees the statements of
 * its region only (404 outside it); other roles get 403.
 */
import express, { Router, type Request } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { requireBearer, requireRegionInScope, requireOperatorAuth, requireRole } from '../http/auth';
import { badRequest, unprocessable, unsupportedMedia } from '../http/problem';
import type { FieldError } from '../schemas/field-error';
import { decimalPlaces } from '../money';
import { parseWireTime, toCstIso } from '../time';
import { KNOWN_AT_SKEW_MS } from '../reconciliation/routes';
import { createStatement, latestStatements } from './statement-store';
import {
  mayRequestStatements,
  statementHead,
  statementListView,
  statementView,
  visibleStatement,
} from './statement-view';
import { statementCsv, statementXlsx, type StatementSection } from './statement-export';

export interface FundStatementRouterDeps {
  db: Db;
  clients: ClientRegistry;
  now: () => number;
  onCommitted: () => void;
}

export interface StatementRequest {
  admdvs: string;
  fundYear: number;
  asOf: Date;
  knownAt?: Date;
  openingBalance?: string;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CSV_TYPE = 'text/csv; charset=utf-8';
const FIELDS = ['admdvs', 'fund_year', 'as_of', 'known_at', 'opening_balance'];
const TIME_MESSAGE = 'must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss (China Standard Time)';

/** GET /v1/fund-statements' filters: `admdvs` a 2–6 digit prefix, `fund_year` yyyy (400 naming `?name`). */
export function parseStatementListQuery(req: Request): { admdvs?: string; fundYear?: number } {
  const errors: FieldError[] = [];
  const out: { admdvs?: string; fundYear?: number } = {};
  const { admdvs, fund_year: year } = req.query;
  if (admdvs !== undefined && admdvs !== '') {
    if (typeof admdvs !== 'string' || !/^\d{2,6}$/.test(admdvs))
      errors.push({ path: '?admdvs', code: 'pattern', message: 'must be a 2–6 digit admdvs prefix' });
    else out.admdvs = admdvs;
  }
  if (year !== undefined && year !== '') {
    if (typeof year !== 'string' || !/^\d{4}$/.test(year))
      errors.push({ path: '?fund_year', code: 'pattern', message: 'must be a year (yyyy)' });
    else out.fundYear = Number(year);
  }
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return out;
}

/** The request body, field by field with JSON Pointer paths (422); known_at as a reconciliation's (not after now). */
export function parseStatementRequest(body: unknown, now: Date): StatementRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw unprocessable([
      {
        path: '',
        code: 'type',
        message: 'the body must be a JSON object {admdvs, fund_year, as_of?, known_at?, opening_balance?}',
      },
    ]);
  }
  const b = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const k of Object.keys(b))
    if (!FIELDS.includes(k)) errors.push({ path: `/${k}`, code: 'additionalProperties', message: 'unknown property' });
  if (b.admdvs === undefined)
    errors.push({ path: '/admdvs', code: 'required', message: 'admdvs (a 2–6 digit prefix) is required' });
  else if (typeof b.admdvs !== 'string' || !/^\d{2,6}$/.test(b.admdvs))
    errors.push({ path: '/admdvs', code: 'pattern', message: 'must be a 2–6 digit admdvs prefix' });
  let fundYear = 0;
  if (b.fund_year === undefined)
    errors.push({ path: '/fund_year', code: 'required', message: 'fund_year (yyyy) is required' });
  else if (
    (typeof b.fund_year === 'string' && /^\d{4}$/.test(b.fund_year)) ||
    (typeof b.fund_year === 'number' && Number.isInteger(b.fund_year) && b.fund_year >= 1000 && b.fund_year <= 9999)
  )
    fundYear = Number(b.fund_year);
  else errors.push({ path: '/fund_year', code: 'pattern', message: 'must be a year yyyy' });
  let asOf = now;
  if (b.as_of !== undefined) {
    const t = typeof b.as_of === 'string' ? parseWireTime(b.as_of) : undefined;
    if (!t) errors.push({ path: '/as_of', code: 'format', message: TIME_MESSAGE });
    else asOf = t;
  }
  let knownAt: Date | undefined;
  if (b.known_at !== undefined) {
    const t = typeof b.known_at === 'string' ? parseWireTime(b.known_at) : undefined;
    if (!t) errors.push({ path: '/known_at', code: 'format', message: TIME_MESSAGE });
    else if (t.getTime() > now.getTime() + KNOWN_AT_SKEW_MS)
      errors.push({
        path: '/known_at',
        code: 'maximum',
        message: `must not be after now (${toCstIso(now)}): facts not yet received cannot be known`,
      });
    else if (t.getTime() < now.getTime()) knownAt = t;
  }
  let openingBalance: string | undefined;
  if (b.opening_balance !== undefined) {
    const v = b.opening_balance;
    const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
    // May be negative: a deficit carried over (spec §8 roll-over balance).
    if (!/^-?\d{1,14}(\.\d{1,2})?$/.test(text) || decimalPlaces(text) > 2)
      errors.push({
        path: '/opening_balance',
        code: 'format',
        message: 'must be an amount in yuan with at most 2 decimals (may be negative)',
      });
    else openingBalance = text;
  }
  if (errors.length) throw unprocessable(errors);
  return {
    admdvs: b.admdvs as string,
    fundYear,
    asOf,
    ...(knownAt ? { knownAt } : {}),
    ...(openingBalance !== undefined ? { openingBalance } : {}),
  };
}

function attachment(name: string): string {
  return `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function exportQuery(req: Request): { format: 'xlsx' | 'csv'; section: StatementSection; publicOnly: boolean } {
  const format = req.query.format ?? 'xlsx';
  if (format !== 'xlsx' && format !== 'csv')
    throw badRequest({ en: 'format must be xlsx or csv', zh: 'format 应为 xlsx 或 csv' }, [
      { path: '?format', code: 'enum', message: 'must be xlsx or csv' },
    ]);
  const section = req.query.section ?? 'region';
  if (section !== 'region' && section !== 'insurers' && section !== 'accounts')
    throw badRequest(
      { en: 'section must be region, insurers or accounts', zh: 'section 应为 region、insurers 或 accounts' },
      [{ path: '?section', code: 'enum', message: 'must be region, insurers or accounts' }],
    );
  const audience = req.query.audience ?? 'agency';
  if (audience !== 'agency' && audience !== 'public')
    throw badRequest({ en: 'audience must be agency or public', zh: 'audience 应为 agency 或 public' }, [
      { path: '?audience', code: 'enum', message: 'must be agency or public' },
    ]);
  return { format, section, publicOnly: audience === 'public' };
}

export function fundStatementRouter(deps: FundStatementRouterDeps): Router {
  const r = Router();
  const auth = requireBearer(deps.clients);
  const operator = requireOperatorAuth(deps);

  r.post(
    '/v1/fund-statements',
    operator,
    requireRole('agency', 'ops'),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      if (!req.is('application/json')) throw unsupportedMedia(['application/json']);
      const c = res.locals.client as Client;
      const now = new Date(deps.now());
      const body = parseStatementRequest(req.body, now);
      requireRegionInScope(c, body.admdvs);
      const st = await createStatement(deps.db, {
        admdvs: body.admdvs,
        fundYear: body.fundYear,
        asOf: body.asOf,
        ...(body.knownAt ? { knownAt: body.knownAt } : {}),
        ...(body.openingBalance !== undefined ? { openingBalance: body.openingBalance } : {}),
        trigger: 'api',
        requestedBy: c.client_id,
        at: now,
      });
      deps.onCommitted();
      res.status(202).location(`/v1/fund-statements/${st.statement_id}`).json(statementHead(st));
    },
  );

  // The latest completed statement of each region-year the caller may read (an agency: its regions).
  r.get('/v1/fund-statements', auth, async (req, res) => {
    const c = res.locals.client as Client;
    mayRequestStatements(c);
    const filter = parseStatementListQuery(req);
    const rows = await latestStatements(deps.db, c.role === 'agency' ? c.scope : undefined, filter);
    res.json({ items: rows.map(statementListView) });
  });

  r.get('/v1/fund-statements/:id', auth, async (req, res) => {
    res.json(statementView(await visibleStatement(deps.db, String(req.params.id), res.locals.client as Client)));
  });

  r.get('/v1/fund-statements/:id/export', auth, async (req, res) => {
    const q = exportQuery(req);
    const st = await visibleStatement(deps.db, String(req.params.id), res.locals.client as Client);
    const base = `fund-statement-${st.admdvs}-${st.fund_year}${q.publicOnly ? '-public' : ''}`;
    if (q.format === 'xlsx') {
      res.setHeader('Content-Disposition', attachment(`${base}.xlsx`));
      res.type(XLSX_TYPE).send(await statementXlsx(st, q.publicOnly));
    } else {
      res.setHeader('Content-Disposition', attachment(`${base}${q.publicOnly ? '' : `-${q.section}`}.csv`));
      res.setHeader('Content-Type', CSV_TYPE);
      res.send(statementCsv(st, q.section, q.publicOnly));
    }
  });
  return r;
}
