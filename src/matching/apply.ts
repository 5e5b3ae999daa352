/**
 * The I/O shell around evaluateSettlement: re-derive the loop state and the open discrepancies of
 * settlements from the ledger of facts. Idempotent by construction (it recomputes from the facts, never
 * increments), so messages may arrive in any order, twice, or be processed by several workers at once.
 *
 * Concurrency: each chunk runs in one transaction that first takes a transaction-scoped advisory lock
 * per setl_id, in lock-key order (so two chunks never wait on each other in a cycle), and only then
 * reads the facts. Whoever evaluates last therefore sees every fact committed before it took the lock,
 * and an evaluation is never interleaved with another one of the same settlement.
 */
import type { Db, Sql } from '../db/db';
import type { RegionPolicies } from '../benefits';
import type { WorkCalendar } from '../deadlines/calendar';
import type { Logger } from '../logging/logger';
import { syncGroups } from '../discrepancies/case-store';
import { appendAudit, type AuditEvent } from '../audit/audit-trail';
import { loadSettlementInputs } from '../ledger/fact-loader';
import { loadLoopFigures, upsertLoops as writeLoops } from '../ledger/loop-store';
import { evaluateSettlement, type SettlementEvaluation, type SettlementInput } from './rules';
import { cmpStr, fallbackAdmdvs } from './finding';

export interface MatchingDeps {
  regions: Pick<RegionPolicies, 'loopParamsFor'>;
  calendar: WorkCalendar;
  log?: Logger;
}

export interface NextCheck { setl_id: string; at: Date }
export interface ReevaluateResult { evaluated: number; nextChecks: NextCheck[] }

/** Settlements per transaction: large enough for set-based loads, small enough to keep locks short. */
export const CHUNK = 200;
/**
 * On the embedded database a transaction holds its only connection, and a 200-settlement chunk took
 * 4–8 s there (issue 12: reads waited behind it): chunks of 25 keep each transaction well under a
 * second, so reads get in between.
 */
export const EMBEDDED_CHUNK = 25;
export const chunkFor = (db: Pick<Db, 'kind'>): number => (db.kind === 'pglite' ? EMBEDDED_CHUNK : CHUNK);

/** The evaluation group of a settlement id in the discrepancy ledger. */
export const settlementGroup = (setlId: string): string => `setl:${setlId}`;

/** Take the advisory locks of `names`, in lock-key order, inside the current transaction. */
export async function lockAll(q: Sql, names: readonly string[]): Promise<void> {
  if (!names.length) return;
  await q.query(
    `SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(n, 0) AS k FROM unnest($1::text[]) AS n ORDER BY 1) AS keys`,
    [names],
  );
}

export async function reevaluate(db: Db, setlIds: Iterable<string>, asOf: Date, deps: MatchingDeps): Promise<ReevaluateResult> {
  const ids = [...new Set(setlIds)].sort(cmpStr);
  const nextChecks: NextCheck[] = [];
  const size = chunkFor(db);
  for (let i = 0; i < ids.length; i += size) {
    const chunk = ids.slice(i, i + size);
    nextChecks.push(...(await db.tx((q) => reevaluateChunk(q, chunk, asOf, deps))));
  }
  return { evaluated: ids.length, nextChecks };
}

async function reevaluateChunk(q: Sql, ids: string[], asOf: Date, deps: MatchingDeps): Promise<NextCheck[]> {
  await lockAll(q, ids.map(settlementGroup));
  const inputs = await loadSettlementInputs(q, ids);
  const results = new Map<string, SettlementEvaluation>();
  for (const id of ids) results.set(id, evaluate(inputs.get(id)!, asOf, deps));

  const loopEvents = await upsertLoops(q, ids, inputs, results, asOf);

  // The case store takes the open cases' row locks, then the audit chain's lock (one order for every caller).
  await syncGroups(q, ids.map((id) => ({ groupKey: settlementGroup(id), findings: results.get(id)!.findings })), asOf);
  // Loop-state changes join the hash-chained audit trail (issue 7 §6), after the case row locks
  // above (the chain's lock is always taken last).
  await appendAudit(q, loopEvents);
  return ids.flatMap((id) => {
    const at = results.get(id)!.nextCheckAt;
    return at ? [{ setl_id: id, at }] : [];
  });
}

