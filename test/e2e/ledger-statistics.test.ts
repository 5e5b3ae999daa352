/**
 * The 1M month (issue 15): what keeps matching's work per message proportional to the message.
 * - The declaration pass asks whether an institution-period owes direct settlements, and counts them
 *   only for a DECLARATION_MISSING it raises: the count in its evidence is still exact.
 * - The worker refreshes the statistics of the young payment and batch tables (table-statistics.ts):
 *   without them a chunk's read of its lines and items by setl_id was planned as reading them all.
 */
import { analyzeBatchesIfStale } from '../../src/ledger/batch-store';
import { analyzePaymentsIfStale } from '../../src/ledger/payment-store';
import { sweepRegionPeriod } from '../../src/matching/sweep';
import { processMessage } from '../../src/queue/ingest-worker';
import { batchOf, paymentOf, record } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted } from './matching-support';

const H1 = 'H53310200001',
  H2 = 'H53310200002',
  PICC = 'PICC_DH';
let clock = Date.parse('2025-04-16T10:00:00+08:00');

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('ledger-statistics', { workers: false, now: () => clock });
});
afterAll(async () => {
  await t.close();
});

const apply = (id: string) => processMessage(t.gw.db, t.gw.handlers, id, t.gw.log);
const post = (path: string, as: Parameters<typeof postAccepted>[1]['as'], body: unknown) =>
  postAccepted(t, { path, as, body });

/** Wait until the statistics system has seen more than `n` changes of the table since its last ANALYZE. */
async function changedMoreThan(table: string, n: number): Promise<void> {
  for (let k = 0; k < 100; k++) {
    const { rows } = await t.gw.db.query<{ n: string }>(
      `SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE relname = $1`,
      [table],
    );
    if (Number(rows[0]?.n ?? 0) > n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${table}: changes not counted`);
}

const hasStatistics = async (table: string) =>
  (await t.gw.db.query(`SELECT 1 FROM pg_stats WHERE tablename = $1 AND attname = 'setl_id'`, [table])).rows.length > 0;

describe('DECLARATION_MISSING counts what is owed only when it is raised', () => {
  test('the evidence counts the valid, unreversed direct settlements with hifob_pay > 0', async () => {
    const owed = [1, 2, 3].map((k) => record(`LS-D${k}`, { fixmedins: H1, insurer: PICC, hifob: '1000.00' }));
    const others = [
      record('LS-M1', { fixmedins: H1, insurer: PICC, hifob: '1000.00', mode: 'manual' }),
      record('LS-Z1', { fixmedins: H1, insurer: PICC, hifob: '0.00' }),
      record('LS-R1', { fixmedins: H1, insurer: PICC, hifob: '1000.00' }),
    ];
    await apply(await post('/v1/agency/settlements', 'agency', { settlements: [...owed, ...others] }));
    await apply(
      await post('/v1/agency/settlements', 'agency', {
        settlements: [record('LS-R1', { fixmedins: H1, insurer: PICC, hifob: '1000.00', status: 'reversed' })],
      }),
    );
    // H2 declared its month: no case, whatever it owes.
    const declared = record('LS-H2', { fixmedins: H2, insurer: PICC, hifob: '500.00' });
    await apply(await post('/v1/agency/settlements', 'agency', { settlements: [declared] }));
    await apply(await post('/v1/settlement-batches', 'hospital2', batchOf('B-LS-2', H2, PICC, [{ s: declared }])));

    clock = Date.parse('2025-05-20T10:00:00+08:00'); // well past the declaration due date of 2025-03
    await sweepRegionPeriod(t.gw, '5331', '2025-03', new Date(clock));
    const { rows } = await t.gw.db.query<{ subject_key: string; evidence: { owed_direct_count: number } }>(
      `SELECT subject_key, evidence FROM discrepancies WHERE code = 'DECLARATION_MISSING' AND status <> 'resolved' ORDER BY subject_key`,
    );
    expect(rows.map((r) => [r.subject_key, r.evidence.owed_direct_count])).toEqual([[`decl:${H1}:${PICC}:2025-03`, 3]]);
  });
});

describe('statistics of the young payment and batch tables', () => {
  test('a batch and a payment of more than 1,000 lines leave their lines and items analysed, once', async () => {
    const many = Array.from({ length: 1100 }, (_, k) =>
      record(`LS-S${k}`, { fixmedins: H1, insurer: PICC, hifob: '100.00' }),
    );
    await apply(await post('/v1/agency/settlements', 'agency', { settlements: many }));
    await post(
      '/v1/settlement-batches',
      'hospital1',
      batchOf(
        'B-LS-1',
        H1,
        PICC,
        many.map((s) => ({ s })),
      ),
    );
    await post(
      '/v1/insurer-payments',
      'insurerA',
      paymentOf(
        PICC,
        'PAY-LS-1',
        { type: 'institution', id: H1 },
        '2025-04-15T10:00:00+08:00',
        many.map((s) => ({ setl_id: s.setl_id, paid: '100.00' })),
      ),
    );
    await changedMoreThan('batch_items', 1000);
    await changedMoreThan('payment_lines', 1000);
    expect(await analyzeBatchesIfStale(t.gw.db)).toBe(true);
    expect(await analyzePaymentsIfStale(t.gw.db)).toBe(true);
    for (const table of ['batch_items', 'payment_lines']) expect(await hasStatistics(table)).toBe(true);
    // Fresh statistics: nothing to do until the tables have changed by as much again.
    expect(await analyzeBatchesIfStale(t.gw.db)).toBe(false);
    expect(await analyzePaymentsIfStale(t.gw.db)).toBe(false);
  });
});
