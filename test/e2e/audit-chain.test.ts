/**
 * AUDIT TRAIL (issue 7 of 7 §6): every change of a discrepancy or of a settlement's loop state is an
 * append-only audit row, hash-chained to the one before. Rows cannot be updated or deleted; and when
 * someone with the power to bypass that (a superuser disabling the trigger) edits or removes a row,
 * verify-audit names the first broken event.
 */
import { verifyAudit } from '../../src/audit/audit-trail';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { generateMonth } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { loopRows, postAccepted } from './matching-support';

const AS_OF = new Date('2025-06-10T00:00:00+08:00');
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway('audit-chain', { now: () => Date.parse('2025-04-20T10:00:00+08:00') });
  for (const m of generateMonth(11, 20)) await postAccepted(t, m);
  await t.drain(60_000);
  await sweepRegionPeriod(t.gw, '5331', '2025-03', AS_OF);
}, 120_000);
afterAll(async () => {
  await t.close();
});

const cli = async () => {
  const io = memoryIo();
  const code = await main(['verify-audit'], io, { DATABASE_URL: t.dbUrl });
  return { code, out: io.stdout };
};

describe('loop states in the audit trail', () => {
  test('every loop row has audit events, and the latest one states exactly its status and amounts', async () => {
    const loops = await loopRows(t.gw.db);
    expect(loops.length).toBeGreaterThan(10);
    const { rows } = await t.gw.db.query<{ entity_id: string; action: string; data: Record<string, string> }>(
      `SELECT DISTINCT ON (entity_id) entity_id, action, data FROM audit_events WHERE entity = 'loop' ORDER BY entity_id, seq DESC`,
    );
    const last = new Map(rows.map((r) => [r.entity_id, r.data]));
    for (const l of loops) {
      expect([l.setl_id, last.get(l.setl_id)]).toEqual([
        l.setl_id,
        expect.objectContaining({
          status: l.status,
          owed: l.owed,
          paid: l.paid,
          rejected: l.rejected,
          recovered: l.recovered,
          outstanding: l.outstanding,
        }),
      ]);
    }
  });

  test('a loop that changed state (owed → overdue at the sweep) records the previous values', async () => {
    const { rows } = await t.gw.db.query<{ data: { status: string; previous: { status: string } } }>(
      `SELECT data FROM audit_events WHERE entity = 'loop' AND action = 'changed' AND data->>'status' = 'overdue' LIMIT 1`,
    );
    expect(rows[0]?.data.previous.status).toBe('owed');
  });

  test('re-evaluating with no new fact adds no loop event', async () => {
    const before = await t.gw.db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE entity = 'loop'`);
    await sweepRegionPeriod(t.gw, '5331', '2025-03', AS_OF);
    const after = await t.gw.db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE entity = 'loop'`);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('the chain', () => {
  test('the untouched chain verifies, through the function and the CLI', async () => {
    const r = await verifyAudit(t.gw.db);
    expect(r.brokenAt).toBeUndefined();
    expect(r.checked).toBeGreaterThan(10);
    expect(await cli()).toEqual({ code: 0, out: expect.stringContaining('audit trail intact') });
  });

  test('an UPDATE or DELETE of an audit row is refused', async () => {
    await expect(t.gw.db.query(`UPDATE audit_events SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(t.gw.db.query(`DELETE FROM audit_events WHERE seq = 1`)).rejects.toThrow(/append-only/);
  });

  /** As a superuser could: switch the trigger off, change the rows, switch it back on. */
  const tamper = (sql: string) =>
    t.gw.db.tx(async (q) => {
      await q.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
      await q.query(sql);
      await q.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
    });

  test("when a superuser edits a loop event's amount behind the trigger's back, then verify-audit names that event", async () => {
    const { rows } = await t.gw.db.query<{ seq: string }>(
      `SELECT seq FROM audit_events WHERE entity = 'loop' ORDER BY seq OFFSET 5 LIMIT 1`,
    );
    const seq = rows[0]!.seq;
    await tamper(`UPDATE audit_events SET data = jsonb_set(data, '{paid}', '"0.01"') WHERE seq = ${seq}`);
    expect(await verifyAudit(t.gw.db)).toMatchObject({ brokenAt: seq, reason: expect.stringMatching(/hash/) });
    const out = await cli();
    expect(out.code).toBe(1);
    expect(out.out).toContain(`BROKEN at event ${seq}`);
  });

  test('when a superuser deletes an earlier event, then verify-audit names the event after the gap', async () => {
    const { rows } = await t.gw.db.query<{ seq: string }>(`SELECT seq FROM audit_events ORDER BY seq LIMIT 2 OFFSET 1`);
    const [gone, next] = rows.map((r) => r.seq);
    await tamper(`DELETE FROM audit_events WHERE seq = ${gone}`);
    expect(await verifyAudit(t.gw.db)).toMatchObject({ brokenAt: next, reason: expect.stringMatching(/prev_hash/) });
  });
});
