/**
 * A step on a case told to the other side (spec §10 with §6): the case answers queue a `case_step`
 * job in the step's transaction (case-step-hook.ts); this makes one delivery per subscriber that
 * hears it (audience.ts hearsStep: the other side), whose filter the case passes and whose owner may
 * read the case — each body the case as that owner reads it, with the step.
 */
import type { Db } from '../db/db';
import { getDiscrepancy } from '../discrepancies/discrepancy-queries';
import { auditHistory } from '../audit/audit-trail';
import { toCstIso } from '../time';
import { caseFor, hearsStep, subscriberReader, type OwnerLookup } from './audience';
import type { CaseStepJob } from './case-step-hook';
import { createDelivery } from './delivery-store';
import type { CaseStepType } from './formats';
import { enabledSubscribers, matchesFilter } from './subscriber-store';

export interface CaseStepDeps {
  db: Db;
  now: () => number;
  relay: { kick(): void };
  clients?: OwnerLookup;
}

/** The event type of each step's audit action (src/discrepancies/case-answers.ts). */
export const STEP_EVENT: Record<string, CaseStepType> = {
  commented: 'discrepancy.commented',
  disputed: 'discrepancy.disputed',
  dispute_rejected: 'discrepancy.dispute_rejected',
  dispute_upheld: 'discrepancy.dispute_upheld',
};

/** Returns how many deliveries were made (none again when the job runs twice: one per subscriber and step). */
export async function fanOutCaseStep(deps: CaseStepDeps, job: CaseStepJob): Promise<number> {
  const at = new Date(deps.now());
  const n = await deps.db.tx(async (q) => {
    const d = await getDiscrepancy(q, job.discrepancy_id);
    if (!d) return 0;
    const entry = (await auditHistory(q, 'discrepancy', d.id)).find(
      (h) => (h.data as { step_id?: unknown } | null)?.step_id === job.step_id,
    );
    const type = entry ? STEP_EVENT[entry.action] : undefined;
    if (!entry || !type) return 0;
    const data = entry.data as Record<string, unknown>;
    const actor = { client_id: entry.actor, role: String(data.role ?? '') };
    const step = {
      action: entry.action,
      by: entry.actor,
      by_role: actor.role,
      at: toCstIso(entry.at),
      ...without(data, ['step_id', 'role']),
      step_id: job.step_id,
    };
    let created = 0;
    for (const sub of await enabledSubscribers(q)) {
      if (!matchesFilter(sub.filter, d) || !hearsStep(sub, actor)) continue;
      const seen = await caseFor(q, d, subscriberReader(sub, deps.clients));
      if (!seen) continue;
      if (
        await createDelivery(q, sub, `step:${job.step_id}`, { type, at, data: { ...seen.data, step } }, at, seen.mask)
      )
        created++;
    }
    return created;
  });
  if (n) deps.relay.kick();
  return n;
}

function without(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}
