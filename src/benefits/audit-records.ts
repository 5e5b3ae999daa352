/**
 * What the benefit audit reads from the ledger: the person-years a feed touched, and every record of
 * one person-year, merged to one record per setl_id in its latest state (the engine's input).
 */
import type { Sql } from '../db/db';
import { subjectKey, parseSubjectKey } from '../matching/rules';
import { benefitYearOf, benefitYearStart } from './engine';
import type { BenefitSetlDetailInput, BenefitSettlementInput } from './engine-types';
import type { RegionPolicies, RegionPolicy } from './region-policy';
import {
  loadBenefitRecordRows,
  loadPersonWindowRows,
  personTimesOfMessages,
  type BenefitRecordRow,
} from '../ledger/benefit-read-model';

/** One person's benefit year in one region: the unit the audit re-evaluates and locks. */
export interface PersonYear {
  /** person:<region's first admdvs prefix>:<psn_no>:<year> — also the discrepancy group key. */
  key: string;
  policy: RegionPolicy;
  psn_no: string;
  year: number;
}

/** A settlement record as the audit needs it: the engine's input plus what findings and scope need. */
export interface AuditRecord extends BenefitSettlementInput {
  psn_no: string;
  insuplc_admdvs: string;
  fixmedins_code: string;
  insurer_code: string;
  period: string;
  /** Messages that carried the valid row and, once reversed, the reversal (sorted). */
  message_ids: string[];
}

/** A stored row with its setldetail as the engine reads it. */
type RecordRow = BenefitRecordRow & { setldetail: BenefitSetlDetailInput[] | null };

/**
 * The person-year of a region, psn_no and benefit year. The key names the region by its first
 * prefix rather than one settlement's insuplc_admdvs: the benefit year runs across the whole pooling
 * region (spec §4), and a key that depended on which settlement came first would move when a late,
 * earlier settlement arrives.
 */
export function personYear(policy: RegionPolicy, psnNo: string, year: number): PersonYear {
  return {
    key: subjectKey({ kind: 'person_year', admdvs: policy.admdvs_prefixes[0]!, psn_no: psnNo, year }),
    policy,
    psn_no: psnNo,
    year,
  };
}

/** A person-year key back to its region (undefined for a key of another kind or an unknown region). */
export function parsePersonYear(regions: RegionPolicies, key: string): PersonYear | undefined {
  const s = parseSubjectKey(key);
  if (s?.kind !== 'person_year') return undefined;
  const policy = regions.regionFor(s.admdvs);
  return policy ? personYear(policy, s.psn_no, s.year) : undefined;
}

/**
 * Keys of the person-years feed messages touched, sorted, each once, only in regions with benefit
 * rules (Jiaozuo and unknown regions are not checked). Both rows of every setl_id a message carried
 * count, so a reversal re-evaluates the year of the record it reverses.
 */
export async function personYearsOfMessages(
  q: Sql,
  regions: RegionPolicies,
  messageIds: readonly string[],
): Promise<string[]> {
  const rows = await personTimesOfMessages(q, messageIds);
  // A feed's rows name each person-year several times (a record per settlement): the key is built once for each.
  const seen = new Set<string>();
  const keys = new Set<string>();
  for (const r of rows) {
    const policy = regions.regionFor(r.insuplc_admdvs);
    if (!policy || policy.benefits === null) continue;
    const year = benefitYearOf(policy, r.setl_time);
    const id = `${policy.id}\u0000${year}\u0000${r.psn_no}`;
    if (seen.has(id)) continue;
    seen.add(id);
    keys.add(personYear(policy, r.psn_no, year).key);
  }
  return [...keys].sort();
}

/**
 * Every record of a person-year, valid and reversed (the engine leaves reversed ones out of the
 * cumulative), one per setl_id. A record counts where its valid row says it belongs: the rows are
 * fetched by setl_id so a reversal row with other data cannot split a settlement in two, and a
 * longer prefix that belongs to another region (longest match wins) is left to that region.
 */
export async function loadPersonYear(q: Sql, regions: RegionPolicies, py: PersonYear): Promise<AuditRecord[]> {
  return (await loadPersonYears(q, regions, [py])).get(py.key) ?? [];
}

/** Several person-years at once (one query per region): the audit's batch form of loadPersonYear. */
export async function loadPersonYears(
  q: Sql,
  regions: RegionPolicies,
  pys: readonly PersonYear[],
): Promise<Map<string, AuditRecord[]>> {
  const out = new Map<string, AuditRecord[]>(pys.map((py) => [py.key, []]));
  const byRegion = new Map<RegionPolicy, PersonYear[]>();
  for (const py of pys) {
    const list = byRegion.get(py.policy);
    if (list) list.push(py);
    else byRegion.set(py.policy, [py]);
  }
  for (const [policy, list] of byRegion) {
    const rows = await loadPersonWindowRows(
      q,
      list.map((py) => ({
        psn_no: py.psn_no,
        from: benefitYearStart(policy, py.year),
        to: benefitYearStart(policy, py.year + 1),
      })),
      policy.admdvs_prefixes.map((p) => `${p}%`),
    );
    // A record's person-year by psn_no and benefit year (its key is built once per person-year, not per record).
    const byPerson = new Map<string, AuditRecord[]>();
    for (const py of list) byPerson.set(`${py.year}\u0000${py.psn_no}`, out.get(py.key)!);
    for (const r of merge(rows as RecordRow[])) {
      if (regions.regionFor(r.insuplc_admdvs)?.id !== policy.id) continue;
      byPerson.get(`${benefitYearOf(policy, r.setl_time)}\u0000${r.psn_no}`)?.push(r);
    }
  }
  return out;
}

/** One settlement (both rows merged), or undefined. */
export async function loadSettlementRecord(q: Sql, setlId: string): Promise<AuditRecord | undefined> {
  return merge((await loadBenefitRecordRows(q, setlId)) as RecordRow[])[0];
}

/** Rows ordered by setl_id, the valid row first ('valid' > 'reversed'), to one record per setl_id. */
function merge(rows: RecordRow[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.setl_id === r.setl_id) {
      // A reversal is final whatever order the rows arrived in (001_core.sql).
      if (r.status === 'reversed') last.status = 'reversed';
      last.message_ids = [...new Set([...last.message_ids, r.message_id])].sort();
      continue;
    }
    out.push({
      setl_id: r.setl_id,
      setl_time: r.setl_time,
      status: r.status,
      mdtrtarea_admvs: r.mdtrtarea_admvs,
      referral: r.referral === true,
      setldetail: r.setldetail,
      hifob_pay: r.hifob_pay,
      psn_no: r.psn_no,
      insuplc_admdvs: r.insuplc_admdvs,
      fixmedins_code: r.fixmedins_code,
      insurer_code: r.insurer_code,
      period: r.period,
      message_ids: [r.message_id],
    });
  }
  return out;
}
