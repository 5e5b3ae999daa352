/**
 * What each settlement allows, as the fund-year statement last computed it with the pure rules
 * (src/fund/statement/payouts.ts `settlementAllowances`: the benefit rules, the yearly cap, a reversal, a
 * duplicate reimbursement) — the only module that reads or writes `settlement_allowances` (migration 160).
 *
 * A statement (src/fund/statement-service.ts) asks which persons' stored allowances are stale for its
 * clocks (`staleAllowanceOwners`), runs the rules again for those persons only and stores what it found
 * (`storeAllowances`), and adds up the rest here (`aggregatePayouts`) — the compliant payouts of spec
 * §8 settlement by settlement, in one pass, instead of reading a million settlements into Node.
 *
 * What makes a stored row current for a statement known at `known_at`: the rows of its settlement
 * received by then are the ones it was computed from (has_valid, has_reversed; a settlement's rows are
 * never changed, only a `reversed` row added: PRIMARY KEY (setl_id, status)), none of them received
 * after `known_at` (basis_at), and the region files are the ones it was computed under (fingerprint).
 * A person is stale when any of their settlements' rows is: the benefit year and its cap are the
 * person's.
 */
import type { Sql } from '../db/db';
import { Money } from '../money';

/** One settlement's allowance to store: its merged state's fields, the rows it was computed from, what it allows. */
export interface AllowanceRow {
  setl_id: string;
  psn_no: string;
  insurer_code: string;
  insuplc_admdvs: string;
  fixmedins_code: string;
  setl_time: Date;
  setl_mode: string;
  mdtrt_id: string;
  has_valid: boolean;
  has_reversed: boolean;
  /** The latest received_at of the rows it was computed from. */
  basis_at: Date;
  allowed: Money;
  why_limited: string | null;
}

/** Rows written per statement: the cold statement of a region-year stores every settlement's. */
const STORE_ROWS = 10_000;

/**
 * Fresh planner statistics after a statement stored many allowances (its region-year's first): the
 * same transaction adds them up next, and a table planned as empty is joined by nested loops.
 */
export async function analyzeAllowances(q: Sql): Promise<void> {
  await q.query('ANALYZE settlement_allowances');
}

/** Inserts or replaces these settlements' allowances, computed under the region files `fingerprint`. */
export async function storeAllowances(
  q: Sql,
  rows: readonly AllowanceRow[],
  o: { fingerprint: string; at: Date },
): Promise<void> {
  for (let i = 0; i < rows.length; i += STORE_ROWS) {
    const part = rows.slice(i, i + STORE_ROWS);
    const col = <T>(f: (r: AllowanceRow) => T) => part.map(f);
    await q.query(
      `INSERT INTO settlement_allowances (setl_id, psn_no, insurer_code, insuplc_admdvs, fixmedins_code, setl_time, setl_mode, mdtrt_id,
         has_valid, has_reversed, basis_at, allowed, why_limited, fingerprint, computed_at)
       SELECT u.*, $14, $15 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[],
         $9::boolean[], $10::boolean[], $11::timestamptz[], $12::numeric[], $13::text[])
         AS u(setl_id, psn_no, insurer_code, insuplc_admdvs, fixmedins_code, setl_time, setl_mode, mdtrt_id, has_valid, has_reversed, basis_at, allowed, why_limited)
       ON CONFLICT (setl_id) DO UPDATE SET psn_no = EXCLUDED.psn_no, insurer_code = EXCLUDED.insurer_code,
         insuplc_admdvs = EXCLUDED.insuplc_admdvs, fixmedins_code = EXCLUDED.fixmedins_code, setl_time = EXCLUDED.setl_time,
         setl_mode = EXCLUDED.setl_mode, mdtrt_id = EXCLUDED.mdtrt_id, has_valid = EXCLUDED.has_valid, has_reversed = EXCLUDED.has_reversed,
         basis_at = EXCLUDED.basis_at, allowed = EXCLUDED.allowed, why_limited = EXCLUDED.why_limited,
         fingerprint = EXCLUDED.fingerprint, computed_at = EXCLUDED.computed_at`,
      [
        col((r) => r.setl_id),
        col((r) => r.psn_no),
        col((r) => r.insurer_code),
        col((r) => r.insuplc_admdvs),
        col((r) => r.fixmedins_code),
        col((r) => r.setl_time),
        col((r) => r.setl_mode),
        col((r) => r.mdtrt_id),
        col((r) => r.has_valid),
        col((r) => r.has_reversed),
        col((r) => r.basis_at),
        col((r) => r.allowed.toExactString()),
        col((r) => r.why_limited),
        o.fingerprint,
        o.at,
      ],
    );
  }
}

