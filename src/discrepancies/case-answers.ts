/**
 * The parties around a case (spec §10): a comment by anyone the case concerns, a dispute by its
 * insurer or institution (with a reason code and evidence), and the agency's or ops' decision on it.
 *
 * Each step is one transaction, in the lock order of every writer of cases (case-store.ts): the
 * case row first (lockCase), then its change and the dispute's files, then the audit chain
 * (appendAudit: the step is in the case's history), then the step's notification job through the
 * outbox (the other side is told, §6). A party acts only on cases it may read: another's is 404,
 * as a read of it is.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Db, Sql } from '../db/db';
import type { Client } from '../http/clients';
import { inScope, readsCode } from '../http/auth';
import { notFound, ProblemError } from '../http/problem';
import { appendAudit } from '../audit/audit-trail';
import { queueCaseStepNotification } from '../notifications/case-step-hook';
import { toCstIso } from '../time';
import {
  DISPUTE_REASON_ZH,
  type AttachmentMeta,
  type CaseDispute,
  type CommentInput,
  type DecisionInput,
  type DisputeInput,
} from './case-answer-input';
import {
  insertAttachments,
  lockCase,
  resolveByDispute,
  setDispute,
  getAttachment,
  type AttachmentRow,
} from './case-answer-store';
import { getDiscrepancy, type DiscrepancyRow } from './discrepancy-queries';

/** What the case answers use: the database, the clock, and a kick for the outbox relay once committed. */
export interface CaseAnswerDeps {
  db: Db;
  now: () => number;
  onCommitted?: () => void;
}

export type Actor = Pick<Client, 'client_id' | 'role' | 'scope'>;

const conflict409 = (en: string, zh: string) =>
  new ProblemError(409, 'CONFLICT', { en: 'Conflict', zh: '冲突' }, { en, zh });
const noCase = () => notFound({ en: 'no such discrepancy', zh: '没有该差异' });

/** Whether `actor` may read (and so answer on) the case: the rule of GET /v1/discrepancies/{id}. */
export function concerns(
  actor: Actor,
  d: Pick<DiscrepancyRow, 'code' | 'insurer_code' | 'fixmedins_code' | 'admdvs'>,
): boolean {
  return (
    readsCode(actor as Client, d.code) &&
    inScope(actor as Client, {
      insurer_code: d.insurer_code,
      fixmedins_code: d.fixmedins_code ?? undefined,
      admdvs: d.admdvs,
    })
  );
}

type Step = (ctx: {
  q: Sql;
  d: DiscrepancyRow;
  at: Date;
  stepId: string;
}) => Promise<{ action: string; data: Record<string, unknown> }>;

/** One step: lock the case, check it is the actor's, apply, audit, queue the notification; answers the case after. */
async function step(deps: CaseAnswerDeps, actor: Actor, id: string, apply: Step): Promise<DiscrepancyRow> {
  const at = new Date(deps.now());
  const stepId = uuidv7();
  await deps.db.tx(async (q) => {
    const d = await lockCase(q, id);
    if (!d || !concerns(actor, d)) throw noCase();
    const { action, data } = await apply({ q, d, at, stepId });
    await appendAudit(q, [
      {
        entity: 'discrepancy',
        entity_id: d.id,
        admdvs: d.admdvs,
        action,
        actor: actor.client_id,
        at,
        data: { step_id: stepId, role: actor.role, ...data },
      },
    ]);
    await queueCaseStepNotification(q, d.id, stepId);
  });
  deps.onCommitted?.();
  return (await getDiscrepancy(deps.db, id))!;
}

/** A comment by anyone the case concerns (any status: a note on a closed case is still a note). */
export function commentOnCase(
  deps: CaseAnswerDeps,
  actor: Actor,
  id: string,
  input: CommentInput,
): Promise<DiscrepancyRow> {
  return step(deps, actor, id, async () => ({ action: 'commented', data: { note: input.note } }));
}