/** The region parameters of an id: its settlement's pooling region, or the institution a reference names. */
export function evaluate(input: SettlementInput, asOf: Date, deps: MatchingDeps): SettlementEvaluation {
  const admdvs = input.settlement?.insuplc_admdvs ?? referenceAdmdvs(input);
  return evaluateSettlement(input, { asOf, params: deps.regions.loopParamsFor(admdvs), calendar: deps.calendar });
}

function referenceAdmdvs(input: SettlementInput): string {
  const refs = [
    ...input.lines.map((l) => ({ insurer_code: l.insurer_code, ...(l.payee_type === 'institution' ? { fixmedins_code: l.payee_id } : {}) })),
    ...input.declaredItems.map((i) => ({ insurer_code: i.insurer_code, fixmedins_code: i.fixmedins_code })),
  ].sort((a, b) => cmpStr(a.fixmedins_code ?? '\uffff', b.fixmedins_code ?? '\uffff'));
  return fallbackAdmdvs({}, refs[0] ?? { insurer_code: '' });
}

/** The audited part of a loop row: a change in any of these is an audit event. */
const AUDITED = ['status', 'owed', 'paid', 'rejected', 'recovered', 'outstanding', 'due_date', 'closed_at'] as const;
type AuditedLoop = Record<(typeof AUDITED)[number], string | null>;

/** Upsert the loop rows; returns one audit event per row created or whose status or amounts changed. */
async function upsertLoops(q: Sql, ids: string[], inputs: Map<string, SettlementInput>, results: Map<string, SettlementEvaluation>, asOf: Date): Promise<AuditEvent[]> {
  const rows = ids.flatMap((id) => {
    const s = inputs.get(id)!.settlement;
    const r = results.get(id)!;
    return s && r.loop ? [{ s, loop: r.loop, next: r.nextCheckAt ?? null }] : [];
  });
  if (!rows.length) return [];
  // Read under the settlements' advisory locks: nobody else changes these rows until we commit.
  const before: (AuditedLoop & { setl_id: string })[] = await loadLoopFigures(q, rows.map((r) => r.s.setl_id));
  const prev = new Map(before.map((r) => [r.setl_id, r]));
  const events: AuditEvent[] = [];
  for (const r of rows) {
    const now: AuditedLoop = {
      status: r.loop.status, owed: r.loop.owed.toString(), paid: r.loop.paid.toString(), rejected: r.loop.rejected.toString(),
      recovered: r.loop.recovered.toString(), outstanding: r.loop.outstanding.toString(), due_date: r.loop.due_date, closed_at: r.loop.closed_at?.toISOString() ?? null,
    };
    const was = prev.get(r.s.setl_id);
    const changed = was ? AUDITED.filter((k) => was[k] !== now[k]) : [...AUDITED];
    if (!changed.length) continue;
    const data: Record<string, unknown> = { ...now };
    if (was) data.previous = Object.fromEntries(changed.map((k) => [k, was[k]]));
    events.push({ entity: 'loop', entity_id: r.s.setl_id, action: was ? 'changed' : 'created', actor: 'system', at: asOf, data });
  }
  await writeLoops(q, rows.map((r) => ({
    setl_id: r.s.setl_id, status: r.loop.status, owed: r.loop.owed.toString(), paid: r.loop.paid.toString(), rejected: r.loop.rejected.toString(),
    recovered: r.loop.recovered.toString(), outstanding: r.loop.outstanding.toString(), due_date: r.loop.due_date, due_at: r.loop.due_at,
    closed_at: r.loop.closed_at ?? null, admdvs: r.s.insuplc_admdvs, insurer_code: r.s.insurer_code, fixmedins_code: r.s.fixmedins_code, period: r.s.period,
    next_check_at: r.next,
  })), asOf);
  return events;
}
