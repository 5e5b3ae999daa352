/**
 * The loop state of each settlement as matching last computed it: the only module that writes
 * `settlement_loops` (derived data, an upsert target; the reconciliation read models read it).
 */
import type { Sql } from '../db/db';

/** A loop's audited figures as stored, in text form (numeric and date as PostgreSQL prints them; closed_at ISO UTC with ms). */
export interface StoredLoopFigures {
  setl_id: string;
  status: string;
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  due_date: string;
  closed_at: string | null;
}

/**
 * The stored figures of these settlements' loops (none for a settlement without a loop row), read
 * under their groups' locks before the facts, with what an evaluation driven by messages needs to
 * know of each row:
 *  - `fresh`: another evaluation has already read the facts after `factsAfter` (a time after the
 *    messages' facts were committed: facts_seen_at is taken before that evaluation's read), and its
 *    result holds as of `asOf` (no check point at or before asOf: a result is constant in asOf
 *    between its check points, matching/sweep.ts) — evaluating it again would give the same row and
 *    the same findings;
 *  - `readAt`: the database's clock now, before this evaluation reads the facts (its facts_seen_at),
 *    as PostgreSQL prints it (exact to the microsecond, as `factsAfter` must be).
 * Each id is a probe of the primary key (lateral, OFFSET 0: the planner keeps it as it is). As
 * `l.setl_id = ANY($1)` the planner read the whole table while it was young (a sequential scan
 * of 25,000 loops per chunk of 180 ids in the matching-latency bench: 2.7 ms where the probes
 * take 0.3-0.5 ms, and growing with the table until its statistics catch up). Run on every chunk:
 * a named statement (db.ts), parsed and planned once per connection.
 */
export async function loadLoopFreshness(
  q: Sql,
  setlIds: readonly string[],
  factsAfter: string | undefined,
  asOf: Date,
): Promise<{ figures: StoredLoopFigures[]; fresh: Set<string>; readAt: string }> {
  const { rows } = await q.query<StoredLoopFigures & { fresh: boolean | null; read_at: string }>(
    `SELECT l.setl_id, l.status, l.owed::text, l.paid::text, l.rejected::text, l.recovered::text, l.outstanding::text, l.due_date::text,
            to_char(l.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS closed_at,
            l.facts_seen_at > $2::timestamptz AND (l.next_check_at IS NULL OR l.next_check_at > $3::timestamptz) AS fresh, c.read_at
       FROM (SELECT clock_timestamp()::text AS read_at) c
       LEFT JOIN ((SELECT DISTINCT unnest($1::text[]) AS id) AS ids
         CROSS JOIN LATERAL (SELECT * FROM settlement_loops l WHERE l.setl_id = ids.id OFFSET 0) l) ON true`,
    [setlIds, factsAfter ?? null, asOf],
    { name: 'loop-freshness' },
  );
  const figures: StoredLoopFigures[] = [];
  const fresh = new Set<string>();
  for (const r of rows) {
    if (r.setl_id === null) continue;
    if (r.fresh) fresh.add(r.setl_id);
    const { fresh: _f, read_at: _r, ...f } = r;
    figures.push(f);
  }
  return { figures, fresh, readAt: rows[0]!.read_at };
}

/** The settlements whose loop's next check is due by `at` (the index settlement_loops_next_check). */
export async function loopsDueBy(q: Sql, at: Date): Promise<string[]> {
  const { rows } = await q.query<{ setl_id: string }>(
    'SELECT setl_id FROM settlement_loops WHERE next_check_at IS NOT NULL AND next_check_at <= $1',
    [at],
  );
  return rows.map((r) => r.setl_id);
}

/** One loop row to write: amounts as decimal strings, due_date yyyy-MM-dd. */
export interface LoopRow {
  setl_id: string;
  status: string;
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  due_date: string;
  due_at: Date;
  closed_at: Date | null;
  admdvs: string;
  insurer_code: string;
  fixmedins_code: string;
  period: string;
  /** When the result can change with no new fact (the re-check time), or null. */
  next_check_at: Date | null;
}

