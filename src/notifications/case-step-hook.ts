/**
 * The hook the case answers (src/discrepancies/case-answers.ts) call in the transaction of a step
 * (a comment, a dispute, a decision): the step's notification job goes through the outbox, so the
 * other side is told of every committed step and of no step rolled back. The job carries ids only;
 * the worker loads the case and the step (case-steps.ts).
 */
import type { Sql } from '../db/db';
import { enqueueJob } from '../queue/outbox';
import { NOTIFICATIONS_QUEUE } from '../queue/queue-names';

export interface CaseStepJob {
  kind: 'case_step';
  discrepancy_id: string;
  step_id: string;
}

export async function queueCaseStepNotification(q: Sql, discrepancyId: string, stepId: string): Promise<void> {
  const job: CaseStepJob & { job_id: string } = {
    kind: 'case_step',
    discrepancy_id: discrepancyId,
    step_id: stepId,
    job_id: `step-${stepId}`,
  };
  await enqueueJob(q, NOTIFICATIONS_QUEUE, job);
}
