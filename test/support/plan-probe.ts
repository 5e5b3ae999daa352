/**
 * For the tests that hold a statement to its plan (a probe per row, never a read of the whole
 * table): a migrated database of the test file's own, the sequential scans of a table counted in
 * the current transaction, and agency feed records prepared as the feed route prepares them.
 */
import { createPgDb, type Db, type Sql } from '../../src/db/db';
import type { LoopRow } from '../../src/ledger/loop-store';
import { migrate } from '../../src/db/migrate';
import { SchemaValidator } from '../../src/schemas/validator';
import { prepareValues, type FeedClient } from '../../src/ingest/feed-records';
import { createTestDatabase } from './test-db';

export async function migratedDatabase(name: string): Promise<{ db: Db; close: () => Promise<void> }> {
  const t = await createTestDatabase(name);
  const db = createPgDb(t.url, 2);
  await migrate(db);
  return {
    db,
    close: async () => {
      await db.close();
      await t.drop();
    },
  };
}

/** Sequential scans of `table` so far in `q`'s transaction (pg_stat_xact_user_tables). */
export async function seqScans(q: Sql, table: string): Promise<number> {
  const { rows } = await q.query<{ n: string }>(
    'SELECT seq_scan AS n FROM pg_stat_xact_user_tables WHERE relname = $1',
    [table],
  );
  return Number(rows[0]!.n);
}

/** The indexes of `table` by name, each as its definition after USING (`btree (…) WHERE …`). */
export async function indexesOf(q: Sql, table: string): Promise<{ indexname: string; indexdef: string }[]> {
  const { rows } = await q.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, regexp_replace(indexdef, '^.* USING ', '') AS indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`,
    [table],
  );
  return rows;
}

/**
 * Loop row `${prefix}${n}` of 533102 / PICC_DH / 2026-10, due 2026-11-30: owed 100.00 unpaid (with its
 * check point at the due time), closed (paid), or reversed (owes nothing).
 */
export const loopRow = (prefix: string, n: number, status: 'owed' | 'closed' | 'reversed'): LoopRow => ({
  setl_id: `${prefix}${n}`,
  status,
  owed: status === 'reversed' ? '0.00' : '100.00',
  paid: status === 'closed' ? '100.00' : '0.00',
  rejected: '0.00',
  recovered: '0.00',
  outstanding: status === 'owed' ? '100.00' : '0.00',
  due_date: '2026-11-30',
  due_at: new Date('2026-11-30T16:00:00Z'),
  closed_at: status === 'closed' ? new Date('2026-11-12T02:03:04.005Z') : null,
  admdvs: '533102',
  insurer_code: 'PICC_DH',
  fixmedins_code: `H5331020${String(n % 50).padStart(4, '0')}`,
  period: '2026-10',
  next_check_at: status === 'owed' ? new Date('2026-11-30T16:00:00Z') : null,
});

const agency: FeedClient = { client_id: 'dehong-agency', role: 'agency', scope: ['5331', '1509'] };
const validator = new SchemaValidator();

/** Feed records as an agency of 5331 and 1509 sends them, validated and prepared for the insert. */
export const agencyFeedRows = (records: unknown[]) =>
  prepareValues(
    records.map((value, index) => ({ index, value })),
    agency,
    validator.validate.bind(validator),
    'en',
  );
