/**
 * What the owed settlements of a region-period come to, in SQL: the loop arithmetic of computeLoop
 * (src/matching/rules/loop-state.ts) restated for speed, since the reconciliation report computes a
 * month in the database. test/e2e/rules-sql-agree.test.ts runs both on generated months and compares
 * every figure to the fen: change one, change the other.
 *
 * Owed settlements (spec §4: valid with hifob_pay > 0) of the region-period, and what the owing
 * insurer paid and rejected (with a reason code) to the right payee (direct → the institution,
 * manual → the person), and recovered; outstanding = max(owed − paid − rejected, 0). Lines from
 * another insurer or to another payee do not reduce what is owed (they are INSURER_MISMATCH /
 * PAYEE_MISMATCH cases of the matching module). Every fact counts only if received by known_at, every
 * payment and recovery only if made by as_of (spec §5, the two clocks) — what computeLoop returns for
 * the facts known at known_at whose events happened by as_of.
 *
 * Two ways to the same figures per institution (`recorded (fixmedins_code, cnt, hifob, direct_cnt,
 * direct_hifob, paid, rejected, recovered, outstanding)`, a CTE for report-read-model.ts):
 * - from the loop rows (a run's usual case): the amounts of the settlement's loop row
 *   (settlement_loops, computeLoop from all the facts), which the run's sweep has just brought up to
 *   date. One hash join of the month with its loop rows instead of joining its payment lines and
 *   payments again. Recomputed from the facts, by key, are the few settlements whose loop row can
 *   differ from the report's figures: no loop row (never evaluated); a reversed loop row (the
 *   reversal may be unknown at known_at); and UNSETTLED — a loop fact of a message matching has not
 *   applied yet (fact-loader.ts), or a payment or recovery the report does not count
 *   (received after known_at, paid or recovered after as_of). A settlement record received after
 *   known_at is either the valid row (left out) or a reversal (a reversed loop row).
 * - from the facts: the whole month in one set-based pass — when UNSETTLED is large (a run as of a
 *   time before most payments were made), and for a report-only run (no sweep).
 *
 * Parameters of the CTEs: $1 admdvs LIKE pattern ('5331%'), $2 period, $3 known_at, $4 as_of.
 */
import type { Sql } from '../db/db';
import { LOOP_FACTS_OF_PENDING, pendingFrom } from './fact-loader';

/** Above this many UNSETTLED settlements, the facts (one pass) beat recomputing by key. */
export const RECOMPUTE_MAX = 20_000;

/** A region-period as known at `knownAt` and as of `asOf` (spec §5). */
export interface OwedQuery {
  admdvs: string;
  period: string;
  knownAt: Date;
  asOf: Date;
}

/** Paid, rejected and recovered of the settlements of a CTE `owed`, from the facts. */
const SUMS = `
  line_sums AS (
    SELECT o.setl_id, sum(o.paid_amount) AS paid,
           sum(CASE WHEN o.reject_reason_code IS NOT NULL AND o.reject_reason_code <> '' THEN o.rejected_amount ELSE 0 END) AS rejected
      FROM owed_lines o
      JOIN payments p ON p.insurer_code = o.insurer_code AND p.payment_id = o.payment_id
     WHERE p.pay_time <= $4 AND p.received_at <= $3
       -- The right payee (direct → the institution, manual → the person) as equalities, not an OR
       -- of two cases, which PostgreSQL estimates at 1% and plans around. setl_mode is direct or
       -- manual (CHECK), so both forms select the same lines.
       AND p.payee_type = CASE o.setl_mode WHEN 'direct' THEN 'institution' ELSE 'person' END
       AND p.payee_id = CASE o.setl_mode WHEN 'direct' THEN o.fixmedins_code ELSE o.psn_no END
     GROUP BY o.setl_id
  ),
  recovery_sums AS (
    SELECT o.setl_id, sum(r.amount) AS recovered
      FROM owed o JOIN recoveries r ON r.setl_id = o.setl_id AND r.insurer_code = o.insurer_code
     WHERE r.recovered_at <= $4 AND r.received_at <= $3
     GROUP BY o.setl_id
  ),
  per_settlement AS (
    SELECT o.setl_id, o.fixmedins_code, o.insurer_code, o.admdvs, o.setl_time, o.setl_mode, o.hifob_pay,
           coalesce(l.paid, 0) AS paid, coalesce(l.rejected, 0) AS rejected, coalesce(r.recovered, 0) AS recovered
      FROM owed o LEFT JOIN line_sums l USING (setl_id) LEFT JOIN recovery_sums r USING (setl_id)
  )`;

