/**
 * What matching reads from the ledger, one file: which settlements stored messages can change, and
 * everything known about those settlements.
 *
 * 1. Which settlements a message can change — the rule, written once. Re-evaluating exactly these
 *    after each message (plus the sweep for the clock) is what makes matching's final state
 *    independent of arrival order; the sweep asks it of the messages matching has not applied yet
 *    (sweep-read-model.ts), and the reconciliation report asks its first part of them, whose loop
 *    figures may be stale (owed-read-model.ts): both take its SQL pieces from here.
 *    - Loop facts (the settlement's own records, the payment lines naming it, its recoveries): what a
 *      settlement's loop figures are computed from (computeLoop, src/matching/rules/loop-state.ts).
 *    - Findings beyond the loop: every settlement of the same visit (DUPLICATE_REIMBURSEMENT is raised
 *      on the manual one, whichever of the two arrives last); a batch's items, the items of the batch
 *      it replaces (no longer current), and every settlement of the institution-periods of both
 *      (whether a batch of theirs has arrived changes RECORDED_NOT_DECLARED).
 * 2. The facts of MANY setl_ids at once, one query per table (`= ANY($1)`), mapped to the pure fact
 *    types of src/matching/rules/facts.ts. No personal data beyond psn_no is selected (names and
 *    certno never reach matching).
 */
import type { Sql } from '../db/db';
import type { BatchItemFact, PaymentLineFact, RecoveryFact, SettlementFact, SettlementInput } from '../matching/rules';
import { Money } from '../money';

// 1. Which settlements stored messages can change.

/** An institution-period: the group of DECLARATION_MISSING. */
export interface InstitutionPeriod {
  fixmedins_code: string;
  insurer_code: string;
  period: string;
}

/** The messages, as a CTE `pending (message_id)`, from a uuid[] parameter. */
export const pendingFrom = (param: string): string =>
  `pending AS MATERIALIZED (SELECT DISTINCT unnest(${param}::uuid[]) AS message_id)`;

/**
 * CTE `pending_batches`: the batches of the pending messages and the batches they replace (a CTE, so
 * their few rows drive the joins). Expects `pending`.
 */
export const PENDING_BATCHES = `
  pending_batches AS MATERIALIZED (
    SELECT b.batch_id, b.fixmedins_code, b.insurer_code, b.period FROM pending m JOIN batches b ON b.message_id = m.message_id
    UNION
    SELECT rb.batch_id, rb.fixmedins_code, rb.insurer_code, rb.period
      FROM pending m JOIN batches b ON b.message_id = m.message_id JOIN batches rb ON rb.fixmedins_code = b.fixmedins_code AND rb.batch_id = b.replaces_batch_id
  )`;

/** setl_ids whose loop facts a pending message brought (a SELECT of `setl_id`, with repeats). Expects `pending`. */
export const LOOP_FACTS_OF_PENDING = `
  SELECT s.setl_id FROM pending m JOIN settlement_records s ON s.message_id = m.message_id
  UNION ALL
  SELECT l.setl_id FROM pending m JOIN payments p ON p.message_id = m.message_id JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id
  UNION ALL
  SELECT r.setl_id FROM pending m JOIN recoveries r ON r.message_id = m.message_id`;

/**
 * setl_ids whose evaluation a pending message can change (a SELECT of `setl_id`, with repeats): the
 * loop facts, the same visit, the batches'. Expects `pending` and PENDING_BATCHES.
 */
export const SETTLEMENTS_OF_PENDING = `${LOOP_FACTS_OF_PENDING}
  UNION ALL
  SELECT s2.setl_id FROM pending m JOIN settlement_records s1 ON s1.message_id = m.message_id JOIN settlement_records s2 ON s2.mdtrt_id = s1.mdtrt_id
  UNION ALL
  SELECT i.setl_id FROM pending_batches b JOIN batch_items i ON i.fixmedins_code = b.fixmedins_code AND i.batch_id = b.batch_id
  UNION ALL
  SELECT s.setl_id FROM pending_batches b
    JOIN settlement_records s ON s.fixmedins_code = b.fixmedins_code AND s.insurer_code = b.insurer_code AND s.period = b.period`;

