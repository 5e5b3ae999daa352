/**
 * What the fund-year statement (src/fund/statement-service.ts, spec §8) reads of the ledger: a
 * region's settlements of a time window (with the benefit engine's fields), the direct settlements
 * that make a manual one of them a duplicate, and the payment lines and recoveries naming them —
 * mapped to the pure fact types of matching, cut to the two clocks of spec §5 (received by known_at;
 * paid, recovered by as_of). Premium income is the reconciliation's disbursement attribution
 * (report-read-model.ts `disbursedByInsurer`, the rule of `insurerFigures`), period by period, so a disbursement counts for the same
 * region in both.
 */
import type { Sql } from '../db/db';
import type { PaymentLineFact, RecoveryFact, SettlementFact } from '../matching/rules';
import { Money } from '../money';
import { disbursedByInsurer } from './report-read-model';
import { toLine, toSettlement, type LineRow, type SettlementRow } from './fact-loader';

/** A settlement with the benefit engine's fields (setldetail as stored: the JSON sent). */
export interface FundSettlementRow extends SettlementFact {
  mdtrtarea_admvs: string;
  referral: boolean;
  setldetail:
    | { fund_pay_type: string; inscp_scp_amt: string | number; fund_payamt: string | number; seg?: string | null }[]
    | null;
}

interface Row extends SettlementRow {
  mdtrtarea_admvs: string;
  setldetail: FundSettlementRow['setldetail'];
  referral: boolean | null;
}

const COLUMNS = `r.setl_id, r.status, r.message_id::text, r.received_at, r.mdtrt_id, r.psn_no, r.insurer_code, r.fixmedins_code,
  r.insuplc_admdvs, r.mdtrtarea_admvs, r.setl_mode, r.setl_time, r.period, r.medfee_sumamt, r.hifp_pay, r.hifob_pay, r.hifmi_pay,
  r.cvlserv_pay, r.maf_pay, r.oth_pay, r.setldetail, r.referral`;

/** Rows ordered by setl_id, the valid row first, to one settlement each: a reversal is final. */
function merge(rows: readonly Row[]): FundSettlementRow[] {
  const out: FundSettlementRow[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.setl_id === r.setl_id) {
      if (r.status === 'reversed') last.status = 'reversed';
      continue;
    }
    // The fact every matching rule reads, plus what the benefit engine needs (no second mapping of the row).
    const s = toSettlement(r) as FundSettlementRow;
    s.mdtrtarea_admvs = r.mdtrtarea_admvs;
    s.referral = r.referral === true;
    s.setldetail = r.setldetail;
    out.push(s);
  }
  return out;
}

/**
 * The settlements under the admdvs LIKE patterns with a row whose setl_time lies in [from, to),
 * each in its latest state among the rows received by known_at. With `psnNos`: only those with a row
 * naming one of these persons (the statement reads a region-year person by person, since a benefit year
 * needs a person's settlements together; the caller keeps those whose merged state names one of them).
 */
export async function loadWindowSettlements(
  q: Sql,
  o: { admdvsLike: readonly string[]; from: Date; to: Date; knownAt: Date; psnNos?: readonly string[] },
): Promise<FundSettlementRow[]> {
  const ids = o.psnNos
    ? `SELECT setl_id FROM settlement_records
        WHERE setl_id IN (SELECT setl_id FROM settlement_records WHERE psn_no = ANY($5::text[]) AND received_at <= $4) AND received_at <= $4
        GROUP BY setl_id HAVING bool_or(insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3)`
    : `SELECT DISTINCT setl_id FROM settlement_records
        WHERE insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3 AND received_at <= $4`;
  const { rows } = await q.query<Row>(
    `WITH ids AS (${ids})
     SELECT ${COLUMNS} FROM settlement_records r JOIN ids USING (setl_id)
      WHERE r.received_at <= $4 ORDER BY r.setl_id, r.status DESC`,
    [o.admdvsLike, o.from, o.to, o.knownAt, ...(o.psnNos ? [o.psnNos] : [])],
  );
  return merge(rows);
}

