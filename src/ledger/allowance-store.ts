/**
 * What each settlement allows and what it was paid, as the fund-year statement last computed them with
 * the pure rules (src/fund/statement/payouts.ts) — the only module that reads or writes
 * `settlement_allowances` and `allowance_bases` (migration 160).
 *
 * A statement (src/fund/statement-service.ts) takes a snapshot before it reads anything
 * (`takeSnapshot`), asks which persons of its reach have facts the stored rows do not reflect
 * (`changedPersons`), runs the rules again for those persons only, stores what it found
 * (`storePayouts`, `saveBasis`), and adds up the rest here (`storedTotals`) — one pass over narrow
 * rows instead of reading a million settlements into Node.
 *
 * When is a stored row current? Facts are only ever inserted (settlement_records ON CONFLICT DO
 * NOTHING, a reversal is a row of its own; payments with their lines; recoveries). The basis of a
 * reach says: every fact visible in its snapshot and received by its known_at is reflected. A fact
 * is new when its inserting transaction is not visible in that snapshot — whatever its received_at,
 * so a transaction that committed after the statement read is caught — or when it was received
 * after the basis's known_at. The payout figures hold for an as_of between the latest and the next
 * date of the settlement's lines and recoveries (valid_from, valid_until).
 */
import type { Sql } from '../db/db';
import { Money } from '../money';

/** The transaction's snapshot (txid_snapshot text), taken before the statement reads its facts. */
export async function takeSnapshot(q: Sql): Promise<string> {
  const { rows } = await q.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`);
  return rows[0]!.s;
}

export interface AllowanceBasis {
  snapshot: string;
  known_at: Date;
  fingerprint: string;
}

/**
 * What the stored rows of a reach reflect (undefined: nothing stored for it yet, or a snapshot from
 * another life of the database — restored from a dump into a new cluster, whose transaction ids start
 * again below it, so that visibility in it would say nothing).
 */
export async function loadBasis(q: Sql, reach: string): Promise<AllowanceBasis | undefined> {
  const { rows } = await q.query<AllowanceBasis & { ordered: boolean }>(
    `SELECT snapshot, known_at, fingerprint, pg_current_xact_id() >= pg_snapshot_xmax(snapshot::pg_snapshot) AS ordered
       FROM allowance_bases WHERE reach = $1`,
    [reach],
  );
  const b = rows[0];
  return b?.ordered ? { snapshot: b.snapshot, known_at: b.known_at, fingerprint: b.fingerprint } : undefined;
}

export async function saveBasis(q: Sql, reach: string, b: AllowanceBasis, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO allowance_bases (reach, snapshot, known_at, fingerprint, computed_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (reach) DO UPDATE SET snapshot = EXCLUDED.snapshot, known_at = EXCLUDED.known_at,
       fingerprint = EXCLUDED.fingerprint, computed_at = EXCLUDED.computed_at`,
    [reach, b.snapshot, b.known_at, b.fingerprint, at],
  );
}

/** Another insurer's lines and recoveries on a settlement (rare). */
export interface OtherPayer {
  insurer_code: string;
  paid: string;
  paid_facts: number;
  recovered: string;
  recoveries: number;
}

/** One settlement's row to store. Without `figures`: a settlement outside the statement's year (its allowance only). */
export interface PayoutRow {
  setl_id: string;
  psn_no: string;
  insurer_code: string;
  insuplc_admdvs: string;
  setl_time: Date;
  volatile: boolean;
  allowed: Money;
  why_limited: string | null;
  figures?: {
    compliant: Money;
    paid_own: Money;
    paid_own_facts: number;
    recovered_own: Money;
    recoveries_own: number;
    others: OtherPayer[] | null;
    /** The latest date of the facts counted (null: none). */
    latest_fact_at: Date | null;
  };
}

/** Rows written per statement: the cold statement of a region-year stores every settlement's. */
const STORE_ROWS = 10_000;

/**
 * Inserts or replaces these settlements' rows. valid_until — the first date of a line or recovery of the
 * settlement after `asOf`, at which a later statement would count one more — is read here.
 */
