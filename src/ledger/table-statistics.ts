/**
 * Planner statistics of the ledger's young tables, refreshed by the worker as a month arrives (it
 * arrives faster than autovacuum analyses it — and where autovacuum is off, never). Without
 * statistics PostgreSQL guesses 0.5% of a table for each value of `setl_id = ANY($1)`, i.e. the whole
 * table for a chunk of 1,000 ids: matching's fact load read every payment line and every batch item
 * for each chunk (nested loops over payments and batches, 120 ms a chunk at 300k settlements, growing
 * with the month: bench/RESULTS.md "The 1M month and its first run"); and each connection's
 * foreign-key check of payment lines was planned on an empty payments table (a sequential scan per
 * line). New statistics make every connection plan them again.
 */
import type { Db } from '../db/db';

/** The ledger tables whose statistics the worker keeps (an identifier list, never user input). */
export type LedgerTable =
  'payments' | 'payment_lines' | 'recoveries' | 'batches' | 'batch_items' | 'settlement_records' | 'settlement_loops';

/**
 * ANALYZE each table changed by more than max(`floor` (1,000), its rows) since its statistics: as a table
 * doubles, a few times in a month. Not sooner: statistics of a table of a few hundred rows make
 * PostgreSQL plan its key lookups as sequential scans, kept by each connection until the next ANALYZE
 * (payments analysed at 100 rows: the lines' foreign-key check read 24 million payment rows in a 300k
 * month, 89,000 without statistics). One ANALYZE at a time per table (a try-lock: a caller that
 * finds one running goes on without). PostgreSQL only. Returns the tables analysed.
 */
export async function analyzeStale(db: Db, tables: readonly LedgerTable[], floor = 1000): Promise<LedgerTable[]> {
  const { rows } = await db.query<{ relname: LedgerTable }>(
    `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.relid = ANY($1::regclass[]) AND s.n_mod_since_analyze > greatest($2::bigint, c.reltuples)`,
    [tables, floor],
  );
  const done: LedgerTable[] = [];
  for (const table of tables.filter((t) => rows.some((r) => r.relname === t))) {
    await db.tx(async (q) => {
      const lock = await q.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_xact_lock(hashtextextended('analyze:' || $1::text, 0)) AS ok`,
        [table],
      );
      if (!lock.rows[0]!.ok) return;
      await q.query(`ANALYZE ${table}`);
      done.push(table);
    });
  }
  return done;
}
