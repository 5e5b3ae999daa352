import type { Period } from '../../time';

/**
 * Stable `subject_key`s (spec §4: one open discrepancy per `(code, subject_key)`), so the case store
 * can diff the open set of a group across re-evaluations. Formats:
 *
 *   settlement        setl:<setl_id>
 *   payment line      line:<insurer_code>:<payment_id>:<line_no>
 *   batch item        item:<fixmedins_code>:<insurer_code>:<period>:<setl_id>
 *   institution-period decl:<fixmedins_code>:<insurer_code>:<period>
 *   person-year       person:<insuplc_admdvs>:<psn_no>:<year>      (ANNUAL_CAP_EXCEEDED, other module)
 *   insurer-period    insurer:<insurer_code>:<period>               (PLAN_VARIANCE …, other module)
 *   insurer-year      insyear:<admdvs>:<insurer_code>:<fund_year>   (COST_LIMIT_EXCEEDED …, src/fund/statement)
 *   region-year       regyear:<admdvs>:<fund_year>                  (FUND_DEFICIT, src/fund/statement)
 *   account-region-period account:<account>:<admdvs>:<period>       (PREMIUM_TRANSFER_SHORT …, src/fund/rules)
 *   collection        collection:<collection_id>                    (PREMIUM_RATE_MISMATCH, src/fund/rules)
 *   statement         stmt:<fixmedins_code>:<begndate>:<enddate>    (the group of a 3202 detail statement, src/platform)
 *
 * The batch item key carries the insurer because one institution files one batch per insurer and
 * period, so the same setl_id may (wrongly) appear in two current batches. Opaque ids may contain
 * any character, so `%` and `:` inside a part are percent-encoded: keys stay readable for ordinary ids
 * and two different subjects never share a key.
 */
export type Subject =
  | { kind: 'settlement'; setl_id: string }
  | { kind: 'payment_line'; insurer_code: string; payment_id: string; line_no: number }
  | { kind: 'batch_item'; fixmedins_code: string; insurer_code: string; period: Period; setl_id: string }
  | { kind: 'declaration'; fixmedins_code: string; insurer_code: string; period: Period }
  | { kind: 'person_year'; admdvs: string; psn_no: string; year: number }
  | { kind: 'insurer_period'; insurer_code: string; period: Period }
  | { kind: 'insurer_year'; admdvs: string; insurer_code: string; fund_year: number }
  | { kind: 'region_year'; admdvs: string; fund_year: number }
  | { kind: 'account_period'; account: string; admdvs: string; period: Period }
  | { kind: 'collection'; collection_id: string }
  | { kind: 'statement'; fixmedins_code: string; begndate: string; enddate: string };

const PREFIX = {
  settlement: 'setl',
  payment_line: 'line',
  batch_item: 'item',
  declaration: 'decl',
  person_year: 'person',
  insurer_period: 'insurer',
  insurer_year: 'insyear',
  region_year: 'regyear',
  account_period: 'account',
  collection: 'collection',
  statement: 'stmt',
} as const satisfies Record<Subject['kind'], string>;

export function subjectKey(s: Subject): string {
  switch (s.kind) {
    case 'settlement':
      return join(PREFIX.settlement, s.setl_id);
    case 'payment_line':
      return join(PREFIX.payment_line, s.insurer_code, s.payment_id, String(s.line_no));
    case 'batch_item':
      return join(PREFIX.batch_item, s.fixmedins_code, s.insurer_code, s.period, s.setl_id);
    case 'declaration':
      return join(PREFIX.declaration, s.fixmedins_code, s.insurer_code, s.period);
    case 'person_year':
      return join(PREFIX.person_year, s.admdvs, s.psn_no, String(s.year));
    case 'insurer_period':
      return join(PREFIX.insurer_period, s.insurer_code, s.period);
    case 'insurer_year':
      return join(PREFIX.insurer_year, s.admdvs, s.insurer_code, String(s.fund_year));
    case 'region_year':
      return join(PREFIX.region_year, s.admdvs, String(s.fund_year));
    case 'account_period':
      return join(PREFIX.account_period, s.account, s.admdvs, s.period);
    case 'collection':
      return join(PREFIX.collection, s.collection_id);
    case 'statement':
      return join(PREFIX.statement, s.fixmedins_code, s.begndate, s.enddate);
  }
}

/** The subject a key names (the inverse of `subjectKey`), or undefined for a key it did not make. */
export function parseSubjectKey(key: string): Subject | undefined {
  const [prefix, ...raw] = key.split(':');
  const parts = raw.map(decode);
  const [a = '', b = '', c = '', d = ''] = parts;
  switch (prefix) {
    case PREFIX.settlement:
      return parts.length === 1 ? { kind: 'settlement', setl_id: a } : undefined;
    case PREFIX.payment_line:
      return parts.length === 3 && /^\d+$/.test(c)
        ? { kind: 'payment_line', insurer_code: a, payment_id: b, line_no: Number(c) }
        : undefined;
    case PREFIX.batch_item:
      return parts.length === 4
        ? { kind: 'batch_item', fixmedins_code: a, insurer_code: b, period: c, setl_id: d }
        : undefined;
    case PREFIX.declaration:
      return parts.length === 3 ? { kind: 'declaration', fixmedins_code: a, insurer_code: b, period: c } : undefined;
    case PREFIX.person_year:
      return parts.length === 3 && /^\d{4}$/.test(c)
        ? { kind: 'person_year', admdvs: a, psn_no: b, year: Number(c) }
        : undefined;
    case PREFIX.insurer_period:
      return parts.length === 2 ? { kind: 'insurer_period', insurer_code: a, period: b } : undefined;
    case PREFIX.insurer_year:
      return parts.length === 3 && /^\d{4}$/.test(c)
        ? { kind: 'insurer_year', admdvs: a, insurer_code: b, fund_year: Number(c) }
        : undefined;
    case PREFIX.region_year:
      return parts.length === 2 && /^\d{4}$/.test(b)
        ? { kind: 'region_year', admdvs: a, fund_year: Number(b) }
        : undefined;
    case PREFIX.account_period:
      return parts.length === 3 ? { kind: 'account_period', account: a, admdvs: b, period: c } : undefined;
    case PREFIX.collection:
      return parts.length === 1 ? { kind: 'collection', collection_id: a } : undefined;
    case PREFIX.statement:
      return parts.length === 3 ? { kind: 'statement', fixmedins_code: a, begndate: b, enddate: c } : undefined;
    default:
      return undefined;
  }
}

function join(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts.map(encode)].join(':');
}

function encode(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function decode(part: string): string {
  return part.replace(/%(25|3A)/gi, (m) => (m === '%25' ? '%' : ':'));
}
