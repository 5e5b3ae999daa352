/**
 * The report's institution figures come from the settlements' loop rows (src/ledger/owed-read-model.ts)
 * unless too many must be recomputed; computed from the facts alone (the other way of owed-read-model.ts) they are the
 * same to the fen — for every as_of (before, between and after the payments, recoveries and
 * reversals of a generated month), with a message matching has not applied yet, and with a
 * settlement never evaluated.
 */
import { v7 as uuidv7 } from 'uuid';
import { computeReport } from '../../src/reconciliation/report-sql';
import { generateMonth, paymentOf } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted, postAndApply } from './matching-support';

let clock = Date.parse('2025-04-02T10:00:00+08:00');
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('recon_owed', { workers: false, now: () => clock });
  // Received over about two months, so that each as_of below knows a part of the facts.
  const month = generateMonth(7, 60);
  for (let i = 0; i < month.length; i++) {
    clock = Date.parse('2025-04-02T10:00:00+08:00') + Math.floor((i * 60 * 86_400_000) / month.length);
    await postAndApply(t, month, [i]);
  }
});
afterAll(async () => {
  await t.close();
});

async function report(asOf: string, from: 'loops' | 'facts'): Promise<unknown[]> {
  const runId = uuidv7();
  await t.gw.db.query(
    `INSERT INTO reconciliation_runs (run_id, admdvs, period, as_of, status, trigger, requested_by, created_at)
                       VALUES ($1, '5331', '2025-03', $2, 'running', 'api', 'test', now())`,
    [runId, asOf],
  );
  await t.gw.db.tx((q) => computeReport(q, runId, '5331', '2025-03', new Date(asOf), from));
  const { rows } = await t.gw.db.query(
    `SELECT * FROM reconciliation_institutions WHERE run_id = $1 ORDER BY fixmedins_code`,
    [runId],
  );
  await t.gw.db.query('DELETE FROM reconciliation_runs WHERE run_id = $1', [runId]);
  return rows.map((r) => ({ ...r, run_id: undefined }));
}

const AS_OF = [
  '2025-04-10T00:00:00+08:00',
  '2025-04-15T12:00:00+08:00',
  '2025-04-25T00:00:00+08:00',
  '2025-05-11T00:00:00+08:00',
  '2025-05-25T00:00:00+08:00',
  '2025-06-30T00:00:00+08:00',
];

describe('the institution figures from the loop rows and from the facts', () => {
  test.each(AS_OF)('are the same as of %s', async (asOf) => {
    const facts = await report(asOf, 'facts');
    expect(facts.length).toBeGreaterThan(0);
    expect(await report(asOf, 'loops')).toEqual(facts);
  });

  test('see a different part of the month at each as_of', async () => {
    const seen = new Set<string>();
    for (const asOf of AS_OF) seen.add(JSON.stringify(await report(asOf, 'facts')));
    expect(seen.size).toBe(AS_OF.length);
  });

  test('are the same when a payment has arrived that matching has not applied yet', async () => {
    clock += 86_400_000;
    const { rows } = await t.gw.db.query<{
      setl_id: string;
      fixmedins_code: string;
      insurer_code: string;
      owed: string;
    }>(
      `SELECT setl_id, fixmedins_code, insurer_code, owed::text FROM settlement_loops WHERE status IN ('owed','overdue') ORDER BY setl_id LIMIT 1`,
    );
    const open = rows[0]!;
    await postAccepted(t, {
      path: '/v1/insurer-payments',
      as: open.insurer_code === 'PICC_DH' ? 'insurerA' : 'insurerB',
      body: paymentOf(
        open.insurer_code,
        'PAY-LATE-OWED',
        { type: 'institution', id: open.fixmedins_code },
        '2025-05-20T10:00:00+08:00',
        [{ setl_id: open.setl_id, paid: open.owed }],
      ),
    });
    const asOf = new Date(clock).toISOString();
    const facts = await report(asOf, 'facts');
    expect(await report(asOf, 'loops')).toEqual(facts);
  });

  test('are the same when a settlement has no loop row', async () => {
    await t.gw.db.query(
      `DELETE FROM settlement_loops WHERE setl_id = (SELECT min(setl_id) FROM settlement_loops WHERE status = 'closed')`,
    );
    const asOf = new Date(clock).toISOString();
    expect(await report(asOf, 'loops')).toEqual(await report(asOf, 'facts'));
  });
});
