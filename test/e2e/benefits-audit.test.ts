/**
 * The benefit audit worker (spec §7) against the real PostgreSQL and Redis: agency feeds go through
 * the outbox to the 'benefits' queue, and each person-year is re-evaluated as a whole. Every expected
 * amount below is worked out by hand from the region files (regions/*.json) and the seeds.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { auditPersonYears, benefitSummary } from '../../src/benefits/audit';
import { createBenefitView } from '../../src/benefits/benefit-view';
import { benefitProcessor, type BenefitJob } from '../../src/benefits/benefit-worker';
import type { Job } from 'bullmq';
import { cases, dehong, district, feed, record, ulanqab } from './benefits-support';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('benefits-audit');
});
afterAll(async () => {
  await t.close();
});

describe('Dehong (001 arts. 10–12: 90%, 5 points less outside the prefecture without referral, no cap)', () => {
  test('when hifob_pay follows the 90% rule in the prefecture, then no deviation is raised and the settlement is checked', async () => {
    // base 100,000.00 × 90% = 90,000.00 = recorded
    await feed(t, [
      dehong({
        setl_id: 'DH-IN-1',
        psn_no: 'P-DH-1',
        setl_time: '2025-03-10 09:30:00',
        bases: [{ amount: '100000.00' }],
        hifob_pay: '90000.00',
      }),
    ]);
    expect(await cases(t, 'setl:DH-IN-1')).toEqual([]);
    const stored = await t.gw.db.query(
      'SELECT person_year, checked, deviates FROM settlement_benefits WHERE setl_id = $1',
      ['DH-IN-1'],
    );
    expect(stored.rows).toEqual([{ person_year: 'person:5331:P-DH-1:2025', checked: true, deviates: false }]);
    const view = await createBenefitView(t.gw)('DH-IN-1');
    expect(view).toMatchObject({
      checked: true,
      region: 'dehong-5331',
      benefit_year: 2025,
      expected_amount: '90000.00',
      actual_amount: '90000.00',
      difference: '0.00',
      tolerance: '0.01',
      deviates: false,
    });
  });

  test('when care outside the prefecture without referral is paid at 90%, then BENEFIT_RULE_DEVIATION says 85% was due', async () => {
    // Kunming (530102) is outside 5331, referral false: 100,000.00 × (90% − 5 points) = 85,000.00; recorded 90,000.00 → +5,000.00
    await feed(t, [
      dehong({
        setl_id: 'DH-OUT-1',
        psn_no: 'P-DH-2',
        setl_time: '2025-03-11 10:00:00',
        bases: [{ amount: '100000.00' }],
        hifob_pay: '90000.00',
        over: { mdtrtarea_admvs: '530102', referral: false },
      }),
    ]);
    const [c] = await cases(t, 'setl:DH-OUT-1');
    expect(c).toMatchObject({
      code: 'BENEFIT_RULE_DEVIATION',
      status: 'open',
      group_key: 'person:5331:P-DH-2:2025',
      admdvs: '533102',
      insurer_code: 'PICC_DH',
      fixmedins_code: 'H53310200001',
      period: '2025-03',
      setl_id: 'DH-OUT-1',
      expected_amount: '85000.00',
      actual_amount: '90000.00',
      difference: '5000.00',
    });
    expect(c!.evidence).toMatchObject({
      region: 'dehong-5331',
      adjustments: [{ id: 'outside_region_without_referral', ratio_delta: '-0.05' }],
      message_ids: [expect.any(String)],
    });
    expect(c!.detail).not.toContain('P-DH-2');
  });

  test('when care outside the prefecture is paid at 85% without referral, or at 90% with one, then nothing is raised', async () => {
    await feed(t, [
      dehong({
        setl_id: 'DH-OUT-2',
        psn_no: 'P-DH-3',
        setl_time: '2025-04-01 08:00:00',
        bases: [{ amount: '100000.00' }],
        hifob_pay: '85000.00',
        over: { mdtrtarea_admvs: '530102', referral: false },
      }),
      dehong({
        setl_id: 'DH-OUT-3',
        psn_no: 'P-DH-4',
        setl_time: '2025-04-01 08:00:00',
        bases: [{ amount: '100000.00' }],
        hifob_pay: '90000.00',
        over: { mdtrtarea_admvs: '530102', referral: true },
      }),
    ]);
    expect(await cases(t, 'setl:DH-OUT-2')).toEqual([]);
    expect(await cases(t, 'setl:DH-OUT-3')).toEqual([]);
  });

  test('when hifob_pay is one fen off the half-up amount, then it passes the 0.01 tolerance', async () => {
    // 33,333.33 × 90% = 29,999.997 → 30,000.00 half-up; recorded 29,999.99 → −0.01
    await feed(t, [
      dehong({
        setl_id: 'DH-FEN-1',
        psn_no: 'P-DH-5',
        setl_time: '2025-05-01 08:00:00',
        bases: [{ amount: '33333.33' }],
        hifob_pay: '29999.99',
      }),
    ]);
    expect(await cases(t, 'setl:DH-FEN-1')).toEqual([]);
    expect(await createBenefitView(t.gw)('DH-FEN-1')).toMatchObject({
      expected_amount: '30000.00',
      difference: '-0.01',
      deviates: false,
      checked: true,
    });
  });
});

describe('the sample district (002 #5 §6: 85/90/95% on the cumulative base, base counted up to 100,000 a year)', () => {
  test('when settlements cross the bands and the base cap, then each is held to its own slice and the year to the band value of the cap', async () => {
    await feed(t, [
      // cum 0 → 30,000: 30,000 × 85% = 25,500.00
      district({
        setl_id: 'DS-1',
        psn_no: 'P-DS-1',
        setl_time: '2025-02-01 09:00:00',
        bases: [{ amount: '30000.00' }],
        hifob_pay: '25500.00',
      }),
      // cum 30,000 → 90,000: 10,000 × 85% + 40,000 × 90% + 10,000 × 95% = 8,500 + 36,000 + 9,500 = 54,000.00
      district({
        setl_id: 'DS-2',
        psn_no: 'P-DS-1',
        setl_time: '2025-03-01 09:00:00',
        bases: [{ amount: '60000.00' }],
        hifob_pay: '54000.00',
      }),
      // base 20,000 but only 10,000 left under the 100,000 base cap: 10,000 × 95% = 9,500.00; recorded 19,000.00 → +9,500.00
      district({
        setl_id: 'DS-3',
        psn_no: 'P-DS-1',
        setl_time: '2025-04-01 09:00:00',
        bases: [{ amount: '20000.00' }],
        hifob_pay: '19000.00',
      }),
    ]);
    expect(await cases(t, 'setl:DS-1')).toEqual([]);
    expect(await cases(t, 'setl:DS-2')).toEqual([]);
    const [dev] = await cases(t, 'setl:DS-3');
    expect(dev).toMatchObject({
      code: 'BENEFIT_RULE_DEVIATION',
      status: 'open',
      admdvs: '999901',
      period: '2025-04',
      expected_amount: '9500.00',
      actual_amount: '19000.00',
      difference: '9500.00',
    });
    expect(dev!.evidence).toMatchObject({
      base_cap: { limit: '100000.00', room_before: '10000.00', room_after: '0.00' },
      segments: [{ base: '20000.00', counted_base: '10000.00' }],
    });
    // The most the rules pay for a 100,000 base: 34,000 + 36,000 + 19,000 = 89,000.00; recorded 25,500 + 54,000 + 19,000 = 98,500.00
    const [cap] = await cases(t, 'person:9999:P-DS-1:2025');
    expect(cap).toMatchObject({
      code: 'ANNUAL_CAP_EXCEEDED',
      status: 'open',
      setl_id: null,
      period: '2025-04',
      expected_amount: '89000.00',
      actual_amount: '98500.00',
      difference: '9500.00',
    });
    expect(cap!.evidence).toMatchObject({ crossing_setl_id: 'DS-3', benefit_year: 2025 });
  });
});

describe('Ulanqab (003 art. 32: band_selfpay 50%, above_cap 80%, 120,000 a year across both)', () => {
  test('when the payout cap is reached mid-year and more is recorded, then the settlement deviates and ANNUAL_CAP_EXCEEDED is raised', async () => {
    await feed(t, [
      // above_cap 100,000 × 80% = 80,000.00 (room 120,000 → 40,000)
      ulanqab({
        setl_id: 'UQ-1',
        psn_no: 'P-UQ-1',
        setl_time: '2025-03-05 09:00:00',
        bases: [{ amount: '100000.00', seg: 'above_cap' }],
        hifob_pay: '80000.00',
      }),
      // band_selfpay 30,000 × 50% = 15,000 + above_cap 50,000 × 80% = 40,000 → 55,000, capped at the 40,000.00 left; recorded 55,000.00
      ulanqab({
        setl_id: 'UQ-2',
        psn_no: 'P-UQ-1',
        setl_time: '2025-06-05 09:00:00',
        bases: [
          { amount: '30000.00', seg: 'band_selfpay' },
          { amount: '50000.00', seg: 'above_cap' },
        ],
        hifob_pay: '55000.00',
      }),
    ]);
    const [dev] = await cases(t, 'setl:UQ-2');
    expect(dev).toMatchObject({
      code: 'BENEFIT_RULE_DEVIATION',
      expected_amount: '40000.00',
      actual_amount: '55000.00',
      difference: '15000.00',
      insurer_code: 'PICC_WLCB',
    });
    expect(dev!.evidence).toMatchObject({
      uncapped: '55000',
      payout_cap: { limit: '120000.00', room_before: '40000.00', room_after: '0.00' },
    });
    // 80,000 + 55,000 = 135,000.00 > 120,000.00, first passed at UQ-2 (June)
    const [cap] = await cases(t, 'person:1509:P-UQ-1:2025');
    expect(cap).toMatchObject({
      code: 'ANNUAL_CAP_EXCEEDED',
      group_key: 'person:1509:P-UQ-1:2025',
      admdvs: '150902',
      period: '2025-06',
      expected_amount: '120000.00',
      actual_amount: '135000.00',
      difference: '15000.00',
    });
    expect(cap!.evidence).toMatchObject({
      crossing_setl_id: 'UQ-2',
      settlements: [
        { setl_id: 'UQ-1', hifob_pay: '80000.00' },
        { setl_id: 'UQ-2', hifob_pay: '55000.00' },
      ],
    });
  });

  test('when the cap is paid exactly, then nothing is raised', async () => {
    await feed(t, [
      ulanqab({
        setl_id: 'UQ-3',
        psn_no: 'P-UQ-2',
        setl_time: '2025-03-05 09:00:00',
        bases: [{ amount: '100000.00' }],
        hifob_pay: '80000.00',
      }),
      ulanqab({
        setl_id: 'UQ-4',
        psn_no: 'P-UQ-2',
        setl_time: '2025-06-05 09:00:00',
        bases: [{ amount: '30000.00', seg: 'band_selfpay' }, { amount: '50000.00' }],
        hifob_pay: '40000.00',
      }),
    ]);
    expect(await cases(t, 'setl:UQ-4')).toEqual([]);
    expect(await cases(t, 'person:1509:P-UQ-2:2025')).toEqual([]);
  });
});

describe('re-evaluating the whole person-year', () => {
  // District, two settlements of 40,000 base each: the first fills band 1 (34,000.00), the second band 2 (36,000.00).
  test('when an earlier settlement is reversed, then a later one recorded at the higher band deviates, and one recorded at the lower band is cleared', async () => {
    const r1 = district({
      setl_id: 'RV-1',
      psn_no: 'P-RV-1',
      setl_time: '2025-01-10 09:00:00',
      bases: [{ amount: '40000.00' }],
      hifob_pay: '34000.00',
    });
    const q1 = district({
      setl_id: 'RV-3',
      psn_no: 'P-RV-2',
      setl_time: '2025-01-10 09:00:00',
      bases: [{ amount: '40000.00' }],
      hifob_pay: '34000.00',
    });
    await feed(t, [
      r1,
      // 40,000 × 90% = 36,000.00: right while RV-1 stands
      district({
        setl_id: 'RV-2',
        psn_no: 'P-RV-1',
        setl_time: '2025-02-10 09:00:00',
        bases: [{ amount: '40000.00' }],
        hifob_pay: '36000.00',
      }),
      q1,
      // recorded as if it were the first: expected 36,000.00, recorded 34,000.00 → −2,000.00
      district({
        setl_id: 'RV-4',
        psn_no: 'P-RV-2',
        setl_time: '2025-02-10 09:00:00',
        bases: [{ amount: '40000.00' }],
        hifob_pay: '34000.00',
      }),
    ]);
    expect(await cases(t, 'setl:RV-2')).toEqual([]);
    expect(await cases(t, 'setl:RV-4')).toMatchObject([
      { status: 'open', expected_amount: '36000.00', actual_amount: '34000.00', difference: '-2000.00' },
    ]);

    await feed(t, [
      { ...r1, status: 'reversed' },
      { ...q1, status: 'reversed' },
    ]);
    // Without the first settlement the second falls in band 1: 40,000 × 85% = 34,000.00
    expect(await cases(t, 'setl:RV-2')).toMatchObject([
      { status: 'open', expected_amount: '34000.00', actual_amount: '36000.00', difference: '2000.00' },
    ]);
    expect(await cases(t, 'setl:RV-4')).toMatchObject([{ status: 'resolved', resolution: 'auto' }]);
    expect(await createBenefitView(t.gw)('RV-1')).toMatchObject({ checked: false, unchecked_reason: 'reversed' });
  });

  test('when an earlier settlement arrives late, then the later one is re-evaluated and its case auto-resolves', async () => {
    // Alone, LT-2 is the year's first: 40,000 × 85% = 34,000.00; recorded 36,000.00 → +2,000.00
    await feed(t, [
      district({
        setl_id: 'LT-2',
        psn_no: 'P-LT-1',
        setl_time: '2025-02-10 09:00:00',
        bases: [{ amount: '40000.00' }],
        hifob_pay: '36000.00',
      }),
    ]);
    expect(await cases(t, 'setl:LT-2')).toMatchObject([{ status: 'open', expected_amount: '34000.00' }]);
    // LT-1 (January) fills band 1, so LT-2 is due 40,000 × 90% = 36,000.00
    await feed(t, [
      district({
        setl_id: 'LT-1',
        psn_no: 'P-LT-1',
        setl_time: '2025-01-10 09:00:00',
        bases: [{ amount: '40000.00' }],
        hifob_pay: '34000.00',
      }),
    ]);
    expect(await cases(t, 'setl:LT-2')).toMatchObject([{ status: 'resolved', resolution: 'auto' }]);
    expect(await createBenefitView(t.gw)('LT-2')).toMatchObject({ expected_amount: '36000.00', deviates: false });
  });

  test('when a person-year is audited again with nothing new, then no case changes and no stored result is rewritten', async () => {
    const keys = ['person:9999:P-DS-1:2025', 'person:1509:P-UQ-1:2025', 'person:9999:P-RV-1:2025'];
    const storedRows = async () =>
      (
        await t.gw.db.query(
          `SELECT setl_id, person_year, expected_amount, derivation, result_sha, evaluated_at FROM settlement_benefits
            WHERE person_year = ANY($1::text[]) ORDER BY setl_id`,
          [keys],
        )
      ).rows;
    const before = await storedRows();
    expect(before.length).toBeGreaterThan(3);
    const again = await auditPersonYears(t.gw, keys, new Date(Date.now() + 60_000));
    expect(again).toMatchObject({ person_years: 3, opened: 0, updated: 0, resolved: 0 });
    // The same results: the rows are left as they are (evaluated_at: when the result was last written).
    expect(await storedRows()).toEqual(before);
  });

  test('when a stored result is stale or missing, then the next audit of its person-year writes it again', async () => {
    const key = 'person:9999:P-LT-1:2025';
    const right = (
      await t.gw.db.query('SELECT * FROM settlement_benefits WHERE person_year = $1 ORDER BY setl_id', [key])
    ).rows;
    expect(right.map((r) => r.setl_id)).toEqual(['LT-1', 'LT-2']);
    await t.gw.db.query(
      `UPDATE settlement_benefits SET expected_amount = 1, derivation = NULL, result_sha = NULL WHERE setl_id = 'LT-2'`,
    );
    await t.gw.db.query(`DELETE FROM settlement_benefits WHERE setl_id = 'LT-1'`);
    await auditPersonYears(t.gw, [key], new Date());
    const after = (
      await t.gw.db.query('SELECT * FROM settlement_benefits WHERE person_year = $1 ORDER BY setl_id', [key])
    ).rows;
    const strip = (rows: Record<string, unknown>[]) => rows.map(({ evaluated_at: _, ...r }) => r);
    expect(strip(after)).toEqual(strip(right));
  });
});

describe('what is not checked', () => {
  test('when the region states no ratios (Jiaozuo) or the settlement has no large-expense entry, then it is unchecked and counted so', async () => {
    await feed(
      t,
      [
        record('410802', 'PICC_JZ', 'H41080200001', {
          setl_id: 'JZ-1',
          psn_no: 'P-JZ-1',
          setl_time: '2025-03-01 09:00:00',
          bases: [{ amount: '1000.00' }],
          hifob_pay: '1.00',
        }),
      ],
      'agencyOther',
    );
    expect(await cases(t, 'setl:JZ-1')).toEqual([]);
    expect(await createBenefitView(t.gw)('JZ-1')).toMatchObject({
      checked: false,
      unchecked_reason: 'no_benefit_rules',
      region: 'jiaozuo-4108',
    });
    expect(await benefitSummary(t.gw.db, '4108', '2025-03')).toEqual({ checked: 0, unchecked: 1, deviations: 0 });
  });

  test('when a region-period has followed, deviating, entry-less and reversed settlements, then the run summary counts the valid ones', async () => {
    const gone = dehong({
      setl_id: 'SM-4',
      psn_no: 'P-SM-4',
      setl_time: '2024-11-04 09:00:00',
      bases: [{ amount: '1000.00' }],
      hifob_pay: '900.00',
    });
    await feed(t, [
      dehong({
        setl_id: 'SM-1',
        psn_no: 'P-SM-1',
        setl_time: '2024-11-01 09:00:00',
        bases: [{ amount: '1000.00' }],
        hifob_pay: '900.00',
      }),
      dehong({
        setl_id: 'SM-2',
        psn_no: 'P-SM-2',
        setl_time: '2024-11-02 09:00:00',
        bases: [{ amount: '1000.00' }],
        hifob_pay: '950.00',
      }),
      dehong({ setl_id: 'SM-3', psn_no: 'P-SM-3', setl_time: '2024-11-03 09:00:00', bases: [], hifob_pay: '0.00' }),
      gone,
    ]);
    await feed(t, [{ ...gone, status: 'reversed' }]);
    expect(await benefitSummary(t.gw.db, '5331', '2024-11')).toEqual({ checked: 2, unchecked: 1, deviations: 1 });
    expect(await createBenefitView(t.gw)('SM-3')).toMatchObject({
      checked: false,
      unchecked_reason: 'no_large_expense_entry',
      expected_amount: null,
    });
  });
});

describe('benefit jobs in batches', () => {
  const job = (message_id: unknown) => ({ data: { message_id } }) as Job<BenefitJob>;

  test('when jobs of feed parts naming one person are active together, then the person-year is audited once for them all', async () => {
    const part = (setl_id: string, day: string) =>
      dehong({
        setl_id,
        psn_no: 'P-BT-1',
        setl_time: `2025-05-${day} 09:00:00`,
        bases: [{ amount: '1000.00' }],
        hifob_pay: '900.00',
      });
    const m1 = await feed(t, [part('BT-1', '01')]);
    const m2 = await feed(t, [part('BT-2', '02')]);
    const m3 = await feed(t, [part('BT-3', '03')]);
    const process = benefitProcessor(t.gw);
    const out = await Promise.all([process(job(m1)), process(job(m2)), process(job(m3))]);
    // One batch: the union of the parts' person-years (one), its three settlements, the same counts for each job.
    expect(out[0]).toMatchObject({ person_years: 1, settlements: 3 });
    expect(out[1]).toEqual(out[0]);
    expect(out[2]).toEqual(out[0]);
    expect(
      (
        await t.gw.db.query(
          `SELECT count(*)::int AS n FROM settlement_benefits WHERE person_year = 'person:5331:P-BT-1:2025'`,
        )
      ).rows[0],
    ).toEqual({ n: 3 });
  });

  test('when jobs keep arriving while a batch is audited, then the next batch waits until they stop and audits them together', async () => {
    const one = (setl_id: string, psn_no: string) =>
      dehong({
        setl_id,
        psn_no,
        setl_time: '2025-06-01 09:00:00',
        bases: [{ amount: '1000.00' }],
        hifob_pay: '900.00',
      });
    const m1 = await feed(t, [one('BQ-1', 'P-BQ-1')]);
    const m2 = await feed(t, [one('BQ-2', 'P-BQ-2')]);
    const m3 = await feed(t, [one('BQ-3', 'P-BQ-3')]);
    // Each audit transaction starts 300 ms late, so that a batch is surely in flight when m2 arrives.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const db = t.gw.db;
    const slow = new Proxy(db, {
      get: (o, k) =>
        k === 'tx'
          ? async (...a: Parameters<typeof db.tx>) => {
              await sleep(300);
              return o.tx(...a);
            }
          : (Reflect.get(o, k) as unknown),
    });
    const process = benefitProcessor({ ...t.gw, db: slow }, { quietMs: 1500 });
    // m1 finds the worker idle: audited at once. m2 arrives while it is in flight (a burst), m3 after
    // it is done but before the burst has been quiet for 1.5 s: one batch for both.
    const first = process(job(m1));
    await sleep(100);
    const second = process(job(m2));
    expect(await first).toMatchObject({ person_years: 1 });
    await sleep(100);
    const third = process(job(m3));
    const [o2, o3] = await Promise.all([second, third]);
    expect(o2).toMatchObject({ person_years: 2, settlements: 2 });
    expect(o3).toEqual(o2);
  });

  test('when a job has no message id, then it fails alone and the jobs batched with it are audited', async () => {
    const m = await feed(t, [
      dehong({
        setl_id: 'BT-9',
        psn_no: 'P-BT-9',
        setl_time: '2025-05-09 09:00:00',
        bases: [{ amount: '1000.00' }],
        hifob_pay: '900.00',
      }),
    ]);
    const process = benefitProcessor(t.gw);
    const [bad, good] = await Promise.allSettled([process(job('not-a-uuid')), process(job(m))]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { name: 'UnrecoverableError' } });
    expect(good).toMatchObject({ status: 'fulfilled', value: { person_years: 1, settlements: 1 } });
  });
});
