/**
 * Schema changes apply themselves at start-up (spec §5 "Running"): every `migrations/*.sql` file not
 * yet recorded runs once, in file-name order, each in its own transaction. An advisory lock keeps
 * two processes starting at once from applying the same file twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
const LOCK_KEY = 7_340_112; // arbitrary, constant: "gateway migrations"

export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const applied: string[] = [];
  await db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const file of files) {
    await db.tx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const done = await q.query('SELECT 1 FROM schema_migrations WHERE name = $1', [file]);
      if (done.rowCount > 0) return;
      await q.exec(fs.readFileSync(path.join(dir, file), 'utf8'));
      await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    });
  }
  return applied;
}

const identities = new WeakMap<Db, Promise<string>>();

/**
 * A short name of this database, stable for its life and different for another database: the
 * instant its first migration was applied (microseconds, base 36). Queue job ids that dedupe by
 * content (re-checks of an instant) carry it, because a fresh database on the same Redis and queue
 * prefix would otherwise find an earlier database's completed job of the same id and never run its own.
 */
export function databaseIdentity(db: Db): Promise<string> {
  let id = identities.get(db);
  if (!id) {
    id = db
      .query<{ us: string | null }>(
        `SELECT (extract(epoch FROM min(applied_at)) * 1000000)::bigint::text AS us FROM schema_migrations`,
      )
      .then((r) => BigInt(r.rows[0]?.us ?? '0').toString(36));
    id.catch(() => identities.delete(db));
    identities.set(db, id);
  }
  return id;
}
