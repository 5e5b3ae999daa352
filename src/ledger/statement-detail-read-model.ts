/**
 * 3202 (spec §9), the detail reconciliation: an institution's file rows (table 200) against the
 * agency's settlement records of that institution in those dates, in one set-based statement — the
 * rows go in as one text split in SQL, a full outer join on (setl_id, refund flag) keeps only what
 * differs, so 100,000 rows cost one hash join (bench/platform-3202.ts).
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
 * The file's lines, checked, as one text: `line \t setl_id \t mdtrt_id \t psn_no \t medfee_sumamt
 * \t fund_pay_sumamt \t acct_pay \t refd_setl_flag`, lines joined by \n. One parameter split in SQL
 * (string_to_table): eight 100,000-element array parameters cost 0.5 s to encode and parse, this 0.07 s.
 */
export type DetailLines = string;

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
  file: { line: number; mdtrt_id: string; psn_no: string; medfee_sumamt: string; fund_pay_sumamt: string; acct_pay: string } | null;
  /** The agency's line, amounts signed as the file's (a reversal negative). */
  agency: (DetailRecord & { line_medfee: string; line_fund: string; line_acct: string; reversed: boolean }) | null;
  /** Only the institution has it in these dates: the agency's record of that setl_id elsewhere (latest state), if any. */
  known: DetailRecord | null;
}

const COLS = (p: string) => `${p}.setl_id, ${p}.status, ${p}.mdtrt_id, ${p}.psn_no, ${p}.insurer_code, ${p}.fixmedins_code, ${p}.insuplc_admdvs, ${p}.setl_mode,
  ${p}.setl_time, ${p}.period, ${p}.medfee_sumamt::text, ${p}.hifp_pay::text, ${p}.hifob_pay::text, ${p}.fund_pay_sumamt::text, ${p}.acct_pay::text, ${p}.message_id::text, ${p}.received_at`;

const json = (p: string) => `json_build_object('setl_id', ${p}.setl_id, 'status', ${p}.status, 'mdtrt_id', ${p}.mdtrt_id, 'psn_no', ${p}.psn_no, 'insurer_code', ${p}.insurer_code,
  'fixmedins_code', ${p}.fixmedins_code, 'insuplc_admdvs', ${p}.insuplc_admdvs, 'setl_mode', ${p}.setl_mode, 'setl_time', ${p}.setl_time, 'period', ${p}.period,
  'medfee_sumamt', ${p}.medfee_sumamt::text, 'hifp_pay', ${p}.hifp_pay::text, 'hifob_pay', ${p}.hifob_pay::text, 'fund_pay_sumamt', ${p}.fund_pay_sumamt::text,
  'acct_pay', ${p}.acct_pay::text, 'message_id', ${p}.message_id::text, 'received_at', ${p}.received_at)`;

interface Row {
  setl_id: string; refd: '0' | '1';
  f_line: number | null; f_mdtrt_id: string | null; f_psn_no: string | null; f_medfee: string | null; f_fund: string | null; f_acct: string | null;
  a: (Omit<DetailRecord, 'setl_time' | 'received_at'> & { setl_time: string; received_at: string; line_medfee: string; line_fund: string; line_acct: string; reversed: boolean }) | null;
  k: (Omit<DetailRecord, 'setl_time' | 'received_at'> & { setl_time: string; received_at: string }) | null;
}