/** Institution-periods whose DECLARATION_MISSING a pending message can change: its records' and its batches'. */
const DECLARATIONS_OF_PENDING = `
  SELECT s.fixmedins_code, s.insurer_code, s.period FROM pending m JOIN settlement_records s ON s.message_id = m.message_id
  UNION
  SELECT fixmedins_code, insurer_code, period FROM pending_batches`;

/**
 * The same rule for the kinds whose messages bring loop facts and nothing else (a payment's lines, a
 * recovery): the settlements they name, read through the message's own index. The general query's
 * other parts find nothing for them (a message's rows are all of its kind), but its plan joins the
 * pending messages to every settlement record (planned as a scan of settlement_records, whose
 * message_id has a few thousand rows per feed message): 16 ms per payment batch at 10k settlements.
 */
const LOOP_FACTS_ONLY: Readonly<Record<string, string>> = {
  insurer_payment: `SELECT DISTINCT l.setl_id FROM payments p
      JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id WHERE p.message_id = ANY($1::uuid[])`,
  recovery: 'SELECT DISTINCT setl_id FROM recoveries WHERE message_id = ANY($1::uuid[])',
};

/**
 * What stored messages can change: the settlements to re-evaluate and the institution-periods (one
 * round trip). `kind`, when every message is of that kind, lets a payment or recovery take the short way.
 * `readAt`: the database's clock during the statement, after its snapshot (so after every commit the
 * read saw), as PostgreSQL prints it (exact to the microsecond); absent with no messages.
 */
export async function affectedByMessages(
  q: Sql,
  messageIds: readonly string[],
  kind?: string,
): Promise<{ setlIds: string[]; declarations: InstitutionPeriod[]; readAt?: string }> {
  if (!messageIds.length) return { setlIds: [], declarations: [] };
  const only = kind === undefined ? undefined : LOOP_FACTS_ONLY[kind];
  if (only) {
    const { rows } = await q.query<{ setl_id: string | null; read_at: string }>(
      `SELECT x.setl_id, c.read_at FROM (SELECT clock_timestamp()::text AS read_at) c LEFT JOIN (${only}) x ON true`,
      [messageIds],
      { name: `affected-by-${kind!}` },
    );
    return {
      setlIds: rows.flatMap((r) => (r.setl_id === null ? [] : [r.setl_id])),
      declarations: [],
      readAt: rows[0]!.read_at,
    };
  }
  const { rows } = await q.query<{
    setl_id: string | null;
    fixmedins_code: string | null;
    insurer_code: string | null;
    period: string | null;
    read_at: string;
  }>(
    `WITH ${pendingFrom('$1')}, ${PENDING_BATCHES}
     SELECT x.*, c.read_at FROM (SELECT clock_timestamp()::text AS read_at) c LEFT JOIN (
       SELECT DISTINCT setl_id, NULL AS fixmedins_code, NULL AS insurer_code, NULL AS period FROM (${SETTLEMENTS_OF_PENDING}) x
       UNION ALL
       SELECT NULL, fixmedins_code, insurer_code, period FROM (${DECLARATIONS_OF_PENDING}) d) x ON true`,
    [messageIds],
  );
  const setlIds: string[] = [];
  const declarations: InstitutionPeriod[] = [];
  for (const r of rows) {
    if (r.setl_id !== null) setlIds.push(r.setl_id);
    else if (r.fixmedins_code !== null)
      declarations.push({ fixmedins_code: r.fixmedins_code, insurer_code: r.insurer_code!, period: r.period! });
  }
  return { setlIds, declarations, readAt: rows[0]!.read_at };
}

// 2. The facts of the settlements.

/**
 * SQL condition: batch `b` is current (no other batch of its institution names it in
 * replaces_batch_id: batch ids are per institution, issue 13).
 */