/**
 * The lines naming an owed settlement first (setl_id is selective), then their payments by key.
 * Materialized on purpose: the planner cannot estimate the payee test (no statistics for it), and
 * left free it joins payments × owed on insurer_code first — every settlement of an institution times
 * every payment to it, minutes at 1M settlements (bench/RESULTS.md).
 */
const OWED_LINES = `
  owed_lines AS MATERIALIZED (
    SELECT o.setl_id, o.setl_mode, o.fixmedins_code, o.psn_no, l.insurer_code, l.payment_id, l.paid_amount, l.rejected_amount, l.reject_reason_code
      FROM owed o JOIN payment_lines l ON l.setl_id = o.setl_id AND l.insurer_code = o.insurer_code
  )`;

/** outstanding = max(owed − (paid + rejected), 0), per settlement (computeLoop's). */
const OUTSTANDING = 'greatest(hifob_pay - paid - rejected, 0)';

const sums = (source: string) => `
    SELECT fixmedins_code, count(*) AS cnt, sum(hifob_pay) AS hifob,
           count(*) FILTER (WHERE setl_mode = 'direct') AS direct_cnt, coalesce(sum(hifob_pay) FILTER (WHERE setl_mode = 'direct'), 0) AS direct_hifob,
           sum(paid) AS paid, sum(rejected) AS rejected, sum(recovered) AS recovered,
           sum(${OUTSTANDING}) AS outstanding
      FROM ${source} GROUP BY fixmedins_code`;

/** A settlement record `v` is owed at known_at: valid, of the region-period, hifob_pay > 0, received, and no reversal received. */
const OWED_AT_KNOWN = `v.insuplc_admdvs LIKE $1 AND v.period = $2 AND v.hifob_pay > 0 AND v.received_at <= $3
       AND NOT EXISTS (SELECT 1 FROM settlement_records r WHERE r.setl_id = v.setl_id AND r.status = 'reversed' AND r.received_at <= $3)`;

/** CTEs up to `per_settlement`: the whole month from the facts. */
const PER_SETTLEMENT_FROM_FACTS = `
  owed AS (
    SELECT v.setl_id, v.fixmedins_code, v.insurer_code, v.insuplc_admdvs AS admdvs, v.setl_time, v.setl_mode, v.psn_no, v.hifob_pay
      FROM settlement_records v
     WHERE v.status = 'valid' AND ${OWED_AT_KNOWN}
  ),
  ${OWED_LINES}, ${SUMS}`;

const OWED_FROM_FACTS = `${PER_SETTLEMENT_FROM_FACTS},
  recorded AS (${sums('per_settlement')})`;

/** The owed settlements of the region-period (spec §4), known at $3 in LOOP_SUMS and its companions. */
const MONTH = `v.status = 'valid' AND v.insuplc_admdvs LIKE $1 AND v.period = $2 AND v.hifob_pay > 0 AND v.received_at <= $3`;