/** Runs inside a transaction (it sets jit off for it). */
export async function compareDetail(q: Sql, f: Omit<StatementFilter, 'insutype'>, lines: DetailLines): Promise<DetailDifference[]> {
  // The lateral's estimate (a lookup per line) crosses the JIT threshold: compiling took 2.7 s of a
  // 3 s comparison at 100,000 lines, for a plan that runs in 0.3 s. `q` is a transaction (SET LOCAL).
  await q.query('SET LOCAL jit = off');
  const rowsOf = f.withRefunds ? 'TRUE' : `r.status = 'valid' AND NOT EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = r.setl_id AND x.status = 'reversed')`;
  const { rows } = await q.query<Row>(
    `WITH f AS (
       SELECT split_part(l, E'\t', 1)::int AS line, split_part(l, E'\t', 2) AS setl_id, split_part(l, E'\t', 3) AS mdtrt_id, split_part(l, E'\t', 4) AS psn_no,
              split_part(l, E'\t', 5)::numeric AS medfee_sumamt, split_part(l, E'\t', 6)::numeric AS fund_pay_sumamt, split_part(l, E'\t', 7)::numeric AS acct_pay,
              split_part(l, E'\t', 8) AS refd
         FROM string_to_table($1, E'\n') AS l
     ), a AS (
       SELECT ${COLS('r')}, CASE WHEN r.status = 'reversed' THEN '1' ELSE '0' END AS refd, CASE WHEN r.status = 'reversed' THEN -1 ELSE 1 END AS sign
         FROM settlement_records r
        WHERE r.fixmedins_code = $2 AND left(r.insuplc_admdvs, length($3)) = $3 AND r.setl_time >= $4 AND r.setl_time < $5 AND ${rowsOf}
     ), d AS (
       SELECT coalesce(f.setl_id, a.setl_id) AS setl_id, coalesce(f.refd, a.refd) AS refd,
              f.line AS f_line, f.mdtrt_id AS f_mdtrt_id, f.psn_no AS f_psn_no, f.medfee_sumamt::text AS f_medfee, f.fund_pay_sumamt::text AS f_fund, f.acct_pay::text AS f_acct,
              CASE WHEN a.setl_id IS NULL THEN NULL ELSE json_build_object('setl_id', a.setl_id, 'status', a.status, 'mdtrt_id', a.mdtrt_id, 'psn_no', a.psn_no,
                'insurer_code', a.insurer_code, 'fixmedins_code', a.fixmedins_code, 'insuplc_admdvs', a.insuplc_admdvs, 'setl_mode', a.setl_mode, 'setl_time', a.setl_time,
                'period', a.period, 'medfee_sumamt', a.medfee_sumamt, 'hifp_pay', a.hifp_pay, 'hifob_pay', a.hifob_pay, 'fund_pay_sumamt', a.fund_pay_sumamt,
                'acct_pay', a.acct_pay, 'message_id', a.message_id, 'received_at', a.received_at,
                'reversed', (f.setl_id IS NULL AND a.refd = '0' AND EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = a.setl_id AND x.status = 'reversed')),
                'line_medfee', (a.sign * a.medfee_sumamt::numeric)::text, 'line_fund', (a.sign * a.fund_pay_sumamt::numeric)::text, 'line_acct', (a.sign * a.acct_pay::numeric)::text) END AS a
         FROM f FULL JOIN a ON a.setl_id = f.setl_id AND a.refd = f.refd
        WHERE f.setl_id IS NULL OR a.setl_id IS NULL
           OR f.medfee_sumamt <> a.sign * a.medfee_sumamt::numeric OR f.fund_pay_sumamt <> a.sign * a.fund_pay_sumamt::numeric OR f.acct_pay <> a.sign * a.acct_pay::numeric
     )
     SELECT d.*, k.k
       FROM d
       LEFT JOIN LATERAL (
         SELECT ${json('x')} AS k FROM settlement_records x
          WHERE d.a IS NULL AND x.setl_id = d.setl_id ORDER BY (x.status = 'reversed') DESC LIMIT 1
       ) k ON TRUE
      ORDER BY d.f_line NULLS LAST, d.setl_id, d.refd`,
    [lines, f.fixmedins_code, f.admdvs_prefix, f.from, f.to],
  );
  return rows.map((r) => ({
    setl_id: r.setl_id,
    refd_setl_flag: r.refd,
    file: r.f_line === null ? null : { line: r.f_line, mdtrt_id: r.f_mdtrt_id!, psn_no: r.f_psn_no!, medfee_sumamt: r.f_medfee!, fund_pay_sumamt: r.f_fund!, acct_pay: r.f_acct! },
    agency: r.a ? { ...record(r.a), line_medfee: r.a.line_medfee, line_fund: r.a.line_fund, line_acct: r.a.line_acct, reversed: r.a.reversed === true } : null,
    known: r.k ? record(r.k) : null,
  }));
}

function record(j: Omit<DetailRecord, 'setl_time' | 'received_at'> & { setl_time: string; received_at: string }): DetailRecord {
  return {
    setl_id: j.setl_id, status: j.status, mdtrt_id: j.mdtrt_id, psn_no: j.psn_no, insurer_code: j.insurer_code, fixmedins_code: j.fixmedins_code,
    insuplc_admdvs: j.insuplc_admdvs, setl_mode: j.setl_mode, setl_time: new Date(j.setl_time), period: j.period,
    medfee_sumamt: String(j.medfee_sumamt), hifp_pay: String(j.hifp_pay), hifob_pay: String(j.hifob_pay), fund_pay_sumamt: String(j.fund_pay_sumamt),
    acct_pay: String(j.acct_pay), message_id: j.message_id, received_at: new Date(j.received_at),
  };
}
