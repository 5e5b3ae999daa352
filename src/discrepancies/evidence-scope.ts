/**
 * What a discrepancy shows to an institution or an insurer (issue 13, over-sharing on reads): the
 * case itself, but of its evidence only the rows that are the reader's own, and no psn_no.
 *
 * Cases are stored once, with the whole evidence (the agency and ops see it all); the cut is made at
 * read time, by the reader's scope, so one case can be read by each of its parties:
 * - person-year cases (ANNUAL_CAP_EXCEEDED, and BENEFIT_RULE_DEVIATION whose evidence names the
 *   messages of the person's earlier settlements) keep only the settlements, and the messages, of
 *   settlements inside the reader's scope — found among the person's records (by psn_no, from the
 *   case's person key);
 * - evidence rows that carry their institution and insurer (settlements, batch items) are kept when
 *   inside the scope; payment lines and recoveries are an insurer's own only when it sent them (an
 *   institution sees those of its own settlement, which every case it can read is about);
 * - when a row was left out, `message_ids` keeps only the messages of the rows shown, and
 *   `rows_withheld` says how many rows were left out (so a total that the rows shown do not add up
 *   to is not a mystery);
 * - a person-year subject key (`person:<admdvs>:<psn_no>:<year>`) shows a stable pseudonym instead of
 *   the psn_no: the same person gives the same key on every read, by every reader.
 */
import crypto from 'node:crypto';
import type { Sql } from '../db/db';
import type { Client } from '../http/clients';
import { inScope } from '../http/auth';
import { parseSubjectKey } from '../matching/rules';
import { loadPersonSettlementRefs } from '../ledger/settlement-read-model';
import { discrepancyHistory, discrepancyView, type DiscrepancyRow } from './discrepancy-queries';
import { toCstIso } from '../time';

/** Codes whose evidence rests on a person's other settlements (the benefit year). */
const PERSON_YEAR_CODES = new Set(['ANNUAL_CAP_EXCEEDED', 'BENEFIT_RULE_DEVIATION']);

/** Whether a reader sees cases whole: the agency (the data's owner) and ops. */
const seesAll = (c: Client) => c.role === 'agency' || c.role === 'ops';

/**
 * The masked form of a psn_no in a subject key: a pseudonym, the same for the same person everywhere
 * (so keys stay comparable and `(code, subject_key)` stays one case). Not a secret-keyed hash: every
 * reader of such a case can read the psn_no of the case's own settlement anyway (its record); what
 * the mask keeps out is the number itself from lists, logs and screens.
 */
export function psnPseudonym(psnNo: string): string {
  return `psn-${crypto.createHash('sha256').update(`hifob-psn:${psnNo}`).digest('hex').slice(0, 16)}`;
}

/** A subject key with the psn_no of a person-year replaced by its pseudonym; other keys unchanged. */
export function maskedSubjectKey(key: string): string {
  const s = parseSubjectKey(key);
  return s?.kind === 'person_year' ? `person:${s.admdvs}:${psnPseudonym(s.psn_no)}:${s.year}` : key;
}

/** A history entry's data (audit trail) as `client` may see it: the subject key masked as on the case. */
export function scopedHistoryData(data: unknown, client: Client): unknown {
  if (seesAll(client) || !data || typeof data !== 'object') return data;
  const d = data as Record<string, unknown>;
  return typeof d.subject_key === 'string' ? { ...d, subject_key: maskedSubjectKey(d.subject_key) } : d;
}

/** One case as GET /v1/discrepancies/{id} shows it to `client`: its scoped view and its history. */
export async function caseReadView(q: Sql, d: DiscrepancyRow, client: Client): Promise<Record<string, unknown>> {
  const history = await discrepancyHistory(q, d.id);
  const [view] = await scopedDiscrepancyViews(q, [d], client);
  return {
    ...view,
    history: history.map((h) => ({ ...h, data: scopedHistoryData(h.data, client), at: toCstIso(h.at) })),
  };
}

