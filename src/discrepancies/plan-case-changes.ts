/**
 * The case lifecycle (spec §4) as a pure decision: given the open cases of the groups being synced,
 * the latest resolved case of each (code, subject_key) the findings name, and each group's findings
 * now, what to open, update, auto-resolve or leave alone. No database, no clock, no random ids: the
 * applier (case-store.ts) loads the inputs under the case row locks, passes `at`, the actor and an
 * id source, and writes the plan.
 *
 * The rules, per group, in the order the groups are given:
 * - a finding whose (code, subject_key) is open in its group: unchanged evidence (same fingerprint)
 *   → nothing; changed → updated (occurrences + 1);
 * - a finding whose (code, subject_key) is open in another group → nothing (one open case per
 *   (code, subject_key): the other group owns it);
 * - a finding with no open case: opened; named `reopened` with `reopens` = the previous case's id
 *   when a resolved case of the same (code, subject_key) exists — except when that case was
 *   resolved by hand (resolution `manual`) and its cause is unchanged (same fingerprint): then it
 *   stays resolved and nothing is opened;
 * - an open (or acknowledged) case of the group that no finding names any more → auto-resolved;
 *   it becomes the latest resolved case of its key for the groups after it.
 * Only the first finding of a (code, subject_key) within a group counts.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import type { AuditEvent } from '../audit/audit-trail';
import type { Finding } from '../matching';

/** One evaluation's findings: everything implied by one subject (e.g. `setl:<setl_id>`). */
export interface CaseGroup {
  groupKey: string;
  findings: readonly Finding<object>[];
}

/** An open or acknowledged case of one of the groups (the applier holds its row lock). */
export interface OpenCase {
  id: string;
  code: string;
  subject_key: string;
  group_key: string;
  fingerprint: string;
  detected_at: Date;
  /** Its region: the shard of its audit events (audit/audit-trail.ts). */
  admdvs: string;
}

/** The latest resolved case of a (code, subject_key): latest `detected_at`, then greatest id. */
export interface ResolvedCase {
  id: string;
  code: string;
  subject_key: string;
  resolution: 'auto' | 'manual' | null;
  fingerprint: string;
  detected_at: Date;
}

export interface CaseToOpen {
  id: string;
  group_key: string;
  finding: Finding<object>;
  fingerprint: string;
  /** The resolved case this one follows, when the cause returns. */
  reopens: string | null;
}

export interface CaseToUpdate {
  id: string;
  finding: Finding<object>;
  fingerprint: string;
}

export interface CaseToResolve {
  id: string;
  code: string;
  subject_key: string;
}

export interface CasePlan {
  opens: CaseToOpen[];
  updates: CaseToUpdate[];
  resolves: CaseToResolve[];
  /** The audit events of the plan, in order: per group its opens and updates (in finding order), then its resolves. */
  events: AuditEvent[];
}

export interface PlanContext {
  at: Date;
  actor: string;
  /** A new case id (uuidv7 in the applier: time-ordered, so newer cases list first). */
  newId: () => string;
}

type Amount = string | undefined | null;
const amt = (a: Amount): string | null => (a === undefined || a === null ? null : String(a));

/** What a case's cause is: its amounts, evidence and severity. A case whose fingerprint changes is updated. */
export function fingerprint(f: Finding<object>): string {
  const body =
    canonicalize({
      e: amt(f.expected_amount),
      a: amt(f.actual_amount),
      d: amt(f.difference),
      ev: f.evidence,
      s: f.severity,
    }) ?? '';
  return crypto.createHash('sha256').update(body).digest('hex').slice(0, 32);
}

/** The (code, subject_key) a case or finding is one of (one open case per key). */
export const caseKey = (c: { code: string; subject_key: string }): string => `${c.code}\u0000${c.subject_key}`;

/**
 * The (code, subject_key) pairs whose latest resolved case the plan may need: every key a group
 * names, except those open in that same group (they stay open, so their history is never read).
 */
