/**
 * Named prepared statements (db.ts `query(text, params, { name })`): a connection keeps a named
 * statement, so a table changed under it (a rolling upgrade whose migration alters a column the
 * statement returns) makes it fail on that connection with "cached plan must not change result type".
 * The failing transaction must take its connection out of the pool, so that the retry runs it afresh
 * — kept, the connection would fail every chunk the worker gives it until the process restarts.
 */
import { createPgDb, type Db } from '../../src/db/db';
import { createTestDatabase } from '../support/test-db';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  const t = await createTestDatabase('db-named-statements');
  drop = t.drop;
  // One connection: the retry gets a fresh one only if the failed one was discarded.
  db = createPgDb(t.url, 1);
  await db.exec(
    'CREATE TABLE named_probe (id int PRIMARY KEY, amount int NOT NULL); INSERT INTO named_probe VALUES (1, 7)',
  );
});
afterAll(async () => {
  await db.close();
  await drop();
});

const read = () =>
  db.tx(
    async (q) =>
      (await q.query<{ amount: unknown }>('SELECT amount FROM named_probe WHERE id = $1', [1], { name: 'named-probe' }))
        .rows[0]!.amount,
  );

test('when a named statement runs again, then it gives the same answer on the same connection', async () => {
  expect(await read()).toBe(7);
  expect(await read()).toBe(7);
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_prepared_statements WHERE name = 'named-probe'`,
  );
  expect(rows[0]!.n).toBe('1');
});

test('when the table changed under a named statement, then that transaction fails, and the next one runs on a fresh connection', async () => {
  expect(await read()).toBe(7);
  await db.exec('ALTER TABLE named_probe ALTER COLUMN amount TYPE numeric(16,2)');
  await expect(read()).rejects.toMatchObject({ code: '0A000' });
  expect(await read()).toBe('7.00');
  expect(await read()).toBe('7.00');
});
