/**
 * The matching worker's fact loader (ledger/fact-loader.ts) reads every settlement row of the
 * visits (mdtrt_id) of a chunk's setl_ids. That read must stay index probes: written as
 * `mdtrt_id IN (subquery)`, the planner made it a hash semi join over the whole of
 * settlement_records while the table held fewer than ~100k rows, which was half of the loader's
 * time in the matching-latency benchmark (issue 15).
 */
import type { Db } from '../../src/db/db';
import { insertSettlementRows } from '../../src/ledger/settlement-store';
import { loadSettlementInputs } from '../../src/ledger/fact-loader';
import { agencyFeedRows, migratedDatabase, seqScans } from '../support/plan-probe';
import { settlement } from '../support/fixtures';

const MESSAGE = '00000000-0000-4000-8000-000000000002';

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await migratedDatabase('fact-loader-plan'));
});
afterAll(async () => {
  await close();
});

test('when a chunk of settlements is loaded, then their visits are read by index and every sibling of a visit is found', async () => {
  // 6,000 settlements, visits of two (FP<2k> and FP<2k+1> share the visit FM<k>), analysed: a
  // small table whose statistics the planner knows, where a whole-table read looks cheap to it.
  for (let c = 0; c < 6; c++) {
    const recs = Array.from({ length: 1000 }, (_, k) => {
      const n = c * 1000 + k;
      return settlement({ setl_id: `FP${n}`, mdtrt_id: `FM${Math.floor(n / 2)}` });
    });
    await db.tx(async (q) => {
      expect(await insertSettlementRows(q, agencyFeedRows(recs), MESSAGE, new Date())).toHaveLength(1000);
    });
  }
  await db.query('ANALYZE settlement_records');
  const ids = Array.from({ length: 60 }, (_, k) => `FP${k * 90}`);
  await db.tx(async (q) => {
    const before = await seqScans(q, 'settlement_records');
    const inputs = await loadSettlementInputs(q, ids);
    expect(await seqScans(q, 'settlement_records')).toBe(before);
    expect(inputs.size).toBe(60);
    for (const id of ids) {
      const n = Number(id.slice(2));
      const sibling = `FP${n % 2 === 0 ? n + 1 : n - 1}`;
      const input = inputs.get(id)!;
      expect(input.settlement?.setl_id).toBe(id);
      expect(input.sameMdtrt.map((s) => s.setl_id)).toEqual([sibling]);
    }
  });
});