/** Every person named by a row (received by known_at) of the settlements loadWindowSettlements reads, in psn_no order. */
export async function loadWindowPersons(
  q: Sql,
  o: { admdvsLike: readonly string[]; from: Date; to: Date; knownAt: Date },
): Promise<string[]> {
  const { rows } = await q.query<{ psn_no: string }>(
    `WITH ids AS (
       SELECT DISTINCT setl_id FROM settlement_records
        WHERE insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3 AND received_at <= $4)
     SELECT DISTINCT r.psn_no FROM settlement_records r JOIN ids USING (setl_id) WHERE r.received_at <= $4 ORDER BY r.psn_no`,
    [o.admdvsLike, o.from, o.to, o.knownAt],
  );
  return rows.map((r) => r.psn_no);
}

/** Settlements (latest state by known_at) of these mdtrt_ids, other than the given setl_ids. */
export async function loadMdtrtSiblings(
  q: Sql,
  mdtrtIds: readonly string[],
  except: ReadonlySet<string>,
  knownAt: Date,
): Promise<SettlementFact[]> {
  if (!mdtrtIds.length) return [];
  const { rows } = await q.query<Row>(
    `SELECT ${COLUMNS} FROM settlement_records r WHERE r.mdtrt_id = ANY($1::text[]) AND r.received_at <= $2 ORDER BY r.setl_id, r.status DESC`,
    [mdtrtIds, knownAt],
  );
  return merge(rows).filter((s) => !except.has(s.setl_id));
}

/** Payment lines naming the setl_ids, paid by as_of and received by known_at. */
export async function loadPaidLines(
  q: Sql,
  setlIds: readonly string[],
  o: { asOf: Date; knownAt: Date },
): Promise<PaymentLineFact[]> {
  if (!setlIds.length) return [];
  const { rows } = await q.query<LineRow>(
    `SELECT p.message_id::text, p.insurer_code, p.payment_id, l.line_no, p.payee_type, p.payee_id, p.pay_time, l.setl_id,
            l.paid_amount, l.rejected_amount, l.reject_reason_code, p.received_at
       FROM payment_lines l JOIN payments p USING (insurer_code, payment_id)
      WHERE l.setl_id = ANY($1::text[]) AND p.pay_time <= $2 AND p.received_at <= $3`,
    [setlIds, o.asOf, o.knownAt],
  );
  return rows.map(toLine);
}

/** Recoveries naming the setl_ids, recovered by as_of and received by known_at. */
export async function loadRecoveredAmounts(
  q: Sql,
  setlIds: readonly string[],
  o: { asOf: Date; knownAt: Date },
): Promise<RecoveryFact[]> {
  if (!setlIds.length) return [];
  const { rows } = await q.query<{
    message_id: string;
    insurer_code: string;
    recovery_id: string;
    setl_id: string;
    amount: string;
    recovered_at: Date;
    received_at: Date;
  }>(
    `SELECT message_id::text, insurer_code, recovery_id, setl_id, amount, recovered_at, received_at FROM recoveries
      WHERE setl_id = ANY($1::text[]) AND recovered_at <= $2 AND received_at <= $3`,
    [setlIds, o.asOf, o.knownAt],
  );
  return rows.map((r) => ({ ...r, amount: Money.of(r.amount) }));
}

export interface AttributedDisbursement {
  insurer_code: string;
  period: string;
  disbursement_id: string;
  message_id: string;
  amount: string;
}

/** The disbursements of these periods attributed to the region (as the reconciliation report attributes them). */
export async function attributedDisbursements(
  q: Sql,
  o: { admdvs: string; periods: readonly string[]; asOf: Date; knownAt: Date },
): Promise<AttributedDisbursement[]> {
  const out: AttributedDisbursement[] = [];
  for (const period of o.periods) {
    for (const r of await disbursedByInsurer(q, { admdvs: o.admdvs, period, asOf: o.asOf, knownAt: o.knownAt })) {
      for (const d of (r.disbursements ?? []) as { disbursement_id: string; message_id: string; amount: string }[]) {
        out.push({
          insurer_code: r.insurer_code,
          period,
          disbursement_id: d.disbursement_id,
          message_id: String(d.message_id),
          amount: String(d.amount),
        });
      }
    }
  }
  return out;
}

