/**
 * The one way cases are opened, updated and auto-resolved (spec §4): an evaluation hands over the
 * findings of its groups (e.g. everything implied by settlement X: group `setl:X`); planCaseChanges
 * decides, this applies. Every caller — matching, declarations, the benefit audit, plan findings —
 * goes through syncGroups, so every caller takes the locks in one order:
 *   1. the groups' open case rows, all at once, in id order (lockOpenCases);
 *   2. the writes (updates, auto-resolutions, new cases: one statement each);
 *   3. the audit chain's lock, once, with the events appended (appendAudit);
 * and an operator's acknowledge/resolve (changeStatus) takes its case row, then the chain. Whatever
 * the mix, nobody waits for a case row while holding the chain's lock: no deadlock between them.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../db/db';
import type { Finding } from '../matching';
import { appendAudit } from '../audit/audit-trail';
import { queueCriticalNotifications } from '../notifications/critical-hook';
import { autoResolveCases, insertCases, latestResolvedCases, lockOpenCases, updateCases } from './discrepancy-store';
import { keysNeedingHistory, planCaseChanges, type CaseGroup } from './plan-case-changes';

export type { CaseGroup } from './plan-case-changes';

export interface SyncResult { opened: string[]; updated: string[]; resolved: string[] }

const byGroupKey = (a: CaseGroup, b: CaseGroup) => (a.groupKey < b.groupKey ? -1 : a.groupKey > b.groupKey ? 1 : 0);

/**
 * Sync the groups in one go, inside the caller's transaction, at `at`. A group with no findings
 * resolves its open cases; a group absent from `groups` is left as it is.
 */
export async function syncGroups(q: Sql, groups: readonly CaseGroup[], at: Date, actor = 'system'): Promise<SyncResult> {
  const res: SyncResult = { opened: [], updated: [], resolved: [] };
  if (!groups.length) return res;
  const sorted = [...groups].sort(byGroupKey);
  const open = await lockOpenCases(q, sorted.map((g) => g.groupKey));
  // Nothing found and nothing open: no case to write, so no more round trips.
  if (!open.length && sorted.every((g) => !g.findings.length)) return res;
  const history = await latestResolvedCases(q, keysNeedingHistory(open, sorted));
  const plan = planCaseChanges(open, history, sorted, { at, actor, newId: uuidv7 });

  await updateCases(q, plan.updates, at);
  // Resolutions before the new cases: a case reopened in this sync may follow one resolved in it.
  await autoResolveCases(q, plan.resolves, at);
  const inserted = await insertCases(q, plan.opens, at);
  const skipped = new Set(plan.opens.filter((o) => !inserted.has(o.id)).map((o) => o.id));
  await appendAudit(q, skipped.size ? plan.events.filter((e) => !skipped.has(e.entity_id)) : plan.events);
  const opened = plan.opens.filter((o) => inserted.has(o.id));
  // Critical cases are notified at once (spec §6), queued in this transaction so none is lost.
  await queueCriticalNotifications(q, opened.filter((o) => o.finding.severity === 'critical').map((o) => o.id));

  res.opened = opened.map((o) => o.id);
  res.updated = plan.updates.map((u) => u.id);
  res.resolved = plan.resolves.map((r) => r.id);
  return res;
}

/** One group (tests, and callers with a single subject). */
export function syncGroup(q: Sql, groupKey: string, findings: readonly Finding<object>[], at: Date, actor = 'system'): Promise<SyncResult> {
  return syncGroups(q, [{ groupKey, findings }], at, actor);
}