/** Where a statement reads settlements: the benefit years its fund year touches, across the region's prefixes. */
export interface AllowanceReach {
  admdvsLike: readonly string[];
  from: Date;
  to: Date;
  knownAt: Date;
  fingerprint: string;
}

/**
 * The persons whose stored allowances are not current for a statement known at `knownAt` (in psn_no
 * order): every person named by a row of a settlement in reach (received by then) that has no stored
 * allowance, or one computed from other rows, from rows received after `knownAt`, or under other region
 * files — and the person its stored allowance names. A superset of the settlements' owners: a reversal
 * row may name another person.
 */
export async function staleAllowanceOwners(q: Sql, o: AllowanceReach): Promise<string[]> {
  const { rows } = await q.query<{ psn_no: string }>(
    `WITH r AS (
       SELECT setl_id, psn_no, status FROM settlement_records
        WHERE insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3 AND received_at <= $4),
     a AS (
       SELECT setl_id, psn_no, has_valid, has_reversed, basis_at, fingerprint FROM settlement_allowances
        WHERE insuplc_admdvs LIKE ANY($1::text[]) AND setl_time >= $2 AND setl_time < $3)
     SELECT DISTINCT p.psn_no FROM r FULL JOIN a USING (setl_id)
       CROSS JOIN LATERAL (VALUES (r.psn_no), (a.psn_no)) AS p(psn_no)
      WHERE p.psn_no IS NOT NULL
        AND (a.setl_id IS NULL OR r.setl_id IS NULL OR a.basis_at > $4 OR a.fingerprint <> $5
             OR (r.status = 'valid' AND NOT a.has_valid) OR (r.status = 'reversed' AND NOT a.has_reversed))
      ORDER BY p.psn_no`,
    [o.admdvsLike, o.from, o.to, o.knownAt, o.fingerprint],
  );
  return rows.map((r) => r.psn_no);
}

/** One insurer's payouts of the year's settlements added up from their stored allowances (fund/statement `AggregatedPayouts`). */
export interface AggregatedPayoutRow {
  insurer_code: string;
  compliant: Money;
  owing: number;
  limited: number;
  paid: Money;
  paid_facts: number;
  recovered: Money;
  recoveries: number;
}

/**
 * The compliant payouts of spec §8 from the stored allowances of the year's settlements (the region
 * `admdvs`, setl_time in [from, to)), leaving out the settlements of the `except` persons (those the
 * statement computes itself): per settlement min(max(net paid, 0), allowed), where net paid is what the
 * owing insurer paid the right payee (lines paid by as_of, received by known_at) less its own recoveries
 * — matching's `netPaidOf` (matching/rules/loop-state.ts), restated in SQL; test/e2e/fund-statement-
 * allowances.test.ts holds the two to the fen. Beside it, what each insurer paid for those settlements
 * in all, net of its recoveries, and what it recovered (addPayouts' paidBy and recoveredBy).
 */