/**
 * A dispute by the case's insurer or institution: the case stays open (or acknowledged) and shows
 * the dispute; one dispute at a time (409 while one is open), none on a resolved case (409).
 */
export function disputeCase(
  deps: CaseAnswerDeps,
  actor: Actor,
  id: string,
  input: DisputeInput,
): Promise<DiscrepancyRow> {
  return step(deps, actor, id, async ({ q, d, at, stepId }) => {
    if (d.status === 'resolved')
      throw conflict409('the case is resolved; there is nothing to dispute', '该差异已办结，无需提出异议');
    if (d.dispute?.status === 'open')
      throw conflict409(
        'a dispute of this case is open; wait for its decision or add a comment',
        '该差异已有待处理的异议，请等待处理结果或留言补充',
      );
    const files: AttachmentRow[] = input.attachments.map((a) => ({
      id: uuidv7(),
      discrepancy_id: d.id,
      step_id: stepId,
      filename: a.filename,
      content_type: a.content_type,
      bytes: a.content.length,
      sha256: a.sha256,
      content: a.content,
      uploaded_by: actor.client_id,
      uploaded_at: at,
    }));
    await insertAttachments(q, files);
    const attachments: AttachmentMeta[] = files.map((f) => ({
      id: f.id,
      filename: f.filename,
      content_type: f.content_type,
      bytes: f.bytes,
      sha256: f.sha256,
    }));
    const dispute: CaseDispute = {
      status: 'open',
      reason_code: input.reason_code,
      ...(input.note ? { note: input.note } : {}),
      by: actor.client_id,
      at: toCstIso(at),
      ...(attachments.length ? { attachments } : {}),
    };
    await setDispute(q, d.id, dispute, at);
    // The chain covers the files: each one's sha256 is in the event's hash.
    return {
      action: 'disputed',
      data: {
        reason_code: input.reason_code,
        reason: DISPUTE_REASON_ZH[input.reason_code],
        ...(input.note ? { note: input.note } : {}),
        ...(attachments.length ? { attachments } : {}),
      },
    };
  });
}

/**
 * The agency's or ops' decision on the open dispute: upheld resolves the case by hand with the note
 * (it stays resolved while its cause is unchanged); rejected keeps it open and the party is told why.
 */
export function decideDispute(
  deps: CaseAnswerDeps,
  actor: Actor,
  id: string,
  input: DecisionInput,
): Promise<DiscrepancyRow> {
  return step(deps, actor, id, async ({ q, d, at }) => {
    const open = d.dispute?.status === 'open' ? d.dispute : undefined;
    if (!open || d.status === 'resolved')
      throw conflict409('the case has no open dispute to decide', '该差异没有待处理的异议');
    const decided: CaseDispute = {
      ...open,
      status: input.decision,
      decision_note: input.note,
      decided_by: actor.client_id,
      decided_at: toCstIso(at),
    };
    if (input.decision === 'upheld') await resolveByDispute(q, d.id, decided, input.note, at);
    else await setDispute(q, d.id, decided, at);
    return {
      action: input.decision === 'upheld' ? 'dispute_upheld' : 'dispute_rejected',
      data: {
        decision: input.decision,
        note: input.note,
        reason_code: open.reason_code,
        disputed_by: open.by,
        ...(input.decision === 'upheld' ? { resolution: 'manual' } : {}),
      },
    };
  });
}

/** One file of a dispute, for a reader the case concerns; 404 otherwise. */
export async function caseAttachment(
  deps: Pick<CaseAnswerDeps, 'db'>,
  actor: Actor,
  caseId: string,
  id: string,
): Promise<AttachmentRow> {
  const d = await getDiscrepancy(deps.db, caseId);
  if (!d || !concerns(actor, d)) throw noCase();
  const a = await getAttachment(deps.db, caseId, id);
  if (!a) throw notFound({ en: 'no such attachment', zh: '没有该附件' });
  return a;
}
