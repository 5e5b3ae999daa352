/** Reports across runs (spec §10): the violation report. Route literal here; the report in violation-report.ts. */
import { Router } from 'express';
import type { Db } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { LOOP_READERS, requireBearer, requireRole, scopeFilter } from '../http/auth';
import { parseViolationQuery, violationCsv, violationReport, violationXlsx } from './violation-report';

export interface ReportsRouterDeps {
  db: Db;
  clients: ClientRegistry;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function attachment(name: string): string {
  return `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function reportsRouter(deps: ReportsRouterDeps): Router {
  const r = Router();
  const auth = requireBearer(deps.clients);

  // Scoped as the discrepancy list: agency by region, insurer and institution their own, ops all.
  r.get('/v1/reports/violations', auth, requireRole(...LOOP_READERS), async (req, res) => {
    const query = parseViolationQuery(req.query);
    const rows = await violationReport(deps.db, query, scopeFilter(res.locals.client as Client));
    if (query.format === 'json') {
      res.json({ from: query.from, to: query.to, items: rows });
      return;
    }
    const name = `violations-${query.from}-${query.to}.${query.format}`;
    res.setHeader('Content-Disposition', attachment(name));
    if (query.format === 'xlsx') res.type(XLSX_TYPE).send(await violationXlsx(rows));
    else res.setHeader('Content-Type', 'text/csv; charset=utf-8').send(violationCsv(rows));
  });
  return r;
}
