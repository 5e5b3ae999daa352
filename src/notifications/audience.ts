/**
 * Who reads a subscriber's deliveries, and what of a case they may see (issue 13, over-sharing).
 * A delivery shows its subscriber what a read by the subscriber's owner would show:
 * - an ops channel (created by ops, or listed in the subscribers file) sees cases whole, as ops read them;
 * - an insurer's own callback (`owner_client_id`, set only when an insurer registers it) is read as
 *   that insurer: only cases it may read, their evidence cut to its own rows and the person-year
 *   key pseudonymised, by the read path's rule (src/discrepancies/evidence-scope.ts), not a copy of it.
 * The owner's scope is the owner's scope now (the clients registry), narrowed to the insurer its
 * filter names; without the registry, the filter's insurer alone. An owner that is gone, or no
 * longer an insurer, may read nothing, so it is sent nothing.
 */
import type { Sql } from '../db/db';
import type { Client, ClientRegistry } from '../http/clients';
import { inScope, readsCode } from '../http/auth';
import { discrepancyView, type DiscrepancyRow } from '../discrepancies/discrepancy-queries';
import { maskedSubjectKey, scopedDiscrepancyViews } from '../discrepancies/evidence-scope';
import type { MaskOptions } from './mask';
import type { SubscriberRow } from './subscriber-store';

export type OwnerLookup = Pick<ClientRegistry, 'get'>;

/** The party that reads `sub`'s deliveries; undefined for an ops channel (sees cases whole). */
export function subscriberReader(
  sub: Pick<SubscriberRow, 'owner_client_id' | 'filter'>,
  clients?: OwnerLookup,
): Client | undefined {
  if (!sub.owner_client_id) return undefined;
  const asked = sub.filter?.insurer_code;
  let scope = asked ? [asked] : [];
  if (clients) {
    const owner = clients.get(sub.owner_client_id);
    scope = owner?.role !== 'insurer' ? [] : asked ? scope.filter((s) => owner.scope.includes(s)) : [...owner.scope];
  }
  return { client_id: sub.owner_client_id, role: 'insurer', scope, signing_secrets: [], token_sha256: [] };
}

/** Whether `reader` may read the case at all (the rule of GET /v1/discrepancies/{id}). */
export function mayRead(
  reader: Client | undefined,
  d: Pick<DiscrepancyRow, 'code' | 'insurer_code' | 'fixmedins_code' | 'admdvs'>,
): boolean {
  return (
    !reader ||
    (readsCode(reader, d.code) &&
      inScope(reader, {
        insurer_code: d.insurer_code,
        fixmedins_code: d.fixmedins_code ?? undefined,
        admdvs: d.admdvs,
      }))
  );
}

/**
 * The case as `reader` may see it, with how its subject keys are masked at render; undefined when
 * the reader may not read it. The subject key stays raw here and is masked once, at render (the
 * pseudonym of evidence-scope.ts for a party, region and year only for ops), wherever it appears.
 */
export async function caseFor(
  q: Sql,
  d: DiscrepancyRow,
  reader: Client | undefined,
): Promise<{ data: Record<string, unknown>; mask: MaskOptions } | undefined> {
  if (!reader) return { data: discrepancyView(d), mask: {} };
  if (!mayRead(reader, d)) return undefined;
  const [view] = await scopedDiscrepancyViews(q, [d], reader);
  return { data: { ...view!, subject_key: d.subject_key }, mask: { subjectKey: maskedSubjectKey } };
}

/** Who took a step on a case (spec §10): a party (insurer, institution) or the authority (agency, ops). */
export interface StepActor {
  client_id: string;
  role: string;
}

/**
 * Whether `sub` hears of a step on a case: the other side, never the actor's own. A party's step
 * (a comment, a dispute) goes to the ops channels (the agency's and ops' side) and to the other
 * parties' callbacks; the agency's or ops' step (a comment, a decision) goes to the parties'
 * callbacks, so the party that disputed is told why. Whether the subscriber's owner may read the
 * case at all is caseFor's rule, applied after.
 */
export function hearsStep(sub: Pick<SubscriberRow, 'owner_client_id'>, actor: StepActor): boolean {
  if (!sub.owner_client_id) return actor.role === 'insurer' || actor.role === 'institution';
  return sub.owner_client_id !== actor.client_id;
}
