/**
 * AUDIT SHARDS (issue 15 item 2): the hash-chained audit trail is REGION_CHAINS chains per region
 * (src/audit/audit-trail.ts), each with its own lock and its own sealed head; a transaction appends
 * to the first chain of its region no other transaction holds.
 * - While a transaction holds a Dehong chain, a Jiaozuo change and another Dehong change commit
 *   (the latter in Dehong's next chain); only when every Dehong chain is held does a Dehong change wait.
 * - verify-audit finds an edited event, an event removed in the middle of a chain, and a chain's
 *   last event removed (which no link can show: the chain's head record does).
 * - The single chain written before migration 150 still verifies afterwards, as shard 0, and new
 *   events go to region chains beside it.
 * No timing in assertions: "does not wait" is shown by a commit completing while the other
 * transaction is still open; "waits" by PostgreSQL listing the backend as waiting for a lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendAudit, eventHash, REGION_CHAINS, verifyAudit, type AuditEvent } from '../../src/audit/audit-trail';
import { changeStatus, syncGroup } from '../../src/discrepancies/case-store';
import { createPgDb, type Db } from '../../src/db/db';
import { migrate } from '../../src/db/migrate';
import type { Finding } from '../../src/matching';
import { createTestDatabase } from '../support/test-db';

const AT = new Date('2025-04-10T02:00:00Z');
const MIGRATIONS = path.resolve(__dirname, '..', '..', 'src', 'db', 'migrations');

const finding = (setlId: string, admdvs: string): Finding<object> => ({
  code: 'PAYMENT_OVERDUE',
  severity: 'high',
  subject_key: `settlement:${setlId}`,
  admdvs,
  insurer_code: 'PICC_DH',
  period: '2025-03',
  setl_id: setlId,
  detail: `Settlement ${setlId} is overdue.`,
  evidence: {},
});

/** As a superuser could: switch the trigger off, change the rows, switch it back on. */
const tamper = (db: Db, sql: string) =>
  db.tx(async (q) => {
    await q.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
    await q.query(sql);
    await q.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
  });

interface EventRow {
  seq: string;
  at: Date;
  entity: string;
  entity_id: string;
  action: string;
  actor: string;
  data: object;
  prev_hash: string;
  hash: string;
  shard: number;
}
const rowOf = async (db: Db, seq: string) =>
  (await db.query<EventRow>('SELECT * FROM audit_events WHERE seq = $1', [seq])).rows[0]!;
/** Put a removed or edited row back as it was (seq included): the chain is whole again. */
const restore = (db: Db, r: EventRow) =>
  tamper(
    db,
    `DELETE FROM audit_events WHERE seq = ${r.seq};
  INSERT INTO audit_events (seq, at, entity, entity_id, action, actor, data, prev_hash, hash, shard)
  VALUES (${r.seq}, '${r.at.toISOString()}', '${r.entity}', '${r.entity_id}', '${r.action}', '${r.actor}', '${JSON.stringify(r.data)}', '${r.prev_hash}', '${r.hash}', ${r.shard})`,
  );