export const CURRENT_BATCH = `NOT EXISTS (SELECT 1 FROM batches rb WHERE rb.fixmedins_code = b.fixmedins_code AND rb.replaces_batch_id = b.batch_id)`;

const SETTLEMENT_COLS = `setl_id, status, message_id, received_at, mdtrt_id, psn_no, insurer_code, fixmedins_code, insuplc_admdvs,
  setl_mode, setl_time, period, medfee_sumamt, hifp_pay, hifob_pay, hifmi_pay, cvlserv_pay, maf_pay, oth_pay`;

/** A settlement_records row as SETTLEMENT_COLS reads it (the fund read model reads the same columns and more). */
export interface SettlementRow {
  setl_id: string;
  status: 'valid' | 'reversed';
  message_id: string;
  received_at: Date;
  mdtrt_id: string;
  psn_no: string;
  insurer_code: string;
  fixmedins_code: string;
  insuplc_admdvs: string;
  setl_mode: 'direct' | 'manual';
  setl_time: Date;
  period: string;
  medfee_sumamt: string;
  hifp_pay: string;
  hifob_pay: string;
  hifmi_pay: string | null;
  cvlserv_pay: string | null;
  maf_pay: string | null;
  oth_pay: string | null;
}

export function toSettlement(r: SettlementRow): SettlementFact {
  const s: SettlementFact = {
    setl_id: r.setl_id,
    mdtrt_id: r.mdtrt_id,
    psn_no: r.psn_no,
    insurer_code: r.insurer_code,
    fixmedins_code: r.fixmedins_code,
    insuplc_admdvs: r.insuplc_admdvs,
    setl_mode: r.setl_mode,
    status: r.status,
    setl_time: r.setl_time,
    period: r.period,
    medfee_sumamt: Money.of(r.medfee_sumamt),
    hifp_pay: Money.of(r.hifp_pay),
    hifob_pay: Money.of(r.hifob_pay),
    message_id: r.message_id,
    received_at: r.received_at,
  };
  for (const k of ['hifmi_pay', 'cvlserv_pay', 'maf_pay', 'oth_pay'] as const) {
    const v = r[k];
    if (v !== null) s[k] = Money.of(v);
  }
  return s;
}

/** The latest state of each settlement: a reversal is final whatever order the two rows arrived in. */
function latestBySetlId(rows: SettlementRow[]): Map<string, SettlementFact> {
  const out = new Map<string, SettlementFact>();
  for (const r of rows) {
    const prev = out.get(r.setl_id);
    if (!prev || (prev.status === 'valid' && r.status === 'reversed')) out.set(r.setl_id, toSettlement(r));
  }
  return out;
}

/**
 * The SELECTs of each kind of fact for `setl_id = ANY($1::text[])`, shared by the single-kind loaders
 * below and by loadSettlementInputs (which reads them all in one statement). Amounts are read as text.
 */
const SETTLEMENT_ROWS = `SELECT ${SETTLEMENT_COLS} FROM settlement_records WHERE setl_id = ANY($1::text[])`;
/**
 * The ids as rows (each once), for the parts below to probe by: each part reads its table through
 * its setl_id index once per id, and each line's payment by its key (lateral subqueries the planner
 * keeps as they are: OFFSET 0), so a read costs what it finds. As `setl_id = ANY($1)` joins, the
 * planner read payment_lines and batch_items whole for a 1,000-id chunk once they held ~100k rows
 * (8-14 ms each, against 1.6-3 ms probed, in a 100k month), and payments whole into a hash per chunk
 * (1.6 of a 100-settlement chunk's 3 ms at 5,000 payments) — costs growing with the tables.
 */
const IDS = `(SELECT DISTINCT unnest($1::text[]) AS id) AS ids`;
const LINE_ROWS = `SELECT p.message_id, l.insurer_code, l.payment_id, l.line_no, p.payee_type, p.payee_id, p.pay_time, l.setl_id,
            l.paid_amount::text AS paid_amount, l.rejected_amount::text AS rejected_amount, l.reject_reason_code, p.received_at
       FROM ${IDS}
       CROSS JOIN LATERAL (SELECT l.insurer_code, l.payment_id, l.line_no, l.setl_id, l.paid_amount, l.rejected_amount, l.reject_reason_code
                             FROM payment_lines l WHERE l.setl_id = ids.id OFFSET 0) l
       CROSS JOIN LATERAL (SELECT p.message_id, p.payee_type, p.payee_id, p.pay_time, p.received_at FROM payments p
                            WHERE p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id OFFSET 0) p`;