export async function storePayouts(q: Sql, rows: readonly PayoutRow[], o: { asOf: Date; at: Date }): Promise<void> {
  for (let i = 0; i < rows.length; i += STORE_ROWS) {
    const part = rows.slice(i, i + STORE_ROWS);
    const col = <T>(f: (r: PayoutRow) => T) => part.map(f);
    await q.query(
      `WITH fut AS (
         SELECT setl_id, min(t) AS t FROM (
           SELECT l.setl_id, p.pay_time AS t FROM payment_lines l JOIN payments p ON p.insurer_code = l.insurer_code AND p.payment_id = l.payment_id
            WHERE l.setl_id = ANY($1::text[]) AND p.pay_time > $17
           UNION ALL SELECT c.setl_id, c.recovered_at FROM recoveries c WHERE c.setl_id = ANY($1::text[]) AND c.recovered_at > $17) x
          GROUP BY setl_id)
       INSERT INTO settlement_allowances (setl_id, psn_no, insurer_code, insuplc_admdvs, setl_time, volatile, allowed, why_limited,
         compliant, paid_own, paid_own_facts, recovered_own, recoveries_own, others, valid_from, valid_until, computed_at)
       SELECT u.setl_id, u.psn_no, u.insurer_code, u.insuplc_admdvs, u.setl_time, u.volatile, u.allowed, u.why_limited,
              u.compliant, u.paid_own, u.paid_own_facts, u.recovered_own, u.recoveries_own, u.others, v.valid_from,
              CASE WHEN v.valid_from IS NOT NULL THEN fut.t END, $18
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::boolean[], $7::numeric[], $8::text[],
                     $9::numeric[], $10::numeric[], $11::int[], $12::numeric[], $13::int[], $14::jsonb[], $15::timestamptz[], $16::boolean[])
           AS u(setl_id, psn_no, insurer_code, insuplc_admdvs, setl_time, volatile, allowed, why_limited,
                compliant, paid_own, paid_own_facts, recovered_own, recoveries_own, others, latest, has_figures)
         LEFT JOIN fut ON fut.setl_id = u.setl_id
         CROSS JOIN LATERAL (SELECT CASE WHEN u.has_figures THEN coalesce(u.latest, '-infinity') END AS valid_from) v
       ON CONFLICT (setl_id) DO UPDATE SET psn_no = EXCLUDED.psn_no, insurer_code = EXCLUDED.insurer_code,
         insuplc_admdvs = EXCLUDED.insuplc_admdvs, setl_time = EXCLUDED.setl_time, volatile = EXCLUDED.volatile,
         allowed = EXCLUDED.allowed, why_limited = EXCLUDED.why_limited, compliant = EXCLUDED.compliant,
         paid_own = EXCLUDED.paid_own, paid_own_facts = EXCLUDED.paid_own_facts, recovered_own = EXCLUDED.recovered_own,
         recoveries_own = EXCLUDED.recoveries_own, others = EXCLUDED.others, valid_from = EXCLUDED.valid_from,
         valid_until = EXCLUDED.valid_until, computed_at = EXCLUDED.computed_at
       -- a statement that started earlier (another reach sharing the person) never puts older figures over newer ones
       WHERE settlement_allowances.computed_at <= EXCLUDED.computed_at`,
      [
        col((r) => r.setl_id),
        col((r) => r.psn_no),
        col((r) => r.insurer_code),
        col((r) => r.insuplc_admdvs),
        col((r) => r.setl_time),
        col((r) => r.volatile),
        col((r) => r.allowed.toExactString()),
        col((r) => r.why_limited),
        col((r) => r.figures?.compliant.toExactString() ?? null),
        col((r) => r.figures?.paid_own.toExactString() ?? null),
        col((r) => r.figures?.paid_own_facts ?? null),
        col((r) => r.figures?.recovered_own.toExactString() ?? null),
        col((r) => r.figures?.recoveries_own ?? null),
        col((r) => (r.figures?.others ? JSON.stringify(r.figures.others) : null)),
        col((r) => r.figures?.latest_fact_at ?? null),
        col((r) => r.figures !== undefined),
        o.asOf,
        o.at,
      ],
    );
  }
}

/**
 * Fresh planner statistics after a statement stored many rows (its region-year's first): the same
 * transaction reads them next, and a table planned as empty is joined by nested loops.
 */
export async function analyzePayouts(q: Sql): Promise<void> {
  await q.query('ANALYZE settlement_allowances');
}

/**
 * Whether a row's inserting transaction (its xmin) is not visible in the basis snapshot `lim.snap`:
 * a candidate when not older than the snapshot's xmin (age() on the 32-bit id, cheap), then checked
 * exactly with its 64-bit id (the current epoch's, or the one before when the counter wrapped since).
 */
const isNew = (t: string) => `(age(${t}.xmin) <= lim.a AND NOT pg_visible_in_snapshot(
    ((lim.cur - ((lim.cur % 4294967296 - ${t}.xmin::text::int8 + 4294967296) % 4294967296))::text::xid8), lim.snap))`;

