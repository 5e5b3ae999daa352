/**
 * The loop's per-region deadline and tolerance parameters (spec §4, §7). Region policy files
 * (`regions/*.json`, loaded by src/benefits) carry one of these each; the defaults are the spec's.
 */
export interface LoopParams {
  /** Direct settlement (直接结算): due at the end of the month this many months after the settlement month (default 1). */
  direct_due_months_after: number;
  /** Manual claim (零星报销): due this many working days after `setl_time` (default 20; 001 art. 16). */
  manual_due_working_days: number;
  /** Manual claims are never due after this month-day of the year after the settlement year (default "03-31"). */
  manual_final_cutoff: string;
  /** An institution's declaration of period P is due on this day of month P+1 (default 10). */
  declaration_due_day: number;
  /** A reference to a record not yet known waits this many days from receipt before it is flagged (default 2). */
  grace_days: number;
  /** Largest |hifob_pay − expected| that is not a BENEFIT_RULE_DEVIATION, in yuan (default "0.01"). */
  benefit_tolerance: string;
  /** PLAN_VARIANCE / DISBURSEMENT_MISMATCH tolerance as a percentage of the plan (default 5). */
  plan_tolerance_pct: number;
  /**
   * Arrears by age (应支未支, spec §10): the upper bounds, in working days past the due date, of the
   * buckets d1_10, d11_30 and d31_60; beyond the last is over_60 (default [10, 30, 60]).
   */
  ageing_buckets: readonly [number, number, number];
}

export const DEFAULT_LOOP_PARAMS: LoopParams = Object.freeze({
  direct_due_months_after: 1,
  manual_due_working_days: 20,
  manual_final_cutoff: '03-31',
  declaration_due_day: 10,
  grace_days: 2,
  benefit_tolerance: '0.01',
  plan_tolerance_pct: 5,
  ageing_buckets: Object.freeze([10, 30, 60]) as readonly [number, number, number],
});
