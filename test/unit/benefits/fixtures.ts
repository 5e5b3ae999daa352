import dehong from '../../../regions/dehong-5331.json';
import district from '../../../regions/sample-district-9999.json';
import jiaozuo from '../../../regions/jiaozuo-4108.json';
import ulanqab from '../../../regions/ulanqab-1509.json';
import { createRegionPolicies, type RegionPolicySource } from '../../../src/benefits/region-policy';
import type { BenefitSetlDetailInput, BenefitSettlementInput } from '../../../src/benefits/engine';
import type { RegionPolicy } from '../../../src/benefits/policy-types';
import { cstInstant } from '../../../src/time';

/** The four shipped policy files as sources (imported, so the tests do no file I/O). */
export function shippedSources(): RegionPolicySource[] {
  return [
    { file: 'dehong-5331.json', text: JSON.stringify(dehong) },
    { file: 'ulanqab-1509.json', text: JSON.stringify(ulanqab) },
    { file: 'jiaozuo-4108.json', text: JSON.stringify(jiaozuo) },
    { file: 'sample-district-9999.json', text: JSON.stringify(district) },
  ];
}

/** A deep copy of a shipped file's JSON, to break in a test. */
export function shippedDocument(
  file: 'dehong-5331' | 'ulanqab-1509' | 'jiaozuo-4108' | 'sample-district-9999',
): Record<string, any> {
  const docs = {
    'dehong-5331': dehong,
    'ulanqab-1509': ulanqab,
    'jiaozuo-4108': jiaozuo,
    'sample-district-9999': district,
  };
  return JSON.parse(JSON.stringify(docs[file])) as Record<string, any>;
}

const policies = createRegionPolicies(shippedSources());

export function policy(id: string): RegionPolicy {
  const p = policies.byId(id);
  if (!p) throw new Error(`no policy ${id}`);
  return p;
}

export interface SettlementSpec {
  id: string;
  /** CST date `yyyy-MM-dd`, optionally with an hour. */
  date: string;
  hour?: number;
  /** Large-expense base (inscp_scp_amt of a 330100 entry without seg), or the entries themselves. */
  base?: string;
  entries?: BenefitSetlDetailInput[];
  hifob?: string;
  area?: string;
  referral?: boolean;
  status?: 'valid' | 'reversed';
}

/** A settlement with a basic-fund entry (310100, never part of the base) and the given large-expense base. */
export function settlement(p: SettlementSpec, areaDefault = '533102'): BenefitSettlementInput {
  const entries =
    p.entries ?? (p.base === undefined ? [] : [{ fund_pay_type: '330100', inscp_scp_amt: p.base, fund_payamt: '0' }]);
  return {
    setl_id: p.id,
    setl_time: cstInstant(p.date, p.hour ?? 10),
    status: p.status ?? 'valid',
    mdtrtarea_admvs: p.area ?? areaDefault,
    referral: p.referral ?? false,
    setldetail: [{ fund_pay_type: '310100', inscp_scp_amt: '50000.00', fund_payamt: '40000.00' }, ...entries],
    hifob_pay: p.hifob ?? '0.00',
  };
}

/** Expected amounts of a result list as strings, by setl_id. */
export function expectedById(results: { setl_id: string; expected: { toString(): string } }[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.setl_id, r.expected.toString()]));
}
