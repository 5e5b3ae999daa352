/**
 * For the tests that hold a statement to its plan (a probe per row, never a read of the whole
 * table): a migrated database of the test file's own, the sequential scans of a table counted in
 * the current transaction, and agency feed records prepared as the feed route prepares them.
 */
import { createPgDb, type Db, type Sql } from '../../src/db/db';
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
