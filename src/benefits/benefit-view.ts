/**
 * A settlement's benefit check as the API shows it: the stored result of the last audit (cheap, for
 * GET /v1/settlements/{setl_id}), or a live evaluation of its person-year (for the explain endpoint
 * and the CLI, and whenever no stored result exists yet).
 */
import type { Sql } from '../db/db';
import { explain, type ExplainLocale } from './explain';
import { evaluatePersonYear, benefitYearOf } from './engine';
import type { SettlementBenefit, UncheckedReason } from './engine-types';
import { fenText } from './exact';
import { benefitDeviation, derivationEvidence, type DerivationEvidence } from './findings';
import { loadPersonYear, loadSettlementRecord, personYear, type AuditRecord } from './audit-records';
import type { AuditDeps } from './audit';
import type { RegionPolicy } from './policy-types';
import { Money } from '../money';

export type BenefitUncheckedReason = UncheckedReason | 'reversed';

/** The `benefit` member of a settlement (amounts as strings; derivation with every number as a string). */
export interface BenefitView {
  checked: boolean;
  unchecked_reason: BenefitUncheckedReason | null;
  /** Region policy id, or null when the settlement's insuplc_admdvs is in no configured region. */
  region: string | null;
  benefit_year: number | null;
  /** What the rules give (null when they were not applied). */
  expected_amount: string | null;
  /** hifob_pay as recorded. */
  actual_amount: string;
  /** actual − expected (null when the rules were not applied). */
  difference: string | null;
  tolerance: string | null;
  /** The difference is beyond the tolerance (BENEFIT_RULE_DEVIATION). */
  deviates: boolean;
  derivation: DerivationEvidence | null;
}

export interface BenefitExplanation {
  setl_id: string;
  view: BenefitView;
  explanation: string;
}

interface StoredRow {
  region: string;
  benefit_year: number;
  checked: boolean;
  unchecked_reason: BenefitUncheckedReason | null;
  expected_amount: string | null;
  actual_amount: string;
  difference: string | null;
  tolerance: string | null;
  deviates: boolean;
  derivation: DerivationEvidence | null;
}

/** `(setlId) => view`: the stored result, else a live evaluation; undefined for an unknown setl_id. */
export function createBenefitView(deps: AuditDeps): (setlId: string) => Promise<BenefitView | undefined> {
  return async (setlId) => {
    const { rows } = await deps.db.query<StoredRow>(
      `SELECT region, benefit_year, checked, unchecked_reason, expected_amount, actual_amount, difference, tolerance, deviates, derivation
         FROM settlement_benefits WHERE setl_id = $1`,
      [setlId],
    );
    const r = rows[0];
    if (r) return { ...r, benefit_year: Number(r.benefit_year) };
    return (await evaluateLive(deps, deps.db, setlId))?.view;
  };
}

/** The view and a step-by-step explanation (spec §7) of one settlement, evaluated now; undefined if unknown. */
export async function explainSettlement(
  deps: AuditDeps,
  setlId: string,
  lang: ExplainLocale,
): Promise<BenefitExplanation | undefined> {
  const live = await evaluateLive(deps, deps.db, setlId);
  if (!live) return undefined;
  const { record, policy, result, view } = live;
  const explanation = policy && result ? explain(result, policy, lang) : notEvaluated(record, policy, view, lang);
  return { setl_id: setlId, view, explanation };
}

/** The view of one engine result. */
export function viewOf(policy: RegionPolicy, r: SettlementBenefit, year: number): BenefitView {
  const applied = r.derivation !== null;
  return {
    checked: r.checked,
    unchecked_reason: r.unchecked_reason,
    region: policy.id,
    benefit_year: year,
    expected_amount: applied ? fenText(r.expected) : null,
    actual_amount: fenText(r.actual),
    difference: applied ? fenText(r.actual.minus(r.expected)) : null,
    tolerance: policy.benefits === null ? null : fenText(policy.benefit_tolerance),
    deviates: benefitDeviation(policy, r) !== undefined,
    derivation: r.derivation ? derivationEvidence(r.derivation) : null,
  };
}

interface Live {
  record: AuditRecord;
  policy: RegionPolicy | undefined;
  result: SettlementBenefit | undefined;
  view: BenefitView;
}

async function evaluateLive(deps: AuditDeps, q: Sql, setlId: string): Promise<Live | undefined> {
  const record = await loadSettlementRecord(q, setlId);
  if (!record) return undefined;
  const policy = deps.regions.regionFor(record.insuplc_admdvs);
  const actual = fenText(Money.of(record.hifob_pay));
  const bare: BenefitView = {
    checked: false,
    unchecked_reason: 'no_benefit_rules',
    region: policy?.id ?? null,
    benefit_year: null,
    expected_amount: null,
    actual_amount: actual,
    difference: null,
    tolerance: null,
    deviates: false,
    derivation: null,
  };
  if (!policy) return { record, policy, result: undefined, view: bare };
  const year = benefitYearOf(policy, record.setl_time);
  if (record.status === 'reversed') {
    return {
      record,
      policy,
      result: undefined,
      view: {
        ...bare,
        unchecked_reason: 'reversed',
        benefit_year: year,
        tolerance: policy.benefits ? fenText(policy.benefit_tolerance) : null,
      },
    };
  }
  const records =
    policy.benefits === null
      ? [record]
      : await loadPersonYear(q, deps.regions, personYear(policy, record.psn_no, year));
  const result = evaluatePersonYear(policy, year, records).settlements.find((s) => s.setl_id === setlId);
  // The record always belongs to its own person-year; `bare` only covers a record the region's prefixes exclude.
  return result
    ? { record, policy, result, view: viewOf(policy, result, year) }
    : { record, policy, result: undefined, view: bare };
}

function notEvaluated(
  record: AuditRecord,
  policy: RegionPolicy | undefined,
  view: BenefitView,
  lang: ExplainLocale,
): string {
  const zh = lang === 'zh-CN';
  if (view.unchecked_reason === 'reversed') {
    return zh
      ? `结算 ${record.setl_id} 已撤销：撤销的结算不计入待遇年度的累计，也不校验（规范 §7）。\n记录的 hifob_pay：${view.actual_amount}`
      : `Settlement ${record.setl_id} was reversed: reversed settlements are left out of the benefit year and not checked (spec §7).\nRecorded hifob_pay: ${view.actual_amount}`;
  }
  const where = policy ? (zh ? policy.name.zh : policy.name.en) : record.insuplc_admdvs;
  return zh
    ? `结算 ${record.setl_id} 未校验：参保地 ${where} 未配置大额待遇规则（规范 §7）。\n记录的 hifob_pay：${view.actual_amount}`
    : `Settlement ${record.setl_id} was not checked: no benefit rules are configured for ${where} (spec §7).\nRecorded hifob_pay: ${view.actual_amount}`;
}