interface PersonRecord {
  psn_no: string;
  setl_id: string;
  message_id: string;
  insurer_code: string;
  fixmedins_code: string;
}

type Evidence = Record<string, unknown> & { message_ids?: string[] };
type Row = Record<string, unknown>;

/** The wire form of each case as `client` may see it (discrepancyView for the agency and ops). */
export async function scopedDiscrepancyViews(
  q: Sql,
  rows: readonly DiscrepancyRow[],
  client: Client,
): Promise<Record<string, unknown>[]> {
  if (seesAll(client)) return rows.map(discrepancyView);
  const people = new Map<DiscrepancyRow, string>();
  for (const r of rows) {
    if (!PERSON_YEAR_CODES.has(r.code)) continue;
    const key = parseSubjectKey((r as DiscrepancyRow & { group_key?: string }).group_key ?? r.subject_key);
    if (key?.kind === 'person_year') people.set(r, key.psn_no);
  }
  const records = new Map<string, PersonRecord[]>();
  if (people.size) {
    const found: PersonRecord[] = await loadPersonSettlementRefs(q, [...new Set(people.values())]);
    for (const f of found) records.set(f.psn_no, [...(records.get(f.psn_no) ?? []), f]);
  }
  return rows.map((r) => {
    const view = discrepancyView(r);
    view.subject_key = maskedSubjectKey(r.subject_key);
    const psn = people.get(r);
    view.evidence =
      psn !== undefined
        ? personYearEvidence(r.evidence as Evidence, records.get(psn) ?? [], client)
        : rowEvidence(r.evidence as Evidence, client);
    return view;
  });
}

function personYearEvidence(e: Evidence, records: readonly PersonRecord[], client: Client): Evidence {
  if (!e || typeof e !== 'object') return e;
  const own = records.filter((x) => inScope(client, x));
  const ownSetl = new Set(own.map((x) => x.setl_id));
  const ownMessages = new Set(own.map((x) => x.message_id));
  const out: Evidence = { ...e };
  let withheld = 0;
  if (Array.isArray(e.settlements)) {
    out.settlements = (e.settlements as Row[]).filter((s) => ownSetl.has(String(s.setl_id)));
    withheld += e.settlements.length - (out.settlements as Row[]).length;
  }
  if (Array.isArray(e.message_ids)) {
    out.message_ids = e.message_ids.filter((m) => ownMessages.has(m));
    if (!Array.isArray(e.settlements)) withheld += e.message_ids.length - out.message_ids.length;
  }
  if (withheld > 0) out.rows_withheld = withheld;
  return out;
}

/** Evidence rows of the matching findings (src/matching/finding.ts FindingEvidence), cut to the reader's own. */
function rowEvidence(e: Evidence, client: Client): Evidence {
  if (!e || typeof e !== 'object') return e;
  const out: Evidence = { ...e };
  let withheld = 0;
  const keep = (name: string, own: (x: Row) => boolean) => {
    const list = e[name];
    if (!Array.isArray(list)) return;
    const kept = (list as Row[]).filter(own);
    withheld += list.length - kept.length;
    out[name] = kept;
  };
  const party = (x: Row) =>
    inScope(client, { insurer_code: x.insurer_code as string, fixmedins_code: x.fixmedins_code as string });
  const sentByReader = (x: Row) =>
    client.role !== 'insurer' || inScope(client, { insurer_code: x.insurer_code as string });
  keep('settlements', party);
  keep('items', party);
  keep('lines', sentByReader);
  keep('recoveries', sentByReader);
  if (withheld === 0) return out;
  const ids = new Set<string>();
  for (const name of ['settlements', 'items', 'lines', 'recoveries'])
    for (const x of (out[name] as Row[] | undefined) ?? []) if (typeof x.message_id === 'string') ids.add(x.message_id);
  const batch = e.batch as Row | undefined;
  if (batch && typeof batch.message_id === 'string') ids.add(batch.message_id);
  out.message_ids = (e.message_ids ?? []).filter((m) => ids.has(m));
  out.rows_withheld = withheld;
  return out;
}
