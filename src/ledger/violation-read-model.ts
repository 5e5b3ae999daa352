/**
 * The violation report's figures (000 §5 (六): insurers report to the agency the violations they find;
 * spec §10): the insurers' rejections (拒付, payment lines with `rejected_amount` and a reason code, in
 * the month of their payment's `pay_time`) and recoveries (追回, in the month of `recovered_at`), per
 * insurer, institution, month (China Standard Time) and reason code, computed in SQL over the ledger.
 *
 * A line or recovery is the institution's of the settlement it names (the valid record, or the
 * reversed one when only that is known) and belongs to that settlement's region (insuplc_admdvs);
 * naming a settlement the agency never recorded, a rejection is the paid institution's (an
 * institution payee) and has no region: no agency scope or admdvs filter selects it, and its
 * institution is null when a person was paid. Every fact on record counts (no knowledge cut-off:
 * the report is of what the gateway holds now).
 */
import type { Sql } from '../db/db';

export interface ViolationQuery {
  /** First instant of the `from` month and first instant after the `to` month (CST). */
  fromAt: Date;
  toAt: Date;
  admdvs?: string;
  insurer_code?: string;
  fixmedins_code?: string;
}

/** Who may see which rows (the caller's scope, as http/auth scopeFilter gives it). */
export interface ViolationScope {
  admdvs_prefixes?: string[];
  insurer_codes?: string[];
  fixmedins_codes?: string[];
}

export interface ViolationRow {
  insurer_code: string;
  fixmedins_code: string | null;
  month: string;
  reason_code: string;
  rejected_cnt: number;
  rejected_amount: string;
  recovered_cnt: number;
  recovered_amount: string;
}

/** The settlement a fact names: its institution and region (the valid record first). */
const NAMED = (setlId: string) => `LEFT JOIN LATERAL (
      SELECT s.fixmedins_code, s.insuplc_admdvs FROM settlement_records s WHERE s.setl_id = ${setlId}
       ORDER BY s.status = 'valid' DESC LIMIT 1) s ON true`;

export async function violationRows(q: Sql, f: ViolationQuery, scope: ViolationScope): Promise<ViolationRow[]> {
  const params: unknown[] = [f.fromAt, f.toAt];
  const where: string[] = [];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (scope.admdvs_prefixes)
    add(
      (p) => `admdvs LIKE ANY(${p}::text[])`,
      scope.admdvs_prefixes.map((x) => `${x}%`),
    );
  if (scope.insurer_codes) add((p) => `insurer_code = ANY(${p}::text[])`, scope.insurer_codes);
  if (scope.fixmedins_codes) add((p) => `fixmedins_code = ANY(${p}::text[])`, scope.fixmedins_codes);
  if (f.admdvs) add((p) => `admdvs LIKE ${p}`, `${f.admdvs}%`);
  if (f.insurer_code) add((p) => `insurer_code = ${p}`, f.insurer_code);
  if (f.fixmedins_code) add((p) => `fixmedins_code = ${p}`, f.fixmedins_code);
  const { rows } = await q.query<ViolationRow>(
    `WITH facts AS (
       SELECT l.insurer_code, coalesce(s.fixmedins_code, CASE WHEN p.payee_type = 'institution' THEN p.payee_id END) AS fixmedins_code,
              s.insuplc_admdvs AS admdvs, to_char(p.pay_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, l.reject_reason_code AS reason_code,
              1 AS rejected_cnt, l.rejected_amount, 0 AS recovered_cnt, 0::numeric AS recovered_amount
         FROM payments p JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id
         ${NAMED('l.setl_id')}
        WHERE p.pay_time >= $1 AND p.pay_time < $2 AND l.rejected_amount > 0 AND l.reject_reason_code IS NOT NULL AND l.reject_reason_code <> ''
       UNION ALL
       SELECT r.insurer_code, s.fixmedins_code, s.insuplc_admdvs, to_char(r.recovered_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), r.reason_code,
              0, 0::numeric, 1, r.amount
         FROM recoveries r
         ${NAMED('r.setl_id')}
        WHERE r.recovered_at >= $1 AND r.recovered_at < $2
     )
     SELECT insurer_code, fixmedins_code, month, reason_code,
            sum(rejected_cnt)::int AS rejected_cnt, sum(rejected_amount)::numeric(18,2)::text AS rejected_amount,
            sum(recovered_cnt)::int AS recovered_cnt, sum(recovered_amount)::numeric(18,2)::text AS recovered_amount
       FROM facts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      GROUP BY insurer_code, fixmedins_code, month, reason_code
      ORDER BY month, insurer_code, fixmedins_code NULLS LAST, reason_code`,
    params,
  );
  return rows;
}
