/**
 * The feed's insert (ledger/settlement-store.ts) checks each row's setl_id against the rows stored
 * under another region. That check must stay a probe of the primary key per row: planned as a hash
 * anti join, it read the whole table for every chunk of 1,000 records, so a 100k feed into a table
 * of 300k rows cost four times the PostgreSQL time of one into an empty table (issue 15).
 */
import type { Db } from '../../src/db/db';
import { insertSettlementRows, storedSettlementKeys } from '../../src/ledger/settlement-store';
import { agencyFeedRows, migratedDatabase, seqScans } from '../support/plan-probe';
import { settlement } from '../support/fixtures';

const MESSAGE = '00000000-0000-4000-8000-000000000001';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('settlement-insert-plan'));
});
afterAll(async () => {
  await close();
});

test('when rows are stored already, then a chunk is inserted without reading the table through, and the region check still holds', async () => {
  await db.tx(async (q) => {
    // A table the planner has no statistics of (no ANALYZE yet), as during a month's first feed.
    for (let c = 0; c < 6; c++) {
      const recs = Array.from({ length: 1000 }, (_, k) => settlement({ setl_id: `IP${c * 1000 + k}` }));
      expect(await insertSettlementRows(q, agencyFeedRows(recs), MESSAGE, new Date())).toHaveLength(1000);
    }
    const before = await seqScans(q, 'settlement_records');
    const recs = [
      ...Array.from({ length: 997 }, (_, k) => settlement({ setl_id: `IQ${k}` })),
      // Stored under 533102: its reversal claiming 150102 is not stored (nor moved).
      settlement({ setl_id: 'IP7', status: 'reversed', insuplc_admdvs: '150102', mdtrtarea_admvs: '150102' }),
      // The same (setl_id, status) again: not stored twice.
      settlement({ setl_id: 'IP8' }),
      // A reversal in the same region: stored.
      settlement({ setl_id: 'IP9', status: 'reversed' }),
    ];
    const stored = await insertSettlementRows(q, agencyFeedRows(recs), MESSAGE, new Date());
    expect(await seqScans(q, 'settlement_records')).toBe(before);
    expect(stored).toHaveLength(998);
    expect(stored).not.toContain(997);
    expect(stored).not.toContain(998);
    const keys = await storedSettlementKeys(q, ['IP7', 'IP8', 'IP9']);
    expect(keys.map((k) => `${k.setl_id} ${k.status} ${k.insuplc_admdvs}`).sort()).toEqual([
      'IP7 valid 533102',
      'IP8 valid 533102',
      'IP9 reversed 533102',
      'IP9 valid 533102',
    ]);
  });
});
