/**
 * The wire form of GET /v1/settlements/{setl_id}'s parts (the rows come from
 * ledger/settlement-read-model.ts): the record with spec §6 masking and its reversal, and the payment
 * lines as an institution may see them. Amounts as strings, times in CST.
 */
import { Money } from '../money';
import { toCstIso } from '../time';
import { RECORD_AMOUNTS, RECORD_FIELDS, type RecordRow } from '../ledger/settlement-read-model';

/** The record's wire form; `mask` replaces certno and psn_name (spec §6 masking) for those not entitled to them. */
export function recordView(
  rows: RecordRow[],
  mask: { certno: (s: string | null) => string | undefined; name: (s: string | null) => string | undefined } | null,
): Record<string, unknown> {
  const r = rows[0]!;
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) {
    const v = r[f];
    if (v === null || v === undefined) continue;
    if ((RECORD_AMOUNTS as readonly string[]).includes(f)) out[f] = Money.of(v as string).toString();
    else if (v instanceof Date) out[f] = toCstIso(v);
    else out[f] = v;
  }
  if (mask) {
    const certno = mask.certno(r.certno),
      name = mask.name(r.psn_name);
    if (certno === undefined) delete out.certno;
    else out.certno = certno;
    if (name === undefined) delete out.psn_name;
    else out.psn_name = name;
  }
  const reversal = rows.find((x) => x.status === 'reversed');
  const original = rows.find((x) => x.status === 'valid');
  if (reversal && original)
    out.reversal = { message_id: reversal.message_id, received_at: toCstIso(reversal.received_at) };
  if (original && reversal) {
    out.message_id = original.message_id;
    out.received_at = toCstIso(original.received_at);
  }
  return out;
}

/**
 * Payment lines as an institution may see them (issue 13): a payment made to another payee (another
 * institution, or a person) keeps what concerns this settlement — who paid whom, when, and how much
 * of it for this settlement (paid_amount, rejected_amount) — but not that payment's bank_txn_no, its
 * pay_amount (the whole transfer, other settlements included) or its message_id. Its own payments,
 * and every line for the other roles (an insurer reads only its own), are unchanged. The loop's
 * figures are computed from the facts, not from this view.
 */
export function paymentLinesFor(
  lines: Record<string, unknown>[],
  viewer: { role: string; scope: readonly string[] },
): Record<string, unknown>[] {
  if (viewer.role !== 'institution') return lines;
  return lines.map((l) => {
    if (l.payee_type === 'institution' && viewer.scope.includes(String(l.payee_id))) return l;
    const { bank_txn_no: _b, pay_amount: _p, message_id: _m, ...rest } = l;
    return rest;
  });
}