/** One part of a region-year's settlements as forEachSettlementPart reads it: whole persons, with their lines and recoveries. */
export interface SettlementPart {
  settlements: FundSettlementRow[];
  lines: PaymentLineFact[];
  recoveries: RecoveryFact[];
}

interface PartRow extends Row {
  owner: string;
  rk: string | number;
  /** The settlement's payment lines come one a row (on its first row only); null columns when it has none. */
  l_message_id: string | null;
  l_insurer_code: string;
  l_payment_id: string | null;
  l_line_no: number;
  l_payee_type: 'institution' | 'person';
  l_payee_id: string;
  l_pay_time: Date;
  l_paid_amount: string;
  l_rejected_amount: string;
  l_reject_reason_code: string | null;
  l_received_at: Date;
  /** Recoveries are rare: aggregated per settlement (repeated on each of its first row's line rows). */
  recoveries:
    | {
        message_id: string;
        insurer_code: string;
        recovery_id: string;
        amount: string;
        recovered_at: string;
        received_at: string;
      }[]
    | null;
}

/** Rows fetched from the cursor per round trip. */
const FETCH_ROWS = 20_000;

/**
 * The settlements loadWindowSettlements reads (all of the window), each with its payment lines and
 * recoveries (as loadPaidLines / loadRecoveredAmounts read them), in ONE query read through a cursor
 * in order of the person their merged state names, and handed to `onPart` `personsPerPart` whole
 * persons at a time (a benefit year needs a person's settlements together). One plan for the whole
 * region-year instead of four index-driven queries per part (bench/RESULTS.md, fund-year statement).
 * Must run in a transaction (the cursor lives in it).
 */
