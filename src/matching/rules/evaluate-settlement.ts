import type { EvaluationContext, SettlementInput } from './facts';
import type { Finding } from '../finding';
import {
  declaredAmountFindings,
  declaredNotRecordedFindings,
  recordedNotDeclaredFindings,
} from './declaration-findings';
import { computeLoop, type LoopState } from './loop-state';
import { compareFindings } from './order';
import { paymentFindings, unknownSettlementFindings } from './payment-findings';
import { duplicateReimbursementFindings, overReimbursementFindings } from './record-findings';

/**
 * The pure core of the closed loop for one settlement id (spec §4): its loop state and every finding
 * of its group — the settlement itself, the payment lines and batch items naming it. The result is a
 * function of the fact SET and `asOf` only: inputs are put in canonical order here, findings come
 * back sorted by (code, subject_key) with one finding per (code, subject_key), so the caller can diff
 * the open discrepancies of the group against them.
 *
 * Facts are taken as known: `asOf` judges deadlines and grace periods, it does not hide facts dated
 * after it (a caller reconciling as of a past time passes the facts it knew then).
 */
export interface SettlementEvaluation {
  /** Absent when the agency has not recorded the settlement. */
  loop?: LoopState;
  findings: Finding[];
  /**
   * The earliest instant after `asOf` at which the result could change with no new facts (a grace
   * period expiring, a due date lapsing); absent when nothing is pending.
   */
  nextCheckAt?: Date;
}

export function evaluateSettlement(input: SettlementInput, ctx: EvaluationContext): SettlementEvaluation {
  assertGroup(input);
  const s = input.settlement;
  if (!s) {
    const unknown = unknownSettlementFindings(input.setl_id, input.lines, ctx);
    const undeclared = declaredNotRecordedFindings(input.setl_id, input.declaredItems, ctx);
    return finish(
      undefined,
      [...unknown.findings, ...undeclared.findings],
      [...unknown.pending, ...undeclared.pending],
      ctx,
    );
  }

  const loop = computeLoop(s, input.lines, input.recoveries, ctx);
  const findings = [
    ...paymentFindings(s, loop, ctx),
    ...declaredAmountFindings(s, input.declaredItems, ctx),
    ...recordedNotDeclaredFindings(s, input, ctx),
    ...overReimbursementFindings(s, ctx),
    ...duplicateReimbursementFindings(s, input.sameMdtrt, ctx),
  ];
  // Only an owed, still-open loop changes by itself: it becomes overdue when its due date lapses.
  const pending = loop.state.status === 'owed' ? [loop.due.lapses_at] : [];
  return finish(loop.state, findings, pending, ctx);
}

function finish(
  loop: LoopState | undefined,
  findings: Finding[],
  pending: Date[],
  ctx: EvaluationContext,
): SettlementEvaluation {
  const seen = new Set<string>();
  const unique = [...findings].sort(compareFindings).filter((f) => {
    const k = `${f.code} ${f.subject_key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const future = pending.map((d) => d.getTime()).filter((t) => t > ctx.asOf.getTime());
  const out: SettlementEvaluation = { findings: unique };
  if (loop) out.loop = loop;
  if (future.length > 0) out.nextCheckAt = new Date(Math.min(...future));
  return out;
}

/** Every fact must name the group's setl_id: anything else is a caller bug, not data to judge. */
function assertGroup(input: SettlementInput): void {
  const id = input.setl_id;
  const stray =
    (input.settlement && input.settlement.setl_id !== id) ||
    input.lines.some((l) => l.setl_id !== id) ||
    input.recoveries.some((r) => r.setl_id !== id) ||
    input.declaredItems.some((i) => i.setl_id !== id);
  if (stray) throw new RangeError(`evaluateSettlement: a fact does not name setl_id ${id}`);
  if (input.settlement && input.sameMdtrt.some((o) => o.mdtrt_id !== input.settlement?.mdtrt_id)) {
    throw new RangeError(`evaluateSettlement: sameMdtrt holds a settlement of another mdtrt_id`);
  }
}
