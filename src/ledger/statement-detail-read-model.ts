/**
 * 3202 (spec §9), the detail reconciliation: an institution's file rows (table 200) against the
 * agency's settlement records of that institution in those dates, in one set-based statement — the
 * lines' keys and amounts go in as one text per column split in SQL, a full outer join on (setl_id,
 * refund flag) keeps only what differs, so 100,000 rows cost one hash join (bench/platform-3202.ts).
 *
 * Which records count is the 3201's rule (platform-read-model.ts, loadStatementTotals): without
 * refunds the settlements not reversed; with refunds (refd_setl_flag 1) every settlement of the
 * dates as a line with flag 0 and every reversal as a line with flag 1 whose amounts are negative
 * (how the platform books a refund). A file line only the institution has is checked against the
 * agency's records of any date or institution (`known`: its latest state), because a batch item is
 * judged that way (DECLARED_NOT_RECORDED only for a setl_id the agency does not know). A line only the
 * agency has says whether its settlement is reversed (`reversed`: it owes nothing, so nothing is undeclared).
 */
import type { Sql } from '../db/db';
import type { StatementFilter } from './platform-read-model';

/**
 * One checked line of the file (table 200; platform/detail-file.ts checks it: no tab, newline or
 * other control character inside an id, amounts at most two decimals). The comparison sends only
 * setl_id, the refund flag and the three amounts to SQL, one \n-joined text per column split by
 * string_to_array (one 100,000-line text per column costs a few ms to build and to split; eight
 * 100,000-element array parameters cost 0.5 s to encode and parse, one line-per-row text cut by
 * split_part 0.4 s more in the join); the rest of a differing line is taken from here.
 */
export interface DetailLine {
  line: number;
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  medfee_sumamt: string;
  fund_pay_sumamt: string;
  acct_pay: string;
  refd_setl_flag: '0' | '1';
}

/** An agency record as the loop rules read it (amounts numeric text, times instants). */
export interface DetailRecord {
  setl_id: string;
  status: 'valid' | 'reversed';
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
  fund_pay_sumamt: string;
  acct_pay: string;
  message_id: string;
  received_at: Date;
}

/** One differing settlement: the file's line (absent: only the agency has it) and the agency's (absent: only the institution). */
export interface DetailDifference {
  setl_id: string;
  refd_setl_flag: '0' | '1';
  file: {
    line: number;
    mdtrt_id: string;
    psn_no: string;
    medfee_sumamt: string;
    fund_pay_sumamt: string;
    acct_pay: string;
  } | null;
  /** The agency's line, amounts signed as the file's (a reversal negative). */
  agency: (DetailRecord & { line_medfee: string; line_fund: string; line_acct: string; reversed: boolean }) | null;
  /** Only the institution has it in these dates: the agency's record of that setl_id elsewhere (latest state), if any. */
  known: DetailRecord | null;
}

const FIELDS = (
  p: string,
) => `'setl_id', ${p}.setl_id, 'status', ${p}.status, 'mdtrt_id', ${p}.mdtrt_id, 'psn_no', ${p}.psn_no, 'insurer_code', ${p}.insurer_code,
  'fixmedins_code', ${p}.fixmedins_code, 'insuplc_admdvs', ${p}.insuplc_admdvs, 'setl_mode', ${p}.setl_mode, 'setl_time', ${p}.setl_time, 'period', ${p}.period,
  'medfee_sumamt', ${p}.medfee_sumamt::text, 'hifp_pay', ${p}.hifp_pay::text, 'hifob_pay', ${p}.hifob_pay::text, 'fund_pay_sumamt', ${p}.fund_pay_sumamt::text,
  'acct_pay', ${p}.acct_pay::text, 'message_id', ${p}.message_id::text, 'received_at', ${p}.received_at`;

type RecordJson = Omit<DetailRecord, 'setl_time' | 'received_at'> & { setl_time: string; received_at: string };

interface Row {
  setl_id: string;
  refd: '0' | '1';
  /** 1-based position of the file's line in `lines` (null: only the agency has it). */
  f_index: number | null;
  a: (RecordJson & { line_medfee: string; line_fund: string; line_acct: string; reversed: boolean }) | null;
  k: RecordJson | null;
}

const column = (lines: readonly DetailLine[], f: (l: DetailLine) => string) => lines.map(f).join('\n');

/**
 * Runs inside a transaction (it sets jit off and a larger work_mem for it). The join keeps only the
 * differing lines, carrying nothing but the keys and amounts (as the bare comparison does); the
 * agency's whole record is read back by primary key for those few (a subquery per row: the planner
 * cannot know how few, and a join would scan the table).
 */