export async function forEachSettlementPart(
  q: Sql,
  o: { admdvsLike: readonly string[]; from: Date; to: Date; knownAt: Date; asOf: Date },
  personsPerPart: number,
  onPart: (part: SettlementPart) => Promise<void> | void,
): Promise<void> {
  const cursor = `fund_parts_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  // Planned for the whole result (not the first 10% a cursor is planned for by default), without JIT
  // (its compilation can cost more than the plan), with room for the sorts; the settings are put back after.
  const settings: Array<[string, string]> = [
    ['cursor_tuple_fraction', '1'],
    ['jit', 'off'],
    ['work_mem', '256MB'],
  ];
  const before = (
    await q.query<{ v: string[] }>(
      `SELECT ARRAY[${settings.map((_, i) => `current_setting($${i + 1})`).join(', ')}] AS v`,
      settings.map(([k]) => k),
    )
  ).rows[0]!.v;
  const set = async (values: readonly string[]) => {
    await q.query(
      `SELECT ${settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
      settings.flatMap(([k], i) => [k, values[i]!]),
    );
  };
  await set(settings.map(([, v]) => v));
  await q.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR
     WITH ids AS (
       SELECT DISTINCT setl_id FROM settlement_records
        WHERE insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3 AND received_at <= $4),
     pl AS (
       SELECT l.setl_id, p.message_id::text AS l_message_id, p.insurer_code AS l_insurer_code, p.payment_id AS l_payment_id, l.line_no AS l_line_no,
              p.payee_type AS l_payee_type, p.payee_id AS l_payee_id, p.pay_time AS l_pay_time, l.paid_amount::text AS l_paid_amount,
              l.rejected_amount::text AS l_rejected_amount, l.reject_reason_code AS l_reject_reason_code, p.received_at AS l_received_at
         FROM payment_lines l JOIN payments p USING (insurer_code, payment_id)
        WHERE p.pay_time <= $5 AND p.received_at <= $4),
     rc AS (
       SELECT c.setl_id, json_agg(json_build_object('message_id', c.message_id::text, 'insurer_code', c.insurer_code, 'recovery_id', c.recovery_id,
                'amount', c.amount::text, 'recovered_at', c.recovered_at, 'received_at', c.received_at)) AS recoveries
         FROM recoveries c JOIN ids USING (setl_id)
        WHERE c.recovered_at <= $5 AND c.received_at <= $4 GROUP BY c.setl_id),
     rs AS (
       SELECT ${COLUMNS}, first_value(r.psn_no) OVER w AS owner, row_number() OVER w AS rk
         FROM settlement_records r JOIN ids USING (setl_id) WHERE r.received_at <= $4
       WINDOW w AS (PARTITION BY r.setl_id ORDER BY r.status DESC))
     SELECT rs.*, pl.l_message_id, pl.l_insurer_code, pl.l_payment_id, pl.l_line_no, pl.l_payee_type, pl.l_payee_id, pl.l_pay_time,
            pl.l_paid_amount, pl.l_rejected_amount, pl.l_reject_reason_code, pl.l_received_at, rc.recoveries
       FROM rs LEFT JOIN pl ON pl.setl_id = rs.setl_id AND rs.rk = 1 LEFT JOIN rc ON rc.setl_id = rs.setl_id AND rs.rk = 1
      ORDER BY rs.owner, rs.setl_id, rs.rk`,
    [o.admdvsLike, o.from, o.to, o.knownAt, o.asOf],
  );
  let pending: PartRow[] = [];
  const flush = async (rows: PartRow[]) => {
    if (!rows.length) return;
    const lines: PaymentLineFact[] = [];
    const recoveries: RecoveryFact[] = [];
    let last: string | undefined;
    for (const r of rows) {
      if (r.l_payment_id !== null) {
        const f: PaymentLineFact = {
          message_id: r.l_message_id!,
          insurer_code: r.l_insurer_code,
          payment_id: r.l_payment_id,
          line_no: Number(r.l_line_no) + 1,
          payee_type: r.l_payee_type,
          payee_id: r.l_payee_id,
          pay_time: r.l_pay_time,
          setl_id: r.setl_id,
          paid_amount: Money.of(r.l_paid_amount),
          rejected_amount: Money.of(r.l_rejected_amount),
          received_at: r.l_received_at,
        };
        if (r.l_reject_reason_code !== null) f.reject_reason_code = r.l_reject_reason_code;
        lines.push(f);
      }
      if (r.setl_id === last) continue; // the recoveries ride on each line row of a settlement: take them once
      last = r.setl_id;
      for (const c of r.recoveries ?? []) {
        recoveries.push({
          message_id: c.message_id,
          insurer_code: c.insurer_code,
          recovery_id: c.recovery_id,
          setl_id: r.setl_id,
          amount: Money.of(c.amount),
          recovered_at: new Date(c.recovered_at),
          received_at: new Date(c.received_at),
        });
      }
    }
    await onPart({ settlements: merge(rows), lines, recoveries });
  };
  try {
    for (;;) {
      const { rows } = await q.query<PartRow>(`FETCH ${FETCH_ROWS} FROM ${cursor}`);
      const done = rows.length < FETCH_ROWS;
      pending = pending.length ? pending.concat(rows) : rows;
      // Hand over whole persons, personsPerPart at a time; the last person may continue in the next fetch.
      let start = 0;
      let persons = 0;
      for (let i = 0; i < pending.length; i++) {
        if (i > 0 && pending[i]!.owner !== pending[i - 1]!.owner) {
          persons++;
          if (persons >= personsPerPart) {
            await flush(pending.slice(start, i));
            start = i;
            persons = 0;
          }
        }
      }
      pending = pending.slice(start);
      if (done) break;
    }
    await flush(pending);
  } finally {
    // Best effort: in a transaction already aborted, the rollback closes it.
    await q.query(`CLOSE ${cursor}`).catch(() => undefined);
    await set(before).catch(() => undefined);
  }
}
