/**
 * CONCURRENCY (issue 14): operators acknowledge and resolve cases — through the HTTP routes and the
 * store — while matching, the benefit audit and the plan findings sync the same cases, each in its
 * own transactions, all at once. Every writer of cases takes the case rows first and the audit
 * chain's lock last (src/discrepancies/case-store.ts), so:
 * - no transaction dies of a deadlock (40P01) or any other error, and no operator request is a 500;
 * - no update is lost: each case's status, resolution and occurrences are what its audit events say,
 *   every acknowledge or resolve that succeeded is in the trail, and a case resolved by hand stays so;
 * - the audit chain verifies afterwards.
 * The iteration counts are fixed (no timing in assertions).
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { batchOf, prng } from '../support/month-generator';
import { reevaluate } from '../../src/matching/matching-service';
import { auditPersonYears } from '../../src/benefits/audit';
import { syncPlanFindings } from '../../src/reconciliation/plan-findings';
import type { InsurerRow } from '../../src/reconciliation/run-store';
import { changeStatus } from '../../src/discrepancies/case-store';
import { verifyAudit } from '../../src/audit/audit-trail';
import { auditDone, dehong } from './benefits-support';

const N = 10;
const IDS = Array.from({ length: N }, (_, i) => `CC-${String(i).padStart(2, '0')}`);
const PERSON_YEARS = IDS.map((_, i) => `person:5331:P-CC-${i}:2025`);
/** Before the settlements' due date (nothing overdue) and long after it (PAYMENT_OVERDUE): matching flips its cases. */
const EARLY = new Date('2025-03-12T02:00:00Z');
const LATE = new Date('2026-01-15T02:00:00Z');
const ROUNDS = 12;
const OPERATOR_ACTIONS = 40;

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('case-concurrency');
});
afterAll(async () => {
  await t.close();
});

/**
 * Each settlement is care outside the prefecture without referral paid at 90% (001 art. 11: 85% was
 * due), so the benefit audit raises BENEFIT_RULE_DEVIATION on every one; all are declared and unpaid.
 */
const settlements = IDS.map((id, i) =>
  dehong({
    setl_id: id,
    psn_no: `P-CC-${i}`,
    setl_time: '2025-03-10 09:30:00',
    bases: [{ amount: '100000.00' }],
    hifob_pay: '90000.00',
    over: { mdtrtarea_admvs: '530102', referral: false },
  }),
);

/**
 * Synthetic report rows of six insurers: in one round of three paid and disbursed match the plan; in
 * the others they are far off, by an amount that changes each round (so cases open, update, resolve
 * and reopen).
 */
function insurerRows(round: number): InsurerRow[] {
  return Array.from({ length: 6 }, (_, k) => {
    const off = (round + k) % 3 !== 0;
    const paid = off ? `${50000 + round}.00` : '100000.00';
    const disbursed = off ? `${10000 + round}.00` : '100000.00';
    return {
      insurer_code: `INS_CC${k}`,
      plan_revision: 1,
      plan_message_id: `00000000-0000-4000-8000-00000000000${k}`,
      planned: '100000.00',
      paid,
      payments_count: 3,
      disbursed,
      disbursements: [
        { disbursement_id: `D-${k}`, message_id: `00000000-0000-4000-9000-00000000000${k}`, amount: disbursed },
      ],
    };
  });
}

interface Failure {
  who: string;
  error: string;
  code?: string;
}

