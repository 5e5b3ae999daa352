/**
 * The wire form of a run (spec §5) and who sees how much of it:
 * - ops: everything; agency: runs whose admdvs lies inside one of its prefixes (a run over a
 *   broader prefix covers other regions, so it is not theirs);
 * - insurer: a filtered view of runs that have a row for one of its insurer codes: its own insurer
 *   rows only, no institution rows (they add up every insurer's business) and no summary;
 * - institution: likewise its own institution rows only, no insurer rows and no summary.
 * Anything else is 404, as for discrepancies: a run outside the scope does not exist for the caller.
 */
import type { Sql } from '../db/db';
import type { Client } from '../http/clients';
import { inScope } from '../http/auth';
import { notFound } from '../http/problem';
import { toCstIso } from '../time';
import { getRun, runInstitutions, runInsurers, type InstitutionRow, type InsurerRow, type RunRow } from './run-store';

export interface RunReport {
  run: RunRow;
  institutions: InstitutionRow[];
  insurers: InsurerRow[];
  full: boolean;
}

export async function visibleRun(q: Sql, runId: string, c: Client): Promise<RunReport> {
  const run = await getRun(q, runId);
  const none = () => notFound({ en: 'no such reconciliation run', zh: '没有该对账任务' });
  if (!run) throw none();
  const [institutions, insurers] = await Promise.all([runInstitutions(q, run.run_id), runInsurers(q, run.run_id)]);
  if (c.role === 'ops' || (c.role === 'agency' && inScope(c, { admdvs: run.admdvs })))
    return { run, institutions, insurers, full: true };
  if (c.role === 'insurer') {
    const own = insurers.filter((i) => c.scope.includes(i.insurer_code));
    if (own.length) return { run, institutions: [], insurers: own, full: false };
  }
  if (c.role === 'institution') {
    const own = institutions.filter((i) => c.scope.includes(i.fixmedins_code));
    if (own.length) return { run, institutions: own, insurers: [], full: false };
  }
  throw none();
}

export function institutionView(r: InstitutionRow): Record<string, unknown> {
  return {
    fixmedins_code: r.fixmedins_code,
    declared_cnt: Number(r.declared_cnt),
    declared_hifob: r.declared_hifob,
    recorded_cnt: Number(r.recorded_cnt),
    recorded_hifob: r.recorded_hifob,
    recorded_direct_cnt: Number(r.recorded_direct_cnt),
    recorded_direct_hifob: r.recorded_direct_hifob,
    paid: r.paid,
    rejected: r.rejected,
    recovered: r.recovered,
    outstanding: r.outstanding,
    balanced: r.balanced,
    ageing: r.ageing ?? null,
  };
}

export function insurerView(r: InsurerRow): Record<string, unknown> {
  return {
    insurer_code: r.insurer_code,
    planned: r.planned,
    paid: r.paid,
    disbursed: r.disbursed,
    plan_revision: r.plan_revision,
    payments_count: Number(r.payments_count),
    ageing: r.ageing ?? null,
  };
}

/** A row of the run history (spec §10): the run without its report, which GET /v1/reconciliations/{run_id} gives. */
export function runListView(run: RunRow): Record<string, unknown> {
  return runHead(run);
}

function runHead(run: RunRow): Record<string, unknown> {
  return {
    run_id: run.run_id,
    status: run.status,
    admdvs: run.admdvs,
    period: run.period,
    as_of: toCstIso(run.as_of),
    // null while a run asked for without known_at is queued: it becomes the run's start
    known_at: run.known_at ? toCstIso(run.known_at) : null,
    report_only: run.report_only,
    trigger: run.trigger,
    created_at: toCstIso(run.created_at),
    ...(run.started_at ? { started_at: toCstIso(run.started_at) } : {}),
    ...(run.finished_at ? { finished_at: toCstIso(run.finished_at) } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

export function runView(rep: RunReport): Record<string, unknown> {
  const { run } = rep;
  return {
    ...runHead(run),
    summary: rep.full ? run.summary : null,
    institutions: rep.institutions.map(institutionView),
    insurers: rep.insurers.map(insurerView),
  };
}