const RECOVERY_ROWS = `SELECT r.message_id, r.insurer_code, r.recovery_id, r.setl_id, r.amount::text AS amount, r.recovered_at, r.received_at
       FROM ${IDS}
       CROSS JOIN LATERAL (SELECT message_id, insurer_code, recovery_id, setl_id, amount, recovered_at, received_at
                             FROM recoveries r WHERE r.setl_id = ids.id OFFSET 0) r`;
/** Items of current batches naming the setl_ids (a replaced batch's items no longer count). */
const ITEM_ROWS = `SELECT b.message_id, b.batch_id, b.fixmedins_code, b.insurer_code, b.period, i.setl_id, i.mdtrt_id, i.psn_no, i.setl_time,
            i.medfee_sumamt::text AS medfee_sumamt, i.hifob_pay::text AS hifob_pay, b.received_at
       FROM ${IDS}
       CROSS JOIN LATERAL (SELECT i.fixmedins_code, i.batch_id, i.setl_id, i.mdtrt_id, i.psn_no, i.setl_time, i.medfee_sumamt, i.hifob_pay
                             FROM batch_items i WHERE i.setl_id = ids.id OFFSET 0) i
       CROSS JOIN LATERAL (SELECT b.message_id, b.batch_id, b.fixmedins_code, b.insurer_code, b.period, b.received_at FROM batches b
                            WHERE b.fixmedins_code = i.fixmedins_code AND b.batch_id = i.batch_id AND ${CURRENT_BATCH} OFFSET 0) b`;

export async function loadSettlements(q: Sql, setlIds: readonly string[]): Promise<Map<string, SettlementFact>> {
  if (!setlIds.length) return new Map();
  const { rows } = await q.query<SettlementRow>(SETTLEMENT_ROWS, [setlIds]);
  return latestBySetlId(rows);
}

export interface LineRow {
  message_id: string;
  insurer_code: string;
  payment_id: string;
  line_no: number;
  payee_type: 'institution' | 'person';
  payee_id: string;
  pay_time: Date;
  setl_id: string;
  paid_amount: string;
  rejected_amount: string;
  reject_reason_code: string | null;
  received_at: Date;
}

export function toLine(r: LineRow): PaymentLineFact {
  const f: PaymentLineFact = {
    message_id: r.message_id,
    insurer_code: r.insurer_code,
    payment_id: r.payment_id,
    // stored 0-based (the index in `lines`); facts and subject keys are 1-based positions
    line_no: Number(r.line_no) + 1,
    payee_type: r.payee_type,
    payee_id: r.payee_id,
    pay_time: r.pay_time,
    setl_id: r.setl_id,
    paid_amount: Money.of(r.paid_amount),
    rejected_amount: Money.of(r.rejected_amount),
    received_at: r.received_at,
  };
  if (r.reject_reason_code !== null) f.reject_reason_code = r.reject_reason_code;
  return f;
}

export async function loadLines(q: Sql, setlIds: readonly string[]): Promise<PaymentLineFact[]> {
  if (!setlIds.length) return [];
  return (await q.query<LineRow>(LINE_ROWS, [setlIds])).rows.map(toLine);
}

interface RecoveryRow {
  message_id: string;
  insurer_code: string;
  recovery_id: string;
  setl_id: string;
  amount: string;
  recovered_at: Date;
  received_at: Date;
}

const toRecovery = (r: RecoveryRow): RecoveryFact => ({ ...r, amount: Money.of(r.amount) });

