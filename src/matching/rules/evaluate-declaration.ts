import { declarationDueDate, isOverdueAt, type DueDate } from '../../deadlines/due-dates';
import type { Period } from '../../time';
import type { EvaluationContext } from './facts';
import { dueEvidence, makeFinding, type Finding } from '../finding';
import { subjectKey } from './subject-key';

/**
 * DECLARATION_MISSING (spec §4; DOMAIN step 2): an institution that advanced large-expense amounts by
 * direct settlement in period P must declare them to the insurer by day `declaration_due_day` of P+1.
 * The group of this finding is the institution-period `decl:<fixmedins>:<insurer>:<period>`.
 *
 * A batch that arrives after the due date resolves the finding (it is no longer missing); the spec
 * has no "declared late" code, and the lateness stays visible in the resolved case's history.
 */
export interface DeclarationInput {
  fixmedins_code: string;
  insurer_code: string;
  period: Period;
  /** Region the finding is filed under (the caller knows the institution's pooling region). */
  admdvs: string;
  /** Valid direct settlements of this (institution, insurer, period) with hifob_pay > 0. */
  owedDirectCount: number;
  /** When the first current batch of this (institution, insurer, period) was received, if any. */
  batchReceivedAt?: Date;
}

export interface DeclarationEvaluation {
  due: DueDate;
  findings: Finding[];
  /** The due date's lapse, while it is still ahead and a declaration is still awaited. */
  nextCheckAt?: Date;
}

export function evaluateDeclaration(
  input: DeclarationInput,
  ctx: Pick<EvaluationContext, 'asOf' | 'params' | 'severities'>,
): DeclarationEvaluation {
  if (!Number.isSafeInteger(input.owedDirectCount) || input.owedDirectCount < 0) {
    throw new RangeError(`owedDirectCount must be a non-negative integer: ${input.owedDirectCount}`);
  }
  const due = declarationDueDate(input.period, ctx.params);
  const awaited = input.owedDirectCount > 0 && input.batchReceivedAt === undefined;
  if (!awaited) return { due, findings: [] };
  if (!isOverdueAt(due, ctx.asOf)) return { due, findings: [], nextCheckAt: due.lapses_at };
  const finding = makeFinding(ctx, {
    code: 'DECLARATION_MISSING',
    subject_key: subjectKey({
      kind: 'declaration',
      fixmedins_code: input.fixmedins_code,
      insurer_code: input.insurer_code,
      period: input.period,
    }),
    admdvs: input.admdvs,
    insurer_code: input.insurer_code,
    fixmedins_code: input.fixmedins_code,
    period: input.period,
    detail: `Institution ${input.fixmedins_code} has ${input.owedDirectCount} direct settlements owed by insurer ${input.insurer_code} in ${input.period} but no declaration by ${due.date}.`,
    evidence: { message_ids: [], due: dueEvidence(due), owed_direct_count: input.owedDirectCount },
  });
  return { due, findings: [finding] };
}