describe('region chains', () => {
  let drop: () => Promise<void>;
  let db: Db;
  const cases: Record<string, string> = {};

  beforeAll(async () => {
    const t = await createTestDatabase('audit-shards');
    drop = t.drop;
    db = createPgDb(t.url, 16);
    await migrate(db);
    // Two cases in Dehong (5331), one in Jiaozuo (4108).
    for (const [id, admdvs] of [
      ['S-DH-1', '533102'],
      ['S-DH-2', '533103'],
      ['S-JZ-1', '410802'],
    ] as const) {
      const r = await db.tx((q) => syncGroup(q, `setl:${id}`, [finding(id, admdvs)], AT));
      cases[id] = r.opened[0]!;
    }
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  test("each case's events are in its region's first chain, and every chain has a head", async () => {
    const { rows } = await db.query<{ shard: number; n: string }>(
      'SELECT shard, count(*)::text AS n FROM audit_events GROUP BY shard ORDER BY shard',
    );
    expect(rows).toEqual([
      { shard: 410800, n: '1' },
      { shard: 533100, n: '2' },
    ]);
    const r = await verifyAudit(db);
    expect(r).toMatchObject({
      checked: 3,
      shards: [
        { shard: 410800, events: 1 },
        { shard: 533100, events: 2 },
      ],
    });
    expect(r.brokenAt).toBeUndefined();
  });

  test('while a transaction holds a Dehong chain, a Jiaozuo change and another Dehong change commit; with every Dehong chain held, a Dehong change waits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held!: () => void;
    const holding = new Promise<void>((r) => {
      held = r;
    });
    const dehong = db.tx(async (q) => {
      expect(await changeStatus(q, cases['S-DH-1']!, 'acknowledge', 'looking into it', 'ops1', AT)).toBe(true);
      held();
      await gate;
    });
    await holding;

    // Jiaozuo's chains are free; Dehong's chain 0 is held, its chain 1 is free: both commit now.
    expect(await db.tx((q) => changeStatus(q, cases['S-JZ-1']!, 'acknowledge', 'other region', 'ops2', AT))).toBe(true);
    expect(await db.tx((q) => changeStatus(q, cases['S-DH-2']!, 'acknowledge', 'same region', 'ops3', AT))).toBe(true);
    const { rows: placed } = await db.query<{ shard: number; actor: string }>(
      `SELECT shard, actor FROM audit_events WHERE action = 'acknowledged' ORDER BY seq`,
    );
    // (ops1's event is not committed yet: its transaction is the one holding chain 533100.)
    expect(placed).toEqual([
      { shard: 410800, actor: 'ops2' },
      { shard: 533101, actor: 'ops3' },
    ]);

    // Every other Dehong chain held too (as REGION_CHAINS - 1 other committers would): the next waits.
    const locked: Promise<void>[] = [];
    const holders = Array.from({ length: REGION_CHAINS - 1 }, (_, i) => {
      let got!: () => void;
      locked.push(new Promise<void>((r) => (got = r)));
      return db.tx(async (q) => {
        await q.query('SELECT pg_advisory_xact_lock(7340114, $1)', [533101 + i]);
        got();
        await gate;
      });
    });
    // Every chain is held before the next Dehong change starts (else it could take one not yet held).
    await Promise.all(locked);
    let otherDone = false;
    const other = db
      .tx((q) => changeStatus(q, cases['S-DH-2']!, 'resolve', 'same region, all chains busy', 'ops4', AT))
      .then((ok) => {
        otherDone = true;
        return ok;
      });
    let waiting = 0;
    for (let i = 0; i < 200 && !waiting; i++) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = 7340114
            AND objid BETWEEN 533100 AND 533199 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      waiting = Number(rows[0]!.n);
      if (!waiting) await new Promise((r) => setTimeout(r, 25));
    }
    const otherWaited = !otherDone;
    release();
    await Promise.all([dehong, ...holders]);
    expect(await other).toBe(true);
    expect(waiting).toBe(1);
    expect(otherWaited).toBe(true);
    const { rows: first } = await db.query<{ shard: number }>(
      `SELECT shard FROM audit_events WHERE action = 'acknowledged' AND actor = 'ops1'`,
    );
    expect(first).toEqual([{ shard: 533100 }]);

    const r = await verifyAudit(db);
    expect(r.brokenAt).toBeUndefined();
    expect(r.checked).toBe(7);
    expect(r.shards.filter((h) => Math.floor(h.shard / 100) === 4108)).toMatchObject([{ shard: 410800, events: 2 }]);
    const dh = r.shards.filter((h) => Math.floor(h.shard / 100) === 5331);
    expect(dh.reduce((n, h) => n + h.events, 0)).toBe(5);
    expect(dh[0]).toMatchObject({ shard: 533100 });
    expect(dh[0]!.events).toBeGreaterThanOrEqual(3);
  });

  test('when a superuser edits an event, then verify-audit names it', async () => {
    const { rows } = await db.query<{ seq: string }>(
      'SELECT seq::text FROM audit_events WHERE shard = 533100 ORDER BY seq LIMIT 1 OFFSET 1',
    );
    const before = await rowOf(db, rows[0]!.seq);
    await tamper(db, `UPDATE audit_events SET actor = 'someone-else' WHERE seq = ${before.seq}`);
    expect(await verifyAudit(db)).toMatchObject({
      brokenAt: before.seq,
      brokenShard: 533100,
      reason: expect.stringMatching(/hash does not match/),
    });
    await restore(db, before);
    expect((await verifyAudit(db)).brokenAt).toBeUndefined();
  });

  test('when a superuser removes an event in the middle of a chain, then verify-audit names the event after the gap', async () => {
    const { rows } = await db.query<{ seq: string }>(
      'SELECT seq::text FROM audit_events WHERE shard = 533100 ORDER BY seq LIMIT 2 OFFSET 1',
    );
    const [gone, next] = rows.map((r) => r.seq);
    const before = await rowOf(db, gone!);
    await tamper(db, `DELETE FROM audit_events WHERE seq = ${gone}`);
    expect(await verifyAudit(db)).toMatchObject({
      brokenAt: next,
      brokenShard: 533100,
      reason: expect.stringMatching(/prev_hash/),
    });
    await restore(db, before);
    expect((await verifyAudit(db)).brokenAt).toBeUndefined();
  });

  test("when a superuser removes the last event of a chain, then verify-audit finds it missing by the chain's head", async () => {
    const { rows } = await db.query<{ seq: string }>(
      'SELECT max(seq)::text AS seq FROM audit_events WHERE shard = 410800',
    );
    const before = await rowOf(db, rows[0]!.seq);
    await tamper(db, `DELETE FROM audit_events WHERE seq = ${before.seq}`);
    expect(await verifyAudit(db)).toMatchObject({
      brokenAt: before.seq,
      brokenShard: 410800,
      reason: expect.stringMatching(/removed at the end/),
    });
    await restore(db, before);
    expect((await verifyAudit(db)).brokenAt).toBeUndefined();
  });

  test("a chain's head cannot be moved back or deleted (short of switching its trigger off)", async () => {
    await expect(db.query('UPDATE audit_heads SET events = events - 1 WHERE shard = 410800')).rejects.toThrow(
      /only move forward/,
    );
    await expect(db.query('DELETE FROM audit_heads WHERE shard = 410800')).rejects.toThrow(/only move forward/);
  });
});