/** A due-date key group's sums of its clean settlements (LOOP_SUMS, MONTH_WITH_LOOPS: one row shape, LoopSumRow). */
const CLEAN_SUMS = `count(*) FILTER (WHERE clean)::text AS cnt, coalesce(sum(hifob_pay) FILTER (WHERE clean), 0)::text AS hifob,
         count(*) FILTER (WHERE clean AND setl_mode = 'direct')::text AS direct_cnt,
         coalesce(sum(hifob_pay) FILTER (WHERE clean AND setl_mode = 'direct'), 0)::text AS direct_hifob,
         coalesce(sum(paid) FILTER (WHERE clean), 0)::text AS paid, coalesce(sum(rejected) FILTER (WHERE clean), 0)::text AS rejected,
         coalesce(sum(recovered) FILTER (WHERE clean), 0)::text AS recovered,
         coalesce(sum(${OUTSTANDING}) FILTER (WHERE clean), 0)::text AS outstanding`;

/**
 * The loop rows' sums, one pass over the month, as a plain SELECT so that PostgreSQL can run it in
 * parallel (an INSERT … SELECT never is, in PostgreSQL 15). Summed are the settlements with a loop
 * row of the region-period that is not reversed and not UNSETTLED; `missing` counts those without a
 * loop row (none after a sweep), which MISSING_LOOPS then lists. Grouped by what decides a due date
 * (institution, insurer, region, mode, CST day of setl_time), so that the same rows give both the
 * institutions' figures (summed again per institution in OWED_FROM_LOOPS) and the arrears by due-date
 * key (arrearsByDueKey): one pass over the month where there were two.
 * Parameters: $1 admdvs LIKE pattern, $2 period, $3 known_at, $4 the UNSETTLED setl_ids.
 */
const LOOP_SUMS = `
  SELECT fixmedins_code, insurer_code, admdvs, setl_mode, to_char(setl_day, 'YYYY-MM-DD') AS setl_day,
         ${CLEAN_SUMS},
         count(*) FILTER (WHERE missing) AS missing
    FROM (SELECT v.fixmedins_code, v.insurer_code, v.insuplc_admdvs AS admdvs, v.setl_mode,
                 (v.setl_time AT TIME ZONE 'Asia/Shanghai')::date AS setl_day, v.hifob_pay, l.paid, l.rejected, l.recovered,
                 l.setl_id IS NULL AS missing, (l.status <> 'reversed' AND v.setl_id <> ALL($4::text[])) AS clean
            FROM settlement_records v
            -- The region-period's loop rows only (the month, not the history); one whose region or
            -- period differs from its settlement's reads as missing: recomputed.
            LEFT JOIN settlement_loops l ON l.setl_id = v.setl_id AND l.admdvs LIKE $1 AND l.period = $2
           WHERE ${MONTH}) m
   GROUP BY fixmedins_code, insurer_code, admdvs, setl_mode, setl_day`;

/** Settlements of the month with a reversed loop row, recomputed (the reversal may be unknown at known_at). */
const REVERSED_LOOPS = `SELECT setl_id FROM settlement_loops WHERE status = 'reversed' AND admdvs LIKE $1 AND period = $2`;

/** Settlements of the month without a loop row of the region-period (LOOP_SUMS counted some). */
const MISSING_LOOPS = `
  SELECT v.setl_id FROM settlement_records v
   WHERE ${MONTH} AND NOT EXISTS (SELECT 1 FROM settlement_loops l WHERE l.setl_id = v.setl_id AND l.admdvs LIKE $1 AND l.period = $2)`;

/**
 * A run's one pass over the month with its loop rows (issue 15), before its sweep, for both: LOOP_SUMS'
 * sums of the clean settlements — which the sweep leaves as they are, so that their sums before it
 * are their sums after it — and, counted, the settlements the sweep re-evaluates because of their loop
 * row (sweep-read-model.ts DUE_SETTLEMENTS, the same tests: no loop row, evaluated as of a later time,
 * a check point passed). Clean: owed at known_at (MONTH), a loop row of the region-period that is
 * neither due nor reversed, and not among $5 (UNSETTLED and the settlements of unapplied messages).
 * Grouped by due-date key only, as LOOP_SUMS (a parallel hash aggregate; a group per listed
 * settlement was planned as a sort of the month), so the due and reversed ones are counted here and
 * listed by monthWithLoops only when there are some. Every flag is coalesced: a NULL would leave a
 * settlement neither summed nor counted. Parameters: $1 admdvs prefix (digits), $2 period, $3 as_of,
 * $4 known_at, $5 the excluded setl_ids.
 */