export function keysNeedingHistory(
  open: readonly OpenCase[],
  groups: readonly CaseGroup[],
): { code: string; subject_key: string }[] {
  const openIn = new Map(open.map((c) => [caseKey(c), c.group_key]));
  const out = new Map<string, { code: string; subject_key: string }>();
  for (const g of groups) {
    for (const f of g.findings) {
      const k = caseKey(f);
      if (openIn.get(k) !== g.groupKey && !out.has(k)) out.set(k, { code: f.code, subject_key: f.subject_key });
    }
  }
  return [...out.values()];
}

const later = (a: ResolvedCase, b: ResolvedCase): boolean =>
  a.detected_at.getTime() !== b.detected_at.getTime() ? a.detected_at > b.detected_at : a.id > b.id;

export function planCaseChanges(
  open: readonly OpenCase[],
  lastResolved: readonly ResolvedCase[],
  groups: readonly CaseGroup[],
  ctx: PlanContext,
): CasePlan {
  const plan: CasePlan = { opens: [], updates: [], resolves: [], events: [] };
  const { at, actor } = ctx;
  const openByKey = new Map<string, OpenCase>(open.map((c) => [caseKey(c), c]));
  const openByGroup = new Map<string, OpenCase[]>();
  for (const c of open) openByGroup.set(c.group_key, [...(openByGroup.get(c.group_key) ?? []), c]);
  const resolvedByKey = new Map<string, ResolvedCase>();
  for (const r of lastResolved) {
    const k = caseKey(r);
    const cur = resolvedByKey.get(k);
    if (!cur || later(r, cur)) resolvedByKey.set(k, r);
  }

  for (const g of groups) {
    const wanted = new Set<string>();
    for (const f of g.findings) {
      const k = caseKey(f);
      if (wanted.has(k)) continue;
      wanted.add(k);
      const fp = fingerprint(f);
      const existing = openByKey.get(k);
      if (existing && existing.group_key === g.groupKey) {
        if (existing.fingerprint === fp) continue;
        plan.updates.push({ id: existing.id, finding: f, fingerprint: fp });
        plan.events.push({
          entity: 'discrepancy',
          entity_id: existing.id,
          admdvs: existing.admdvs,
          action: 'updated',
          actor,
          at,
          data: { code: f.code, subject_key: f.subject_key, fingerprint: fp },
        });
        continue;
      }
      if (existing) continue;
      const prev = resolvedByKey.get(k);
      // A case an operator closed by hand stays closed while the facts behind it are unchanged.
      if (prev && prev.resolution === 'manual' && prev.fingerprint === fp) continue;
      const id = ctx.newId();
      plan.opens.push({ id, group_key: g.groupKey, finding: f, fingerprint: fp, reopens: prev?.id ?? null });
      openByKey.set(k, {
        id,
        code: f.code,
        subject_key: f.subject_key,
        group_key: g.groupKey,
        fingerprint: fp,
        detected_at: at,
        admdvs: f.admdvs,
      });
      plan.events.push({
        entity: 'discrepancy',
        entity_id: id,
        admdvs: f.admdvs,
        action: prev ? 'reopened' : 'opened',
        actor,
        at,
        data: { code: f.code, subject_key: f.subject_key, fingerprint: fp, ...(prev ? { reopens: prev.id } : {}) },
      });
    }
    for (const c of openByGroup.get(g.groupKey) ?? []) {
      const k = caseKey(c);
      if (wanted.has(k) || openByKey.get(k) !== c) continue;
      openByKey.delete(k);
      plan.resolves.push({ id: c.id, code: c.code, subject_key: c.subject_key });
      plan.events.push({
        entity: 'discrepancy',
        entity_id: c.id,
        admdvs: c.admdvs,
        action: 'auto_resolved',
        actor,
        at,
        data: { code: c.code, subject_key: c.subject_key },
      });
      const gone: ResolvedCase = {
        id: c.id,
        code: c.code,
        subject_key: c.subject_key,
        resolution: 'auto',
        fingerprint: c.fingerprint,
        detected_at: c.detected_at,
      };
      const cur = resolvedByKey.get(k);
      if (!cur || later(gone, cur)) resolvedByKey.set(k, gone);
    }
  }
  return plan;
}
