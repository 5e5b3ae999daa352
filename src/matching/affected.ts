/**
 * Which evaluation groups newly stored messages can change (messages of one kind, applied together
 * by the ingest worker): the ledger's rule (src/ledger/fact-loader.ts), asked only for the
 * kinds that bring loop facts. Re-evaluating exactly these after each message (plus the sweep for the
 * clock) is what makes the final state independent of arrival order.
 */
import type { Sql } from '../db/db';
import type { MessageKind } from '../ingest/kinds';
import { affectedByMessages } from '../ledger/fact-loader';
import type { DeclarationKey } from './declarations';

export interface Affected { setlIds: string[]; declarations: DeclarationKey[] }

/** Spending plans and disbursements are reconciliation's (PLAN_VARIANCE, DISBURSEMENT_MISMATCH): they change no settlement. */
const FACT_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>(['agency_settlements', 'settlement_batch', 'insurer_payment', 'recovery']);

export async function affectedBy(q: Sql, kind: MessageKind, messageIds: readonly string[]): Promise<Affected> {
  if (!FACT_KINDS.has(kind)) return { setlIds: [], declarations: [] };
  return affectedByMessages(q, messageIds);
}
