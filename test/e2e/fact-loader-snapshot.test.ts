/**
 * Matching reads everything known about a chunk of settlements as one snapshot
 * (loadSettlementInputs, src/ledger/fact-loader.ts). Read as separate statements, a declaration that
 * committed between the read of the declared items and the read of the current batches looked like a
 * batch that leaves the settlement out: a RECORDED_NOT_DECLARED opened, alerted and resolved again (a
 * full run saw it as extra resolved cases on one of two gateways fed the same month).
 *
 * Here the declaration commits after the loader's k-th statement, for every k: whatever the loader
 * saw, it saw the batch and its item together, or neither.
 */
import { loadSettlementInputs } from '../../src/ledger/fact-loader';
import type { Sql } from '../../src/db/db';
import * as fx from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('fact_loader_snapshot', { workers: false });
});
afterAll(async () => {
  await t?.close();
});

test.each([1, 2, 3, 4, 5, 6])(
  'when a declaration of the settlement commits after the loader’s statement %i, then the loader sees its batch and its item together or neither',
  async (k) => {
    const month = `2025-0${k}`;
    const s = fx.settlement({
      setl_id: `SNAP-${k}`,
      mdtrt_id: `M-SNAP-${k}`,
      psn_no: `P-SNAP-${k}`,
      setl_time: `${month}-10 09:30:00`,
      setl_mode: 'direct',
    });
    const feed = await t.post('/v1/agency/settlements', { settlements: [s] }, 'agency');
    expect([feed.status, feed.data.accepted]).toEqual([202, 1]);
    const declare = async () => {
      const r = await t.post(
        '/v1/settlement-batches',
        fx.batch({
          batch_id: `B-SNAP-${k}`,
          period: month,
          setl_cnt: 1,
          medfee_sumamt: s.medfee_sumamt,
          hifob_pay_sumamt: s.hifob_pay,
          items: [
            {
              setl_id: s.setl_id,
              mdtrt_id: s.mdtrt_id,
              psn_no: s.psn_no,
              setl_time: s.setl_time,
              medfee_sumamt: s.medfee_sumamt,
              hifob_pay: s.hifob_pay,
            },
          ],
        }),
        'hospital1',
      );
      expect(r.status).toBe(202);
    };
    // The database as the loader sees it, with the declaration committed right after its k-th statement.
    let statements = 0;
    let declared = false;
    const q: Sql = {
      query: async (text, params) => {
        const r = await t.gw.db.query(text, params);
        if (++statements === k) {
          await declare();
          declared = true;
        }
        return r as never;
      },
      exec: (text) => t.gw.db.exec(text),
    };
    const input = (await loadSettlementInputs(q, [s.setl_id])).get(s.setl_id)!;
    if (!declared) await declare();
    expect(input.settlement?.setl_id).toBe(s.setl_id);
    expect({ batch: input.declarationReceived?.batch_id ?? null, items: input.declaredItems.length }).toEqual(
      input.declarationReceived ? { batch: `B-SNAP-${k}`, items: 1 } : { batch: null, items: 0 },
    );
    // And afterwards, both.
    const after = (await loadSettlementInputs(t.gw.db, [s.setl_id])).get(s.setl_id)!;
    expect([after.declarationReceived?.batch_id, after.declaredItems.length]).toEqual([`B-SNAP-${k}`, 1]);
  },
);

test('when a stored value holds a separator of the loader’s text form, then the loader reads the chunk in the JSON form and the value whole', async () => {
  const s = fx.settlement({
    setl_id: 'SNAP-SEP',
    mdtrt_id: 'M-SNAP-SEP',
    psn_no: 'P-SNAP-SEP',
    setl_time: '2025-08-10 09:30:00',
  });
  const feed = await t.post('/v1/agency/settlements', { settlements: [s] }, 'agency');
  expect([feed.status, feed.data.accepted]).toEqual([202, 1]);
  // Not through the API (the schemas allow no control character in an id): as an older or imported row might hold it.
  const odd = 'P-\u001f-\u001e-\u001d-SEP';
  await t.gw.db.query('UPDATE settlement_records SET psn_no = $2 WHERE setl_id = $1', [s.setl_id, odd]);
  const seen: string[] = [];
  const q: Sql = {
    query: async (text, params) => {
      seen.push(text);
      return (await t.gw.db.query(text, params)) as never;
    },
    exec: (text) => t.gw.db.exec(text),
  };
  const input = (await loadSettlementInputs(q, [s.setl_id, 'SNAP-NONE'])).get(s.setl_id)!;
  expect(seen.length).toBe(2);
  expect(input.settlement).toMatchObject({ setl_id: s.setl_id, psn_no: odd, mdtrt_id: 'M-SNAP-SEP' });
  expect(input.settlement!.hifob_pay.toString()).toBe(s.hifob_pay);
  expect(input.settlement!.setl_time).toEqual(new Date('2025-08-10T01:30:00.000Z'));
});