/** Where the statement stands: its reach (the benefit years its fund year touches) and its own year. */
export interface PayoutReach {
  admdvsLike: readonly string[];
  from: Date;
  to: Date;
  /** The statement's region and fund year (the window its payouts are of). */
  admdvs: string;
  yearFrom: Date;
  yearTo: Date;
  asOf: Date;
}

/**
 * The persons (psn_no order) with a fact new since the basis: named by a settlement row of the reach that
 * is new (and the person its stored row names), or owning a stored settlement with a new payment or
 * recovery. (Those whose stored figures do not hold at the statement's as_of are found by storedTotals.)
 */
export async function changedPersons(q: Sql, o: PayoutReach, basis: AllowanceBasis): Promise<string[]> {
  const { rows } = await q.query<{ psn_no: string }>(
    `WITH lim AS MATERIALIZED (
       SELECT $4::pg_snapshot AS snap, $5::timestamptz AS known,
              age((pg_snapshot_xmin($4::pg_snapshot)::text::int8 % 4294967296)::text::xid) AS a,
              pg_current_xact_id()::text::int8 AS cur)
     SELECT DISTINCT psn_no FROM (
       -- and the person its stored row names: a valid row arriving after its reversal makes it another person's
       SELECT unnest(ARRAY[r.psn_no, a.psn_no]) AS psn_no FROM (
         SELECT r.setl_id, r.psn_no FROM settlement_records r CROSS JOIN lim
          WHERE r.insuplc_admdvs LIKE ANY($1::text[]) AND r.setl_time >= $2 AND r.setl_time < $3
            AND (r.received_at > lim.known OR ${isNew('r')})) r
         LEFT JOIN LATERAL (SELECT a.psn_no FROM settlement_allowances a WHERE a.setl_id = r.setl_id) a ON true
       UNION ALL
       -- a payment's lines are written with it (ledger/payment-store.ts): a new payment is new lines
       SELECT a.psn_no FROM payments p CROSS JOIN lim
         JOIN payment_lines l ON l.insurer_code = p.insurer_code AND l.payment_id = p.payment_id
         JOIN settlement_allowances a ON a.setl_id = l.setl_id
        WHERE p.received_at > lim.known OR ${isNew('p')}
       UNION ALL
       SELECT a.psn_no FROM recoveries c CROSS JOIN lim JOIN settlement_allowances a ON a.setl_id = c.setl_id
        WHERE c.received_at > lim.known OR ${isNew('c')}
) x
      WHERE psn_no IS NOT NULL
     ORDER BY psn_no`,
    [o.admdvsLike, o.from, o.to, basis.snapshot, basis.known_at],
  );
  return rows.map((r) => r.psn_no);
}

/** One insurer's payouts of the year's settlements added up from the stored rows (fund/statement `AggregatedPayouts`). */
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

const IN_YEAR = `a.insuplc_admdvs LIKE $1 || '%' AND a.setl_time >= $2 AND a.setl_time < $3`;

type TotalsRow = {
  insurer_code: string;
  compliant: string | null;
  owing: string;
  limited: string;
  paid: string | null;
  paid_facts: string | null;
  recovered: string | null;
  recoveries: string | null;
};

function totalsOf(rows: readonly TotalsRow[]): Map<string, AggregatedPayoutRow> {
  const out = new Map<string, AggregatedPayoutRow>();
  for (const r of rows) {
    const t = out.get(r.insurer_code) ?? {
      insurer_code: r.insurer_code,
      compliant: Money.ZERO,
      owing: 0,
      limited: 0,
      paid: Money.ZERO,
      paid_facts: 0,
      recovered: Money.ZERO,
      recoveries: 0,
    };
    t.compliant = t.compliant.plus(Money.of(r.compliant ?? '0'));
    t.owing += Number(r.owing);
    t.limited += Number(r.limited);
    t.paid = t.paid.plus(Money.of(r.paid ?? '0'));
    t.paid_facts += Number(r.paid_facts ?? 0);
    t.recovered = t.recovered.plus(Money.of(r.recovered ?? '0'));
    t.recoveries += Number(r.recoveries ?? 0);
    out.set(r.insurer_code, t);
  }
  return out;
}

const SUMS = `sum(a.compliant)::text AS compliant, count(*)::text AS owing, count(*) FILTER (WHERE a.why_limited IS NOT NULL)::text AS limited,
  sum(a.paid_own - a.recovered_own)::text AS paid, sum(a.paid_own_facts)::text AS paid_facts, sum(a.recovered_own)::text AS recovered,
  sum(a.recoveries_own)::text AS recoveries`;

