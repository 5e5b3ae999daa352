/**
 * One database per test file (STYLE.md): created fresh on the real PostgreSQL, dropped afterwards.
 * TEST_DATABASE_URL points at any database of the server (default: the local `test` database).
 */
import { Client } from 'pg';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** `adminUrl`: another server's database (the chaos test's own PostgreSQL). */
export async function createTestDatabase(
  name: string,
  adminUrl = ADMIN_URL,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = `gwt_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}`.slice(0, 63);
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDb(adminUrl, db),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