export async function loadRecoveries(q: Sql, setlIds: readonly string[]): Promise<RecoveryFact[]> {
  if (!setlIds.length) return [];
  return (await q.query<RecoveryRow>(RECOVERY_ROWS, [setlIds])).rows.map(toRecovery);
}

interface ItemRow {
  message_id: string;
  batch_id: string;
  fixmedins_code: string;
  insurer_code: string;
  period: string;
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  setl_time: Date;
  medfee_sumamt: string;
  hifob_pay: string;
  received_at: Date;
}

const toItem = (r: ItemRow): BatchItemFact => ({
  ...r,
  medfee_sumamt: Money.of(r.medfee_sumamt),
  hifob_pay: Money.of(r.hifob_pay),
});

export interface BatchRef {
  batch_id: string;
  message_id: string;
  received_at: Date;
}

/** Key of an institution-period: (fixmedins_code, insurer_code, period). */
export const declKey = (fixmedins: string, insurer: string, period: string): string =>
  `${fixmedins}\u0000${insurer}\u0000${period}`;

/** The latest state of each settlement of `rows` among `ids`, and grouped by mdtrt_id the latest state of every settlement of their visits. */
function settlementsAndVisits(
  rows: SettlementRow[],
  ids: readonly string[],
): { settlements: Map<string, SettlementFact>; byMdtrt: Map<string, SettlementFact[]> } {
  const wanted = new Set(ids);
  const settlements = latestBySetlId(rows.filter((r) => wanted.has(r.setl_id)));
  const visits = new Set([...settlements.values()].map((s) => s.mdtrt_id));
  const byMdtrt = new Map<string, SettlementFact[]>();
  for (const s of latestBySetlId(rows.filter((r) => visits.has(r.mdtrt_id))).values()) {
    const group = byMdtrt.get(s.mdtrt_id);
    if (group) group.push(s);
    else byMdtrt.set(s.mdtrt_id, [s]);
  }
  return { settlements, byMdtrt };
}

/** JSON gives timestamps as text: the named fields of each row back to Dates. */
function withDates<T>(rows: Record<string, unknown>[] | null, fields: readonly string[]): T[] {
  return (rows ?? []).map((r) => {
    for (const f of fields) if (r[f] !== null) r[f] = new Date(r[f] as string);
    return r as T;
  });
}

/** A column of a part of the combined read: text (amounts as numeric text), or a timestamp. */
type PartCol = readonly [name: string, kind: 'text' | 'time'];
const t = (name: string): PartCol => [name, 'text'];
const time = (name: string): PartCol => [name, 'time'];

/** The parts of the combined read: each one's rows (a SELECT with these columns) and its columns. */
const PARTS = {
  settlements: {
    from: 'visit_rows',
    cols: [
      t('setl_id'),
      t('status'),
      t('message_id'),
      time('received_at'),
      t('mdtrt_id'),
      t('psn_no'),
      t('insurer_code'),
      t('fixmedins_code'),
      t('insuplc_admdvs'),
      t('setl_mode'),
      time('setl_time'),
      t('period'),
      t('medfee_sumamt'),
      t('hifp_pay'),
      t('hifob_pay'),
      t('hifmi_pay'),
      t('cvlserv_pay'),
      t('maf_pay'),
      t('oth_pay'),
    ],
  },
  lines: {
    from: `(${LINE_ROWS})`,
    cols: [
      t('message_id'),
      t('insurer_code'),
      t('payment_id'),
      t('line_no'),
      t('payee_type'),
      t('payee_id'),
      time('pay_time'),
      t('setl_id'),
      t('paid_amount'),
      t('rejected_amount'),
      t('reject_reason_code'),
      time('received_at'),
    ],
  },
  recoveries: {
    from: `(${RECOVERY_ROWS})`,
    cols: [
      t('message_id'),
      t('insurer_code'),
      t('recovery_id'),
      t('setl_id'),
      t('amount'),
      time('recovered_at'),
      time('received_at'),
    ],
  },
  items: {
    from: `(${ITEM_ROWS})`,
    cols: [
      t('message_id'),
      t('batch_id'),
      t('fixmedins_code'),
      t('insurer_code'),
      t('period'),
      t('setl_id'),
      t('mdtrt_id'),
      t('psn_no'),
      time('setl_time'),
      t('medfee_sumamt'),
      t('hifob_pay'),
      time('received_at'),
    ],
  },
  batches: {
    from: 'current_batches',
    cols: [t('fixmedins_code'), t('insurer_code'), t('period'), t('batch_id'), t('message_id'), time('received_at')],
  },
} as const satisfies Record<string, { from: string; cols: readonly PartCol[] }>;
type PartName = keyof typeof PARTS;