export async function aggregatePayouts(
  q: Sql,
  o: { admdvs: string; from: Date; to: Date; asOf: Date; knownAt: Date; except: readonly string[] },
): Promise<AggregatedPayoutRow[]> {
  const { rows } = await q.query<{
    kind: 'owing' | 'paid' | 'recovered';
    insurer_code: string;
    amount: string;
    n: string;
    limited: string;
  }>(
    `WITH s AS NOT MATERIALIZED (
       SELECT a.setl_id, a.psn_no, a.insurer_code, a.fixmedins_code, a.setl_mode, a.allowed, a.why_limited
         FROM settlement_allowances a
        WHERE a.insuplc_admdvs LIKE $1 || '%' AND a.setl_time >= $2 AND a.setl_time < $3
          AND NOT EXISTS (SELECT 1 FROM unnest($6::text[]) AS x(psn_no) WHERE x.psn_no = a.psn_no)),
     pl AS NOT MATERIALIZED (
       SELECT l.setl_id, l.insurer_code, l.paid_amount, p.payee_type, p.payee_id
         FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
        WHERE p.pay_time <= $4 AND p.received_at <= $5),
     rc AS MATERIALIZED (
       SELECT setl_id, insurer_code, sum(amount) AS amount, count(*) AS n FROM recoveries
        WHERE recovered_at <= $4 AND received_at <= $5 GROUP BY setl_id, insurer_code),
     own AS (
       SELECT s.setl_id, s.insurer_code, s.allowed, s.why_limited, coalesce(sum(pl.paid_amount), 0) AS paid
         FROM s LEFT JOIN pl ON pl.setl_id = s.setl_id AND pl.insurer_code = s.insurer_code
              AND CASE WHEN s.setl_mode = 'direct' THEN pl.payee_type = 'institution' AND pl.payee_id = s.fixmedins_code
                       ELSE pl.payee_type = 'person' AND pl.payee_id = s.psn_no END
        GROUP BY s.setl_id, s.insurer_code, s.allowed, s.why_limited)
     SELECT 'owing' AS kind, o.insurer_code, sum(least(greatest(o.paid - coalesce(r.amount, 0), 0), o.allowed))::text AS amount,
            count(*)::text AS n, count(*) FILTER (WHERE o.why_limited IS NOT NULL)::text AS limited
       FROM own o LEFT JOIN rc r ON r.setl_id = o.setl_id AND r.insurer_code = o.insurer_code
      GROUP BY o.insurer_code
     UNION ALL
     SELECT 'paid', insurer_code, sum(amt)::text, sum(n)::text, '0' FROM (
       SELECT pl.insurer_code, sum(pl.paid_amount) AS amt, count(*) AS n FROM s JOIN pl ON pl.setl_id = s.setl_id GROUP BY pl.insurer_code
       UNION ALL SELECT r.insurer_code, -sum(r.amount), sum(r.n) FROM s JOIN rc r ON r.setl_id = s.setl_id GROUP BY r.insurer_code) x
      GROUP BY insurer_code
     UNION ALL
     SELECT 'recovered', r.insurer_code, sum(r.amount)::text, sum(r.n)::text, '0' FROM s JOIN rc r ON r.setl_id = s.setl_id
      GROUP BY r.insurer_code`,
    [o.admdvs, o.from, o.to, o.asOf, o.knownAt, o.except],
  );
  const by = new Map<string, AggregatedPayoutRow>();
  const of = (code: string) => {
    let r = by.get(code);
    if (!r) {
      r = {
        insurer_code: code,
        compliant: Money.ZERO,
        owing: 0,
        limited: 0,
        paid: Money.ZERO,
        paid_facts: 0,
        recovered: Money.ZERO,
        recoveries: 0,
      };
      by.set(code, r);
    }
    return r;
  };
  for (const r of rows) {
    const t = of(r.insurer_code);
    if (r.kind === 'owing') {
      t.compliant = Money.of(r.amount);
      t.owing = Number(r.n);
      t.limited = Number(r.limited);
    } else if (r.kind === 'paid') {
      t.paid = Money.of(r.amount);
      t.paid_facts = Number(r.n);
    } else {
      t.recovered = Money.of(r.amount);
      t.recoveries = Number(r.n);
    }
  }
  return [...by.values()].sort((a, b) => (a.insurer_code < b.insurer_code ? -1 : 1));
}
