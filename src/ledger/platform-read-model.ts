/**
 * Reads of the agency's settlement records for the platform's transactions (src/platform/, spec §9):
 * the record a 2208 reverses, and the totals a 3201 is compared with.
 */
import type { Sql } from '../db/db';

const RECORD_COLUMNS = `setl_id, status, mdtrt_id, psn_no, psn_name, certno, insutype, insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, med_type, setl_time,
  medfee_sumamt::text, inscp_scp_amt::text, hifp_pay::text, hifob_pay::text, hifmi_pay::text, cvlserv_pay::text, maf_pay::text, oth_pay::text,
  fund_pay_sumamt::text, acct_pay::text, psn_cash_pay::text, setldetail, insurer_code, setl_mode, referral, message_id`;

/** A stored row of a settlement, amounts as numeric text (as sent), setl_time an instant. */
export type StoredSettlementRecord = Record<string, unknown> & {
  setl_id: string;
  status: 'valid' | 'reversed';
  mdtrt_id: string;
  psn_no: string;
  insuplc_admdvs: string;
  setl_time: Date;
  message_id: string;
};

/** Both rows of a setl_id (valid and reversal), the valid one first. */
export async function loadStoredSettlement(q: Sql, setlId: string): Promise<StoredSettlementRecord[]> {
  const { rows } = await q.query<StoredSettlementRecord>(
    `SELECT ${RECORD_COLUMNS} FROM settlement_records WHERE setl_id = $1 ORDER BY (status = 'reversed')`,
    [setlId],
  );
  return rows;
}

export interface StatementFilter {
  fixmedins_code: string;
  /** The settling agency's admdvs prefix (setl_optins without its trailing 00s): the records' insuplc_admdvs starts with it. */
  admdvs_prefix: string;
  insutype: string;
  /** [from, to) instants of setl_time. */
  from: Date;
  to: Date;
  /**
   * With refunds (refd_setl_flag 1): every settlement of the dates and every reversal of one, a
   * reversal counting as a negative settlement (as the platform books a refund); without: only
   * settlements not reversed.
   */
  withRefunds: boolean;
}

/** The agency's totals of an institution's settlements (spec §9, 3201): amounts as numeric text. */
export interface StatementTotals {
  medfee_sumamt: string;
  fund_pay_sumamt: string;
  acct_pay: string;
  setl_cnt: number;
}

export async function loadStatementTotals(q: Sql, f: StatementFilter): Promise<StatementTotals> {
  const sign = `CASE WHEN r.status = 'reversed' THEN -1 ELSE 1 END`;
  const rowsOf = f.withRefunds
    ? 'TRUE'
    : `r.status = 'valid' AND NOT EXISTS (SELECT 1 FROM settlement_records x WHERE x.setl_id = r.setl_id AND x.status = 'reversed')`;
  const { rows } = await q.query<StatementTotals>(
    `SELECT coalesce(sum(${sign} * r.medfee_sumamt), 0)::text AS medfee_sumamt, coalesce(sum(${sign} * r.fund_pay_sumamt), 0)::text AS fund_pay_sumamt,
            coalesce(sum(${sign} * r.acct_pay), 0)::text AS acct_pay, count(*)::int AS setl_cnt
       FROM settlement_records r
      WHERE r.fixmedins_code = $1 AND left(r.insuplc_admdvs, length($2)) = $2 AND r.insutype = $3 AND r.setl_time >= $4 AND r.setl_time < $5 AND ${rowsOf}`,
    [f.fixmedins_code, f.admdvs_prefix, f.insutype, f.from, f.to],
  );
  return rows[0]!;
}