/**
 * The CTEs every part reads from: the visits' settlement rows and the current batches of their
 * institution-periods. The visits' mdtrt_ids are an array (ARRAY(...)), not an `IN (subquery)`: as a
 * semi join the planner hashed them and scanned the whole of settlement_records while it held fewer
 * than ~100k rows (a chunk of 180 ids: 5-6 ms against ~1 ms of index probes).
 */
const INPUTS_CTES = `
  WITH visit_rows AS MATERIALIZED (
         SELECT ${SETTLEMENT_COLS} FROM settlement_records
          WHERE mdtrt_id = ANY (ARRAY(SELECT mdtrt_id FROM settlement_records WHERE setl_id = ANY($1::text[])))),
       keys AS (SELECT DISTINCT fixmedins_code, insurer_code, period FROM visit_rows WHERE setl_id = ANY($1::text[])),
       current_batches AS (
         SELECT DISTINCT ON (b.fixmedins_code, b.insurer_code, b.period) b.fixmedins_code, b.insurer_code, b.period, b.batch_id, b.message_id, b.received_at
           FROM batches b JOIN keys k USING (fixmedins_code, insurer_code, period)
          WHERE ${CURRENT_BATCH}
          ORDER BY b.fixmedins_code, b.insurer_code, b.period, b.batch_id)`;

// The text form: a part's rows joined by \x1e, a row's values by \x1f, NULL as \x1d, timestamps as epoch
// milliseconds. Every value read is an id, code, enum, period, number or uuid whose schema allows no
// control character; a value holding a separator anyway would change a row's count of values, which
// decodeText checks: then the chunk is read again in the JSON form (one statement either way).
const ROW = '\x1e',
  VALUE = '\x1f',
  NULL = '\x1d';
const textValue = ([name, kind]: PartCol): string =>
  kind === 'time'
    ? `coalesce(floor(extract(epoch FROM x.${name}) * 1000)::bigint::text, E'\\x1d')`
    : `coalesce(x.${name}::text, E'\\x1d')`;
const textPart = (p: { from: string; cols: readonly PartCol[] }): string =>
  `(SELECT string_agg(concat_ws(E'\\x1f', ${p.cols.map(textValue).join(', ')}), E'\\x1e') FROM ${p.from} x)`;
const jsonPart = (p: { from: string; cols: readonly PartCol[] }): string =>
  `(SELECT json_agg(json_build_object(${p.cols
    .map(([c, kind]) => `'${c}', ${kind === 'time' ? `x.${c}` : `x.${c}::text`}`)
    .join(', ')})) FROM ${p.from} x)`;
const partNames = Object.keys(PARTS) as PartName[];

/**
 * Everything known about the setl_ids, read in ONE statement so that it is one snapshot: read as
 * separate statements, a batch committed between the read of the items and the read of the batches
 * looked like a batch that leaves the settlement out (a RECORDED_NOT_DECLARED opened and resolved
 * again), and a settlement committed between the read of the settlements and of the lines like a
 * payment for an unknown settlement. Each part is the same SELECT the single-kind loaders run:
 * - every settlement row of the visits of the ids (each id's own rows among them);
 * - the payment lines, recoveries and current batches' items naming the ids;
 * - the current batch of each institution-period of the ids' rows; when several are current (two
 *   batches, neither replacing the other) the smallest batch_id, so the choice never depends on
 *   arrival order.
 * Each part comes as one text value (the text form above): json_agg of the rows as objects cost
 * PostgreSQL 2-3x the separate statements' CPU (a 20k month's chunks: 550-780 against 250-330 ms),
 * the text form about what the separate statements cost.
 */