const MONTH_WITH_LOOPS = `
  SELECT fixmedins_code, insurer_code, admdvs, setl_mode, to_char(setl_day, 'YYYY-MM-DD') AS setl_day,
         ${CLEAN_SUMS},
         count(*) FILTER (WHERE missing OR later) AS unswept, count(*) FILTER (WHERE lapsed) AS lapsed,
         count(*) FILTER (WHERE reversed) AS reversed
    FROM (SELECT f.*, coalesce(owed AND NOT (missing OR later OR lapsed OR reversed) AND setl_id <> ALL($5::text[]), false) AS clean
            FROM (SELECT v.setl_id, v.fixmedins_code, v.insurer_code, v.insuplc_admdvs AS admdvs, v.setl_mode,
                         (v.setl_time AT TIME ZONE 'Asia/Shanghai')::date AS setl_day, v.hifob_pay, l.paid, l.rejected, l.recovered,
                         l.setl_id IS NULL AS missing, coalesce(l.evaluated_at > $3, false) AS later,
                         coalesce(l.next_check_at <= $3, false) AS lapsed, coalesce(l.status = 'reversed', false) AS reversed,
                         coalesce(v.status = 'valid' AND v.hifob_pay > 0 AND v.received_at <= $4, false) AS owed
                    FROM settlement_records v
                    -- the region-period's loop rows only, as DUE_SETTLEMENTS and LOOP_SUMS
                    LEFT JOIN settlement_loops l ON l.setl_id = v.setl_id AND l.admdvs LIKE $1 || '%' AND l.period = $2
                   WHERE v.insuplc_admdvs LIKE $1 || '%' AND v.period = $2) f) m
   GROUP BY fixmedins_code, insurer_code, admdvs, setl_mode, setl_day`;

/** Settlements of the month whose loop row's check point has passed (few: the partial index of next_check_at). $1–$3 as above. */
const LAPSED_IN_MONTH = `
  SELECT l.setl_id FROM settlement_loops l
    JOIN settlement_records v ON v.setl_id = l.setl_id AND v.insuplc_admdvs LIKE $1 || '%' AND v.period = $2
   WHERE l.next_check_at <= $3 AND l.admdvs LIKE $1 || '%' AND l.period = $2`;

interface LoopSumRow {
  fixmedins_code: string;
  insurer_code: string;
  admdvs: string;
  setl_mode: string;
  setl_day: string;
  cnt: string;
  hifob: string;
  direct_cnt: string;
  direct_hifob: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
}

/**
 * What a run's sweep found of the month before it ran (MONTH_WITH_LOOPS): the clean settlements'
 * sums by due-date key, and the owed settlements the report recomputes from the facts. For the report
 * of the same region-period, clocks and run (owedByInstitutionCtes), with the settlements the sweep
 * re-evaluated added to `redo` (none of them is summed).
 */
export interface MonthLoopSums {
  admdvs: string;
  period: string;
  knownAt: Date;
  asOf: Date;
  rows: LoopSumRow[];
  redo: string[];
}

/**
 * The month with its loop rows, once, for a run (MONTH_WITH_LOOPS): the setl_ids its sweep
 * re-evaluates for their loop rows, and the sums for its report — or none when more than
 * RECOMPUTE_MAX settlements would have to be recomputed (the report then sums the loop rows after the
 * sweep). `unmatchedMessageIds`: the messages matching has not applied; `alsoRecompute`: settlements
 * the sweep re-evaluates for those messages. In the caller's transaction, which must be REPEATABLE READ
 * (the unapplied messages, UNSETTLED and the sums from one snapshot: a reversal or a payment applied
 * in between would otherwise be both summed and recomputed).
 */