describe('the chain written before migration 150', () => {
  let drop: () => Promise<void>;
  let db: Db;
  let dir: string;

  beforeAll(async () => {
    const t = await createTestDatabase('audit-shards-legacy');
    drop = t.drop;
    db = createPgDb(t.url, 4);
    // The schema as it was before 150, and a chain written as the single-chain code wrote it.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-migrations-'));
    for (const f of fs.readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql') && f < '150'))
      fs.copyFileSync(path.join(MIGRATIONS, f), path.join(dir, f));
    await migrate(db, dir);
    let prev = '0'.repeat(64);
    for (let i = 0; i < 5; i++) {
      const e = {
        entity: 'loop',
        entity_id: `L-${i}`,
        action: 'created',
        actor: 'system',
        data: { status: 'owed', i },
        at: new Date(AT.getTime() + i * 1000),
      };
      const hash = eventHash(prev, e);
      await db.query(
        'INSERT INTO audit_events (at, entity, entity_id, action, actor, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [e.at, e.entity, e.entity_id, e.action, e.actor, JSON.stringify(e.data), prev, hash],
      );
      prev = hash;
    }
    await migrate(db);
  });
  afterAll(async () => {
    await db.close();
    await drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('after the migration it verifies as shard 0, sealed by a head', async () => {
    const r = await verifyAudit(db);
    expect(r.brokenAt).toBeUndefined();
    expect(r).toMatchObject({ checked: 5, shards: [{ shard: 0, events: 5, lastSeq: '5' }] });
  });

  test('new events go to region chains beside it, and everything verifies', async () => {
    // A region chain as migration 150's code wrote it (shard = the region), before the chains per region.
    const prev = '0'.repeat(64);
    const e = { entity: 'loop', entity_id: 'L-OLD', action: 'created', actor: 'system', data: {}, at: AT };
    const hash = eventHash(prev, e);
    await db.tx(async (q) => {
      const { rows } = await q.query<{ seq: string }>(
        `INSERT INTO audit_events (at, entity, entity_id, action, actor, data, prev_hash, hash, shard)
         VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, 5331) RETURNING seq::text`,
        [e.at, e.entity, e.entity_id, e.action, e.actor, prev, hash],
      );
      await q.query('INSERT INTO audit_heads (shard, events, last_seq, last_hash) VALUES (5331, 1, $1, $2)', [
        rows[0]!.seq,
        hash,
      ]);
    });
    const events: AuditEvent[] = [
      { entity: 'loop', entity_id: 'L-DH', admdvs: '533102', action: 'created', actor: 'system', data: {}, at: AT },
      { entity: 'loop', entity_id: 'L-NONE', admdvs: '', action: 'created', actor: 'system', data: {}, at: AT },
      { entity: 'loop', entity_id: 'L-ZERO', admdvs: '000000', action: 'created', actor: 'system', data: {}, at: AT },
    ];
    await db.tx((q) => appendAudit(q, events));
    const r = await verifyAudit(db);
    expect(r.brokenAt).toBeUndefined();
    expect(r.shards.map((s) => [s.shard, s.events])).toEqual([
      [0, 5],
      [5331, 1],
      [533100, 1],
      [1000000, 2],
    ]);
  });

  test("when the legacy chain's last event is removed, then its head finds it", async () => {
    await tamper(db, 'DELETE FROM audit_events WHERE seq = 5');
    expect(await verifyAudit(db)).toMatchObject({
      brokenAt: '5',
      brokenShard: 0,
      reason: expect.stringMatching(/removed at the end/),
    });
  });
});
