/**
 * The one masking pass every outbound payload goes through (spec §6, 001 art. 19): whatever a
 * discrepancy's evidence happens to carry, a notification leaves the gateway with `certno` and
 * `psn_name` masked (`4101**********1234`, `张*`) and no `psn_no` at all. Cases are built by many
 * evaluators, so this works on keys anywhere in the tree rather than trusting each evaluator.
 */
import { maskCertno, maskName } from '../logging/logger';
import { isValidCertno } from '../schemas/gb11643';

/** Keys whose value identifies a person and is dropped, not masked (psn_no has no display form). */
const DROP = new Set(['psn_no']);
const MASKERS: Record<string, (s: string) => string | undefined> = {
  certno: maskCertno,
  psn_name: maskName,
  payee_name: maskName,
};
/** 18 characters that may be a resident ID number (GB 11643); only valid ones (check digit, birth date) are masked. */
const CERTNO_IN_TEXT = /(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])/g;

/** Mask resident ID numbers inside free text; an 18-digit settlement id fails the check digit or date and stays. */
export function maskText(s: string): string {
  return s.replace(CERTNO_IN_TEXT, (m) => (isValidCertno(m) ? (maskCertno(m) ?? m) : m));
}

/**
 * A person-year subject key (`person:<admdvs>:<psn_no>:<year>`) names the person; the outbound form
 * keeps the region and year so the case stays recognisable.
 */
export function maskSubjectKey(key: string): string {
  const parts = key.split(':');
  if (parts[0] === 'person' && parts.length === 4) return `person:${parts[1]}:***:${parts[3]}`;
  return maskText(key);
}

export interface MaskOptions {
  /**
   * How a subject key is masked: by default `maskSubjectKey` (region and year only); a party's
   * deliveries pass the read path's pseudonym (evidence-scope.ts maskedSubjectKey), so the key in a
   * notification is the key the party's reads show.
   */
  subjectKey?: (key: string) => string;
}

/** A deep copy of `value` with personal data masked or removed. */
export function maskPersonal<T>(value: T, opts: MaskOptions = {}): T {
  return walk(value, undefined, opts.subjectKey ?? maskSubjectKey) as T;
}

function walk(v: unknown, key: string | undefined, subjectKey: (key: string) => string): unknown {
  if (typeof v === 'string') {
    if (key === 'subject_key') return maskText(subjectKey(v));
    const m = key !== undefined ? MASKERS[key] : undefined;
    return m ? (m(v) ?? '') : maskText(v);
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, undefined, subjectKey));
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (DROP.has(k)) continue;
      out[k] = walk(x, k, subjectKey);
    }
    return out;
  }
  return v;
}