export async function monthWithLoops(
  q: Sql,
  o: OwedQuery,
  unmatchedMessageIds: readonly string[],
  alsoRecompute: readonly string[],
  dueSettlements: () => Promise<string[]>,
): Promise<{ due: string[]; sums: MonthLoopSums | null }> {
  const unsettled = await q.query<{ setl_id: string }>(UNSETTLED, [
    o.knownAt,
    o.asOf,
    unmatchedMessageIds,
    RECOMPUTE_MAX + 1,
  ]);
  const exclude = [...new Set([...unsettled.rows.map((r) => r.setl_id), ...alsoRecompute])];
  const month = [o.admdvs, o.period, o.asOf];
  const { rows } = await q.query<LoopSumRow & { unswept: string; lapsed: string; reversed: string }>(MONTH_WITH_LOOPS, [
    ...month,
    o.knownAt,
    exclude,
  ]);
  const total = (k: 'unswept' | 'lapsed' | 'reversed') => rows.reduce((n, r) => n + Number(r[k]), 0);
  const ids = async (sql: string, params: unknown[]) =>
    (await q.query<{ setl_id: string }>(sql, params)).rows.map((r) => r.setl_id);
  // Without a loop row or evaluated as of a later time: the month again (DUE_SETTLEMENTS, as the plain
  // sweep); only check points passed: those few by their index. None: no second statement.
  const due =
    total('unswept') > 0 ? await dueSettlements() : total('lapsed') > 0 ? await ids(LAPSED_IN_MONTH, month) : [];
  // Recomputed: the excluded, the due and the reversed (none of them summed; those not owed drop out).
  const redo = new Set([...exclude, ...due]);
  if (total('reversed') > 0) for (const id of await ids(REVERSED_LOOPS, [`${o.admdvs}%`, o.period])) redo.add(id);
  if (redo.size > RECOMPUTE_MAX) return { due, sums: null };
  const sums = rows.filter((r) => r.cnt !== '0').map(({ unswept: _u, lapsed: _l, reversed: _r, ...r }) => r);
  return {
    due,
    sums: { admdvs: o.admdvs, period: o.period, knownAt: o.knownAt, asOf: o.asOf, rows: sums, redo: [...redo] },
  };
}

/**
 * LOOP_SUMS' rows ($5, JSON) and the settlements to recompute from the facts ($6: the UNSETTLED,
 * REVERSED_LOOPS and MISSING_LOOPS setl_ids; owed if of the month and no reversal is known at $3),
 * summed per institution into `recorded`.
 */
const OWED_FROM_LOOPS = `
  from_loops AS (
    SELECT * FROM jsonb_to_recordset($5::jsonb) AS x(fixmedins_code text, insurer_code text, admdvs text, setl_mode text, setl_day text,
      cnt bigint, hifob numeric, direct_cnt bigint, direct_hifob numeric, paid numeric, rejected numeric, recovered numeric, outstanding numeric)
  ),
  owed AS (
    SELECT v.setl_id, v.fixmedins_code, v.insurer_code, v.insuplc_admdvs AS admdvs, v.setl_time, v.setl_mode, v.psn_no, v.hifob_pay
      FROM unnest($6::text[]) AS u(setl_id) JOIN settlement_records v ON v.setl_id = u.setl_id AND v.status = 'valid'
     WHERE ${OWED_AT_KNOWN}
  ),
  ${OWED_LINES}, ${SUMS},
  recorded AS (
    SELECT fixmedins_code, sum(cnt) AS cnt, sum(hifob) AS hifob, sum(direct_cnt) AS direct_cnt, sum(direct_hifob) AS direct_hifob,
           sum(paid) AS paid, sum(rejected) AS rejected, sum(recovered) AS recovered, sum(outstanding) AS outstanding
      FROM (SELECT fixmedins_code, cnt, hifob, direct_cnt, direct_hifob, paid, rejected, recovered, outstanding FROM from_loops
            UNION ALL ${sums('per_settlement')}) x
     GROUP BY fixmedins_code
    -- an institution whose every settlement was recomputed and found reversed at $3 owes nothing
    HAVING sum(cnt) > 0
  )`;

