/**
 * Insurers' spending plans and the agency's disbursements: the only module that writes
 * `spending_plans` and `disbursements`.
 */
import type { Sql } from '../db/db';
import type { Disbursement, SpendingPlan } from '../schemas/types';
import { STAMP, insertJsonRows, stampedJson, type Stamped } from './json-rows';

const PLAN_COLUMNS = {
  ...STAMP,
  insurer_code: 'text',
  period: 'text',
  revision: 'int',
  planned_amount: 'numeric',
  items: 'jsonb',
  admdvs: 'text',
};
const DISBURSEMENT_COLUMNS = {
  ...STAMP,
  disbursement_id: 'text',
  insurer_code: 'text',
  period: 'text',
  amount: 'numeric',
  disbursed_at: 'timestamptz',
  admdvs: 'text',
  sender_scope: 'text[]',
};
const INSERT_PLANS = insertJsonRows('spending_plans', PLAN_COLUMNS, 1);
const INSERT_DISBURSEMENTS = insertJsonRows('disbursements', DISBURSEMENT_COLUMNS, 1);

export async function insertSpendingPlans(q: Sql, plans: readonly Stamped<SpendingPlan>[]): Promise<void> {
  if (!plans.length) return;
  await q.query(INSERT_PLANS, [stampedJson(plans)]);
}

/**
 * A disbursement as stored: with the scope of the agency client that sent it (null for ops), so it
 * counts only in reconciliations of regions inside that scope (spec §3), whatever the clients file says later.
 */
export type DisbursementRow = Disbursement & { sender_scope: string[] | null };

export async function insertDisbursements(q: Sql, disbursements: readonly Stamped<DisbursementRow>[]): Promise<void> {
  if (!disbursements.length) return;
  await q.query(INSERT_DISBURSEMENTS, [stampedJson(disbursements)]);
}