const INPUTS_SQL = {
  text: `${INPUTS_CTES}
  SELECT ${partNames.map((n) => `${textPart(PARTS[n])} AS ${n}`).join(',\n         ')}`,
  json: `${INPUTS_CTES}
  SELECT ${partNames.map((n) => `${jsonPart(PARTS[n])} AS ${n}`).join(',\n         ')}`,
};

class NotText extends Error {}

/** A part in the text form back to rows (NotText when a row does not have its columns' count of values). */
function decodeText(text: string | null, cols: readonly PartCol[]): Record<string, unknown>[] {
  if (text === null) return [];
  return text.split(ROW).map((line) => {
    const v = line.split(VALUE);
    if (v.length !== cols.length) throw new NotText();
    const r: Record<string, unknown> = {};
    for (let k = 0; k < cols.length; k++) {
      const [name, kind] = cols[k]!;
      const x = v[k]!;
      r[name] = x === NULL ? null : kind === 'time' ? new Date(Number(x)) : x;
    }
    return r;
  });
}

type Parts = Record<PartName, Record<string, unknown>[]>;

/** The combined read: the text form, or (a value held a separator) the JSON form. */
async function readParts(q: Sql, ids: readonly string[]): Promise<Parts> {
  const row = (await q.query<Record<PartName, string | null>>(INPUTS_SQL.text, [ids], { name: 'fact-loader-inputs' }))
    .rows[0]!;
  try {
    return Object.fromEntries(partNames.map((n) => [n, decodeText(row[n], PARTS[n].cols)])) as Parts;
  } catch (e) {
    if (!(e instanceof NotText)) throw e;
  }
  const json = (await q.query<Record<PartName, Record<string, unknown>[] | null>>(INPUTS_SQL.json, [ids])).rows[0]!;
  return Object.fromEntries(
    partNames.map((n) => [
      n,
      withDates(
        json[n],
        PARTS[n].cols.filter(([, kind]) => kind === 'time').map(([c]) => c),
      ),
    ]),
  ) as Parts;
}

/** Everything known about each setl_id: the input of evaluateSettlement, one per id asked for. */
export async function loadSettlementInputs(q: Sql, setlIds: readonly string[]): Promise<Map<string, SettlementInput>> {
  const ids = [...new Set(setlIds)];
  const out = new Map<string, SettlementInput>();
  for (const id of ids) out.set(id, { setl_id: id, lines: [], recoveries: [], declaredItems: [], sameMdtrt: [] });
  if (!ids.length) return out;
  const parts = await readParts(q, ids);
  const { settlements, byMdtrt: siblings } = settlementsAndVisits(parts.settlements as unknown as SettlementRow[], ids);
  const batches = new Map(
    (parts.batches as unknown as (BatchRef & { fixmedins_code: string; insurer_code: string; period: string })[]).map(
      (b) => [
        declKey(b.fixmedins_code, b.insurer_code, b.period),
        { batch_id: b.batch_id, message_id: b.message_id, received_at: b.received_at },
      ],
    ),
  );
  for (const l of parts.lines as unknown as LineRow[]) out.get(l.setl_id)?.lines.push(toLine(l));
  for (const r of parts.recoveries as unknown as RecoveryRow[]) out.get(r.setl_id)?.recoveries.push(toRecovery(r));
  for (const i of parts.items as unknown as ItemRow[]) out.get(i.setl_id)?.declaredItems.push(toItem(i));
  for (const s of settlements.values()) {
    const input = out.get(s.setl_id)!;
    input.settlement = s;
    input.sameMdtrt = (siblings.get(s.mdtrt_id) ?? []).filter((o) => o.setl_id !== s.setl_id);
    const batch = batches.get(declKey(s.fixmedins_code, s.insurer_code, s.period));
    if (batch) input.declarationReceived = batch;
  }
  return out;
}