/**
 * UNSETTLED: settlements whose loop row may not show the report's figures — a loop fact of a message
 * matching has not applied yet ($3, the unmatched message ids), a payment or a recovery received
 * after known_at ($1) or made after as_of ($2). At most $4 of them (null: all).
 */
const UNSETTLED = `
  WITH ${pendingFrom('$3')},
  unsettled AS MATERIALIZED (
    SELECT setl_id FROM (${LOOP_FACTS_OF_PENDING}) f
    UNION SELECT l.setl_id FROM payments p JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id WHERE p.received_at > $1 OR p.pay_time > $2
    UNION SELECT r.setl_id FROM recoveries r WHERE r.received_at > $1 OR r.recovered_at > $2
  )
  SELECT setl_id FROM unsettled LIMIT $4`;

/**
 * The CTEs ending in `recorded` (per institution) for the region-period, and the parameters they
 * take ($1–$4 as in the header, then $5–$6 from the loop rows). `from` forces one of the two ways
 * (the tests compare them); by default the loop rows unless more than RECOMPUTE_MAX settlements have
 * to be recomputed. The loop rows are those the run's sweep has just brought to as_of: a run without
 * a sweep (report-only) passes 'facts'. `unmatchedMessageIds`: the messages matching has not applied.
 * In the caller's transaction.
 */
export async function owedByInstitutionCtes(
  q: Sql,
  o: OwedQuery,
  unmatchedMessageIds: readonly string[],
  from?: 'loops' | 'facts',
  before?: { sums: MonthLoopSums; swept: readonly string[] },
): Promise<OwedCtes> {
  const base = [`${o.admdvs}%`, o.period, o.knownAt, o.asOf];
  if (from === 'facts') return { ctes: OWED_FROM_FACTS, params: base, from: 'facts' };
  // The run's sweep summed the month before it ran (monthWithLoops): its sums stand, and what it
  // re-evaluated is recomputed with the rest — unless that makes too many to recompute by key.
  if (before && sameMonth(before.sums, o)) {
    const redo = [...new Set([...before.sums.redo, ...before.swept])];
    if (redo.length <= RECOMPUTE_MAX)
      return { ctes: OWED_FROM_LOOPS, params: [...base, JSON.stringify(before.sums.rows), redo], from: 'loops' };
  }
  // The loop rows, unless many settlements have facts the report cannot count (received after
  // known_at, paid after as_of): then the month is computed from the facts in one set-based pass.
  const unsettled = await q.query<{ setl_id: string }>(UNSETTLED, [
    o.knownAt,
    o.asOf,
    unmatchedMessageIds,
    from === 'loops' ? null : RECOMPUTE_MAX + 1,
  ]);
  if (from === undefined && unsettled.rows.length > RECOMPUTE_MAX)
    return { ctes: OWED_FROM_FACTS, params: base, from: 'facts' };
  const month = [`${o.admdvs}%`, o.period, o.knownAt];
  const redo = unsettled.rows.map((r) => r.setl_id);
  const sumRows = await q.query<LoopSumRow & { missing: string }>(LOOP_SUMS, [...month, redo]);
  for (const r of (await q.query<{ setl_id: string }>(REVERSED_LOOPS, month.slice(0, 2))).rows) redo.push(r.setl_id);
  if (sumRows.rows.some((r) => Number(r.missing) > 0))
    for (const r of (await q.query<{ setl_id: string }>(MISSING_LOOPS, month)).rows) redo.push(r.setl_id);
  return { ctes: OWED_FROM_LOOPS, params: [...base, JSON.stringify(sumRows.rows), [...new Set(redo)]], from: 'loops' };
}