/** upsertLoops's conflict clause: a row already there takes the new evaluation whole. */
const UPDATE_ON_CONFLICT = `
     ON CONFLICT (setl_id) DO UPDATE SET status = EXCLUDED.status, owed = EXCLUDED.owed, paid = EXCLUDED.paid, rejected = EXCLUDED.rejected,
       recovered = EXCLUDED.recovered, outstanding = EXCLUDED.outstanding, due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at,
       closed_at = EXCLUDED.closed_at, admdvs = EXCLUDED.admdvs, insurer_code = EXCLUDED.insurer_code, fixmedins_code = EXCLUDED.fixmedins_code,
       period = EXCLUDED.period, evaluated_at = EXCLUDED.evaluated_at, next_check_at = EXCLUDED.next_check_at, facts_seen_at = EXCLUDED.facts_seen_at`;

/**
 * Insert or replace the loop rows, evaluated at `evaluatedAt`, one statement; facts_seen_at is
 * `factsSeenAt` (when the evaluation read the facts: loadLoopFreshness's readAt), else now().
 * The rows go as one JSON parameter read by json_to_recordset: node-pg would turn 15 array
 * parameters of a 1,000-settlement chunk into array literals element by element in JavaScript
 * (escaping each), where JSON.stringify is native.
 *
 * `allNew`: the caller knows that none of the rows exists (it read them with loadLoopFreshness under
 * their groups' advisory locks, which every writer of a loop holds): a plain INSERT, without the
 * speculative insertion of ON CONFLICT (~15 % of the statement's PostgreSQL CPU for 180 new rows).
 * Were one there after all, the INSERT fails (unique violation) and the transaction with it.
 * Either form is a named statement (db.ts): parsed and planned once per connection, not per chunk.
 */
export async function upsertLoops(
  q: Sql,
  rows: readonly LoopRow[],
  evaluatedAt: Date,
  factsSeenAt?: string,
  allNew = false,
): Promise<void> {
  if (!rows.length) return;
  await q.query(
    `INSERT INTO settlement_loops (setl_id, status, owed, paid, rejected, recovered, outstanding, due_date, due_at, closed_at,
       admdvs, insurer_code, fixmedins_code, period, evaluated_at, next_check_at, facts_seen_at)
     SELECT u.setl_id, u.status, u.owed, u.paid, u.rejected, u.recovered, u.outstanding, u.due_date, u.due_at, u.closed_at,
       u.admdvs, u.insurer_code, u.fixmedins_code, u.period, $2::timestamptz, u.next_check_at, coalesce($3::timestamptz, now())
       FROM json_to_recordset($1::json) AS u(setl_id text, status text, owed numeric, paid numeric, rejected numeric, recovered numeric,
         outstanding numeric, due_date date, due_at timestamptz, closed_at timestamptz, admdvs text, insurer_code text, fixmedins_code text,
         period text, next_check_at timestamptz)${allNew ? '' : UPDATE_ON_CONFLICT}`,
    // Dates as ISO UTC with milliseconds (what node-pg sends for a Date, in another zone), each
    // instant written once: a chunk's rows share a few due dates and payment times, and JSON.stringify
    // calling toJSON on every Date was three quarters of the parameter's cost.
    [loopRowsJson(rows), evaluatedAt, factsSeenAt ?? null],
    { name: allNew ? 'loop-insert' : 'loop-upsert' },
  );
}

/** The rows as upsertLoops's JSON parameter (JSON.stringify of the rows, their Dates as ISO strings). */
function loopRowsJson(rows: readonly LoopRow[]): string {
  const iso = new Map<number, string>();
  const isoOf = (d: Date | null): string | null => {
    if (d === null) return null;
    const t = d.getTime();
    let s = iso.get(t);
    if (s === undefined) iso.set(t, (s = d.toISOString()));
    return s;
  };
  return JSON.stringify(
    rows.map((r) => ({
      ...r,
      due_at: isoOf(r.due_at),
      closed_at: isoOf(r.closed_at),
      next_check_at: isoOf(r.next_check_at),
    })),
  );
}