describe('operators handling cases while matching, the benefit audit and plan findings sync them', () => {
  const failures: Failure[] = [];
  const succeeded: { id: string; action: 'acknowledged' | 'resolved'; actor: string }[] = [];
  const record = (who: string) => (e: unknown) => {
    failures.push({ who, error: String(e), code: (e as { code?: string }).code });
  };

  beforeAll(async () => {
    const r = await t.post('/v1/agency/settlements', { settlements }, 'agency');
    expect(r.status).toBe(202);
    const b = await t.post(
      '/v1/settlement-batches',
      batchOf(
        'B-CC',
        'H53310200001',
        'PICC_DH',
        settlements.map((s) => ({ s })),
      ),
      'hospital1',
    );
    expect(b.status).toBe(202);
    await auditDone(t, 90_000);
    // Every kind of case exists before the storm: overdue settlements, benefit deviations, plan variances.
    await reevaluate(t.gw.db, IDS, LATE, t.gw);
    await t.gw.db.tx((q) =>
      syncPlanFindings(q, insurerRows(0), { admdvs: '5331', period: '2025-03', asOf: LATE, tolerancePct: 5 }, LATE),
    );
    const { rows } = await t.gw.db.query<{ code: string }>(
      `SELECT DISTINCT code FROM discrepancies WHERE status <> 'resolved' ORDER BY code`,
    );
    expect(rows.map((x) => x.code)).toEqual(
      expect.arrayContaining(['BENEFIT_RULE_DEVIATION', 'DISBURSEMENT_MISMATCH', 'PAYMENT_OVERDUE', 'PLAN_VARIANCE']),
    );

    const matching = async (who: string, offset: number) => {
      for (let i = 0; i < ROUNDS; i++)
        await reevaluate(t.gw.db, IDS, (i + offset) % 2 ? EARLY : LATE, t.gw).catch(record(who));
    };
    const benefits = async (who: string) => {
      for (let i = 0; i < ROUNDS; i++) await auditPersonYears(t.gw, PERSON_YEARS, new Date()).catch(record(who));
    };
    const plans = async (who: string) => {
      for (let i = 1; i <= ROUNDS * 2; i++) {
        await t.gw.db
          .tx((q) =>
            syncPlanFindings(
              q,
              insurerRows(i),
              { admdvs: '5331', period: '2025-03', asOf: LATE, tolerancePct: 5 },
              new Date(),
            ),
          )
          .catch(record(who));
      }
    };
    const operator = async (who: string, seed: number, viaHttp: boolean) => {
      const rand = prng(seed);
      for (let i = 0; i < OPERATOR_ACTIONS; i++) {
        const open = await t.gw.db.query<{ id: string }>(
          `SELECT id FROM discrepancies WHERE status <> 'resolved' ORDER BY id`,
        );
        if (!open.rows.length) {
          await new Promise((res) => setImmediate(res));
          continue;
        }
        const id = open.rows[Math.floor(rand() * open.rows.length)]!.id;
        const action = rand() < 0.5 ? 'acknowledge' : 'resolve';
        if (viaHttp) {
          const res = await t
            .post(`/v1/discrepancies/${id}/${action}`, { note: `${who} ${i}` }, 'ops')
            .catch((e: unknown) => {
              record(who)(e);
              return undefined;
            });
          if (!res) continue;
          if (res.status === 200)
            succeeded.push({ id, action: action === 'acknowledge' ? 'acknowledged' : 'resolved', actor: 'ops' });
          else if (res.status !== 409) failures.push({ who, error: `HTTP ${res.status} ${JSON.stringify(res.data)}` });
        } else {
          const ok = await t.gw.db
            .tx((q) => changeStatus(q, id, action, `${who} ${i}`, who, new Date()))
            .catch((e: unknown) => {
              record(who)(e);
              return false;
            });
          if (ok) succeeded.push({ id, action: action === 'acknowledge' ? 'acknowledged' : 'resolved', actor: who });
        }
      }
    };
    await Promise.all([
      matching('matching-1', 0),
      matching('matching-2', 1),
      benefits('benefits-1'),
      benefits('benefits-2'),
      plans('plans'),
      operator('operator-http', 1, true),
      operator('operator-store-1', 2, false),
      operator('operator-store-2', 3, false),
    ]);
  }, 300_000);

  test('no transaction failed: no deadlock (40P01), no error, no 500', () => {
    expect(failures).toEqual([]);
  });

  test('the operators did act on cases being synced (the test is not vacuous)', async () => {
    expect(succeeded.filter((s) => s.action === 'resolved').length).toBeGreaterThan(5);
    expect(succeeded.filter((s) => s.action === 'acknowledged').length).toBeGreaterThan(5);
    const { rows } = await t.gw.db.query<{ action: string; n: number }>(
      `SELECT action, count(*)::int AS n FROM audit_events WHERE entity = 'discrepancy' GROUP BY action`,
    );
    const n = Object.fromEntries(rows.map((r) => [r.action, r.n]));
    expect(n).toMatchObject({
      opened: expect.any(Number),
      reopened: expect.any(Number),
      auto_resolved: expect.any(Number),
      updated: expect.any(Number),
    });
  });

  test('every acknowledge and resolve that succeeded is in the audit trail, by its operator', async () => {
    const { rows } = await t.gw.db.query<{ entity_id: string; action: string; actor: string }>(
      `SELECT entity_id, action, actor FROM audit_events WHERE entity = 'discrepancy' AND action IN ('acknowledged', 'resolved') ORDER BY seq`,
    );
    const key = (x: { id?: string; entity_id?: string; action: string; actor: string }) =>
      `${x.id ?? x.entity_id} ${x.action} ${x.actor}`;
    expect(rows.map(key).sort()).toEqual(succeeded.map(key).sort());
  });

  test('no update was lost: each case is in the state its audit events lead to, with one occurrence per update', async () => {
    const cases = await t.gw.db.query<{ id: string; status: string; resolution: string | null; occurrences: number }>(
      'SELECT id, status, resolution, occurrences FROM discrepancies',
    );
    const events = await t.gw.db.query<{ entity_id: string; action: string }>(
      `SELECT entity_id, action FROM audit_events WHERE entity = 'discrepancy' ORDER BY seq`,
    );
    const byCase = new Map<string, string[]>();
    for (const e of events.rows) byCase.set(e.entity_id, [...(byCase.get(e.entity_id) ?? []), e.action]);
    const wrong: unknown[] = [];
    for (const c of cases.rows) {
      const actions = byCase.get(c.id) ?? [];
      let status = 'open',
        resolution: string | null = null,
        occurrences = 1;
      actions.forEach((a, i) => {
        if (i === 0 && a !== 'opened' && a !== 'reopened') wrong.push({ id: c.id, first: a });
        if (i > 0 && status === 'resolved') wrong.push({ id: c.id, afterResolution: a });
        if (a === 'acknowledged') status = 'acknowledged';
        if (a === 'resolved') {
          status = 'resolved';
          resolution = 'manual';
        }
        if (a === 'auto_resolved') {
          status = 'resolved';
          resolution = 'auto';
        }
        if (a === 'updated') occurrences++;
      });
      if (c.status !== status || c.resolution !== resolution || c.occurrences !== occurrences) {
        wrong.push({
          id: c.id,
          row: { status: c.status, resolution: c.resolution, occurrences: c.occurrences },
          events: actions,
        });
      }
    }
    expect(wrong).toEqual([]);
  });

  test('a case resolved by hand stays resolved by hand', async () => {
    const resolved = [...new Set(succeeded.filter((s) => s.action === 'resolved').map((s) => s.id))];
    const { rows } = await t.gw.db.query<{ status: string; resolution: string }>(
      'SELECT status, resolution FROM discrepancies WHERE id = ANY($1::uuid[])',
      [resolved],
    );
    expect(rows).toHaveLength(resolved.length);
    expect(rows.every((r) => r.status === 'resolved' && r.resolution === 'manual')).toBe(true);
  });

  test('there is at most one unresolved case per (code, subject)', async () => {
    const { rows } = await t.gw.db.query(
      `SELECT code, subject_key, count(*)::int AS n FROM discrepancies WHERE status <> 'resolved' GROUP BY code, subject_key HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
  });

  test('the audit chain verifies', async () => {
    const { rows } = await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    const r = await verifyAudit(t.gw.db);
    expect(r.brokenAt).toBeUndefined();
    expect(r.checked).toBe(Number(rows[0]!.n));
  });
});