export async function compareDetail(
  q: Sql,
  f: Omit<StatementFilter, 'insutype'>,
  lines: readonly DetailLine[],
): Promise<DetailDifference[]> {
  // The estimates here (a lookup per line) cross the JIT threshold: compiling took 2.7 s of a 3 s
  // comparison at 100,000 lines, for a plan that runs in 0.3 s. The two hash tables of 100,000
  // lines need ~15 MB: with the default 4 MB they spill to disk in batches. `q` is a transaction (SET LOCAL).
  await q.query("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)");
  const rowsOf = f.withRefunds
    ? 'TRUE'
    : `r.status = 'valid' AND NOT EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = r.setl_id AND x.status = 'reversed')`;
  const { rows } = await q.query<Row>(
    `WITH f AS (
       SELECT u.setl_id, u.refd, u.medfee, u.fund, u.acct, u.i::int AS i
         FROM unnest(string_to_array($1, E'\n'), string_to_array($2, E'\n'), string_to_array($3, E'\n')::numeric[], string_to_array($4, E'\n')::numeric[],
                     string_to_array($5, E'\n')::numeric[]) WITH ORDINALITY AS u(setl_id, refd, medfee, fund, acct, i)
     ), a AS (
       -- starts_with, not left(…) = …: the planner estimates a prefix (a left() comparison it guesses at 0.5%).
       SELECT r.setl_id, r.status, CASE WHEN r.status = 'reversed' THEN '1' ELSE '0' END AS refd,
              CASE WHEN r.status = 'reversed' THEN -r.medfee_sumamt ELSE r.medfee_sumamt END AS medfee,
              CASE WHEN r.status = 'reversed' THEN -r.fund_pay_sumamt ELSE r.fund_pay_sumamt END AS fund,
              CASE WHEN r.status = 'reversed' THEN -r.acct_pay ELSE r.acct_pay END AS acct
         FROM settlement_records r
        WHERE r.fixmedins_code = $6 AND starts_with(r.insuplc_admdvs, $7) AND r.setl_time >= $8 AND r.setl_time < $9 AND ${rowsOf}
     ), d AS (
       SELECT coalesce(f.setl_id, a.setl_id) AS setl_id, coalesce(f.refd, a.refd) AS refd, f.i, a.status AS a_status, a.medfee, a.fund, a.acct
         FROM f FULL JOIN a ON a.setl_id = f.setl_id AND a.refd = f.refd
        WHERE f.setl_id IS NULL OR a.setl_id IS NULL OR f.medfee <> a.medfee OR f.fund <> a.fund OR f.acct <> a.acct
     )
     SELECT d.setl_id, d.refd, d.i AS f_index,
            (SELECT json_build_object(${FIELDS('r')},
                      'reversed', (d.i IS NULL AND d.refd = '0' AND EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = d.setl_id AND x.status = 'reversed')),
                      'line_medfee', d.medfee::text, 'line_fund', d.fund::text, 'line_acct', d.acct::text)
               FROM settlement_records r WHERE r.setl_id = d.setl_id AND r.status = d.a_status) AS a,
            k.k
       FROM d
       LEFT JOIN LATERAL (
         SELECT json_build_object(${FIELDS('x')}) AS k FROM settlement_records x
          WHERE d.a_status IS NULL AND x.setl_id = d.setl_id ORDER BY (x.status = 'reversed') DESC LIMIT 1
       ) k ON TRUE
      ORDER BY d.i NULLS LAST, d.setl_id, d.refd`,
    [
      column(lines, (l) => l.setl_id),
      column(lines, (l) => l.refd_setl_flag),
      column(lines, (l) => l.medfee_sumamt),
      column(lines, (l) => l.fund_pay_sumamt),
      column(lines, (l) => l.acct_pay),
      f.fixmedins_code,
      f.admdvs_prefix,
      f.from,
      f.to,
    ],
  );
  return rows.map((r) => {
    const l = r.f_index === null ? undefined : lines[r.f_index - 1]!;
    return {
      setl_id: r.setl_id,
      refd_setl_flag: r.refd,
      file: l
        ? {
            line: l.line,
            mdtrt_id: l.mdtrt_id,
            psn_no: l.psn_no,
            medfee_sumamt: l.medfee_sumamt,
            fund_pay_sumamt: l.fund_pay_sumamt,
            acct_pay: l.acct_pay,
          }
        : null,
      agency: r.a
        ? {
            ...record(r.a),
            line_medfee: r.a.line_medfee,
            line_fund: r.a.line_fund,
            line_acct: r.a.line_acct,
            reversed: r.a.reversed === true,
          }
        : null,
      known: r.k ? record(r.k) : null,
    };
  });
}

function record(j: RecordJson): DetailRecord {
  return {
    setl_id: j.setl_id,
    status: j.status,
    mdtrt_id: j.mdtrt_id,
    psn_no: j.psn_no,
    insurer_code: j.insurer_code,
    fixmedins_code: j.fixmedins_code,
    insuplc_admdvs: j.insuplc_admdvs,
    setl_mode: j.setl_mode,
    setl_time: new Date(j.setl_time),
    period: j.period,
    medfee_sumamt: String(j.medfee_sumamt),
    hifp_pay: String(j.hifp_pay),
    hifob_pay: String(j.hifob_pay),
    fund_pay_sumamt: String(j.fund_pay_sumamt),
    acct_pay: String(j.acct_pay),
    message_id: j.message_id,
    received_at: new Date(j.received_at),
  };
}