const sameMonth = (m: MonthLoopSums, o: OwedQuery) =>
  m.admdvs === o.admdvs &&
  m.period === o.period &&
  m.knownAt.getTime() === o.knownAt.getTime() &&
  m.asOf.getTime() === o.asOf.getTime();

/** The CTEs ending in `recorded`, their parameters, and which way they took. */
export interface OwedCtes {
  ctes: string;
  params: unknown[];
  from: 'loops' | 'facts';
}

/** Outstanding of the owed settlements sharing what decides a due date (numeric string). */
export interface ArrearsKeyRow {
  fixmedins_code: string;
  insurer_code: string;
  admdvs: string;
  setl_mode: 'direct' | 'manual';
  setl_day: string;
  outstanding: string;
}

/** The CST day of setl_time, which with the region and the mode decides a settlement's due date (src/deadlines). */
const SETL_DAY = `to_char(setl_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`;

/**
 * Arrears (应支未支, spec §10): the outstanding of the owed settlements of the region-period, summed by
 * institution, insurer, region, mode and CST day of setl_time — what the due-date rules need, so the
 * ageing is computed in TypeScript with the rules of src/deadlines (reconciliation/arrears-ageing.ts).
 * The same settlements and figures as the `recorded` of `owed` (the same way: loop rows and the
 * recomputed settlements, or the facts), so the buckets add up to the institutions' outstanding.
 * Only what is outstanding (> 0) is listed. In the caller's transaction.
 */
export async function arrearsByDueKey(q: Sql, owed: OwedCtes): Promise<ArrearsKeyRow[]> {
  const cols = `fixmedins_code, insurer_code, admdvs, setl_mode, ${SETL_DAY} AS setl_day`;
  // From the loop rows: LOOP_SUMS' outstanding of the clean ones (not reversed, not recomputed) by
  // the same key, then the recomputed ones. A key's sum over its settlements is > 0 exactly when one
  // of them has outstanding > 0 (each is ≥ 0), so filtering the sums filters the same keys.
  const source =
    owed.from === 'facts'
      ? `SELECT ${cols}, ${OUTSTANDING} AS outstanding FROM per_settlement`
      : `SELECT ${cols}, ${OUTSTANDING} AS outstanding FROM per_settlement
       UNION ALL
       SELECT fixmedins_code, insurer_code, admdvs, setl_mode, setl_day, outstanding FROM from_loops`;
  const { rows } = await q.query<ArrearsKeyRow>(
    `WITH ${owed.ctes}
     SELECT fixmedins_code, insurer_code, admdvs, setl_mode, setl_day, sum(outstanding)::text AS outstanding
       FROM (${source}) x WHERE outstanding > 0
      GROUP BY fixmedins_code, insurer_code, admdvs, setl_mode, setl_day
      ORDER BY fixmedins_code, insurer_code, admdvs, setl_mode, setl_day`,
    owed.params,
  );
  return rows;
}

/** One owed settlement's figures (numeric strings), from the facts. */
export interface OwedSettlementRow {
  setl_id: string;
  fixmedins_code: string;
  setl_mode: 'direct' | 'manual';
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
}

/** Every owed settlement of the region-period with its figures from the facts (what the institution sums add up). */
export async function owedSettlements(q: Sql, o: OwedQuery): Promise<OwedSettlementRow[]> {
  const { rows } = await q.query<OwedSettlementRow>(
    `WITH ${PER_SETTLEMENT_FROM_FACTS}
     SELECT setl_id, fixmedins_code, setl_mode, hifob_pay::text AS owed, paid::text, rejected::text, recovered::text, ${OUTSTANDING}::text AS outstanding
       FROM per_settlement ORDER BY setl_id`,
    [`${o.admdvs}%`, o.period, o.knownAt, o.asOf],
  );
  return rows;
}