/** What other insurers paid and recovered on the stored settlements of the year (of these persons only, when given). */
const OTHERS = (persons: string) => `
  SELECT e->>'insurer_code' AS insurer_code, '0' AS compliant, '0' AS owing, '0' AS limited,
         sum((e->>'paid')::numeric - (e->>'recovered')::numeric)::text AS paid, sum((e->>'paid_facts')::int)::text AS paid_facts,
         sum((e->>'recovered')::numeric)::text AS recovered, sum((e->>'recoveries')::int)::text AS recoveries
    FROM settlement_allowances a CROSS JOIN LATERAL jsonb_array_elements(a.others) AS e
   WHERE a.others IS NOT NULL AND ${IN_YEAR}${persons}
   GROUP BY 1`;

/**
 * The stored payouts of the statement's year (region `admdvs`, setl_time in [yearFrom, yearTo)) added up
 * per insurer — per owing insurer the compliant payouts, the settlements and how many were
 * limited; per paying insurer what it paid for them net of its recoveries, and what it recovered —
 * and, in the same round trip, the persons whose stored figures do not stand for this statement: not
 * computed (a settlement read for its person's benefit year), not holding at its as_of (a payment or
 * recovery dated between), or of a person with a manual settlement (judged every time).
 * With `persons`: the same sums of those persons' rows only (to take them out of the totals).
 */
export async function storedTotals(
  q: Sql,
  o: Pick<PayoutReach, 'admdvs' | 'yearFrom' | 'yearTo' | 'asOf'>,
  persons?: readonly string[],
): Promise<{ totals: Map<string, AggregatedPayoutRow>; unsure: string[] }> {
  await q.query(`SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)`);
  if (persons) {
    if (!persons.length) return { totals: new Map(), unsure: [] };
    const only = ` AND a.psn_no = ANY($4::text[])`;
    const { rows } = await q.query<TotalsRow>(
      `SELECT a.insurer_code, ${SUMS} FROM settlement_allowances a WHERE ${IN_YEAR}${only} GROUP BY a.insurer_code
       UNION ALL ${OTHERS(only)}`,
      [o.admdvs, o.yearFrom, o.yearTo, persons],
    );
    return { totals: totalsOf(rows), unsure: [] };
  }
  const { rows } = await q.query<TotalsRow & { unsure: string | null; by_person: number }>(
    `SELECT 0 AS by_person, a.insurer_code, NULL AS unsure, ${SUMS}
       FROM settlement_allowances a WHERE ${IN_YEAR} GROUP BY a.insurer_code
     UNION ALL
     SELECT DISTINCT 1, '', a.psn_no, '0', '0', '0', '0', '0', '0', '0'
       FROM settlement_allowances a
      WHERE ${IN_YEAR} AND (a.volatile OR a.valid_from IS NULL OR $4 < a.valid_from OR $4 >= a.valid_until)
     UNION ALL SELECT 0, o.insurer_code, NULL, o.compliant, o.owing, o.limited, o.paid, o.paid_facts, o.recovered, o.recoveries
       FROM (${OTHERS('')}) o`,
    [o.admdvs, o.yearFrom, o.yearTo, o.asOf],
  );
  return {
    totals: totalsOf(rows.filter((r) => Number(r.by_person) === 0)),
    unsure: rows.filter((r) => Number(r.by_person) === 1 && r.unsure !== null).map((r) => r.unsure!),
  };
}

/** The totals less those of some persons, per insurer (an insurer left with nothing is dropped). */
export function totalsWithout(
  all: ReadonlyMap<string, AggregatedPayoutRow>,
  some: ReadonlyMap<string, AggregatedPayoutRow>,
): AggregatedPayoutRow[] {
  const out: AggregatedPayoutRow[] = [];
  for (const [code, a] of [...all].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const b = some.get(code);
    const r = b
      ? {
          insurer_code: code,
          compliant: a.compliant.minus(b.compliant),
          owing: a.owing - b.owing,
          limited: a.limited - b.limited,
          paid: a.paid.minus(b.paid),
          paid_facts: a.paid_facts - b.paid_facts,
          recovered: a.recovered.minus(b.recovered),
          recoveries: a.recoveries - b.recoveries,
        }
      : a;
    if (r.owing > 0 || r.paid_facts > 0 || r.recoveries > 0) out.push(r);
  }
  return out;
}
