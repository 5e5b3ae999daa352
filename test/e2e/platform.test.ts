/**
 * POST /v1/platform (spec §9) end to end: the same month sent as 2207/2208 envelopes to one gateway
 * and as the JSON feed to another gives the same loops and findings, to the fen; 3201 against the
 * agency's records; broken envelopes answer 200 infcode −1 naming the field, never 5xx.
 */
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import * as fx from '../support/fixtures';
import { BENEFIT_CODES } from './matching-support';
import type { Settlement } from '../../src/schemas/types';

let viaPlatform: TestGateway;
let viaFeed: TestGateway;
beforeAll(async () => {
  [viaPlatform, viaFeed] = await Promise.all([startTestGateway('platform-env'), startTestGateway('platform-feed')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([viaPlatform?.close(), viaFeed?.close()]);
});

const H1 = 'H53310200001';
/** Sample district 9999: its platform mapping owes insutype 310 to PICC_DH and reads clr_type 9901 as a manual claim. */
const rec = (setl_id: string, hifob: string, over: Partial<Settlement> = {}): Settlement =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    insuplc_admdvs: '999901',
    mdtrtarea_admvs: '999901',
    fixmedins_code: H1,
    certno: undefined,
    medfee_sumamt: '10000.00',
    inscp_scp_amt: '9000.00',
    hifp_pay: '5000.00',
    hifob_pay: hifob,
    fund_pay_sumamt: (5000 + Number(hifob)).toFixed(2),
    acct_pay: '100.00',
    psn_cash_pay: (10000 - 5000 - Number(hifob)).toFixed(2),
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '5000.00', fund_payamt: '5000.00' },
      { fund_pay_type: '330100', inscp_scp_amt: '4000.00', fund_payamt: hifob },
    ],
    ...over,
  });
const MONTH: Settlement[] = [
  rec('PF-1', '1000.00'),
  rec('PF-2', '2000.00'),
  rec('PF-3', '500.00'),
  rec('PF-4', '800.00', { setl_mode: 'manual' }),
  rec('PF-5', '300.00', { setl_time: '2025-03-20 14:00:00' }),
];

/** The 2207 a HIS sends for a record: the region and institution in the header, no exchange fields (the mapping decides them). */
function envelope2207(s: Settlement, extra: Record<string, unknown> = {}) {
  const {
    insuplc_admdvs,
    mdtrtarea_admvs,
    fixmedins_code,
    setldetail,
    insurer_code: _i,
    setl_mode,
    referral: _r,
    status: _s,
    ...setlinfo
  } = s;
  return {
    infno: '2207',
    msgid: `${fixmedins_code}20250310093000${s.setl_id.slice(-4)}`,
    mdtrtarea_admvs,
    insuplc_admdvs,
    recer_sys_code: 'YBXT',
    infver: 'V1.0',
    opter_type: '1',
    opter: 'A001',
    opter_name: '经办员',
    inf_time: '2025-03-10 09:31:00',
    fixmedins_code,
    fixmedins_name: '示例医院',
    cainfo: 'stored-not-trusted',
    input: {
      setlinfo: {
        ...setlinfo,
        clr_type: setl_mode === 'manual' ? '9901' : '21',
        clr_way: '1',
        refl_flag: '0',
        certno: null,
        ...extra,
      },
      setldetail,
    },
  };
}
const envelope2208 = (s: Settlement) => ({
  infno: '2208',
  insuplc_admdvs: s.insuplc_admdvs,
  fixmedins_code: s.fixmedins_code,
  input: { data: { setl_id: s.setl_id, mdtrt_id: s.mdtrt_id, psn_no: s.psn_no } },
});

const payments = [
  fx.payment({
    payment_id: 'PF-PAY-1',
    payee_id: H1,
    pay_amount: '4000.00',
    lines: [
      { setl_id: 'PF-1', paid_amount: '1000.00' },
      { setl_id: 'PF-2', paid_amount: '1500.00' },
      { setl_id: 'PF-3', paid_amount: '500.00' },
      { setl_id: 'PF-5', paid_amount: '1000.00' },
    ],
  }),
  fx.payment({
    payment_id: 'PF-PAY-2',
    payee_type: 'person',
    payee_id: 'P-PF-4',
    pay_amount: '800.00',
    lines: [{ setl_id: 'PF-4', paid_amount: '800.00' }],
  }),
];
const declaration = fx.batch({
  batch_id: 'PF-B-2025-03',
  fixmedins_code: H1,
  setl_cnt: 2,
  medfee_sumamt: '20000.00',
  hifob_pay_sumamt: '3100.00',
  items: [
    {
      setl_id: 'PF-1',
      mdtrt_id: 'M-PF-1',
      psn_no: 'P-PF-1',
      setl_time: '2025-03-10 09:30:00',
      medfee_sumamt: '10000.00',
      hifob_pay: '1000.00',
    },
    {
      setl_id: 'PF-2',
      mdtrt_id: 'M-PF-2',
      psn_no: 'P-PF-2',
      setl_time: '2025-03-10 09:30:00',
      medfee_sumamt: '10000.00',
      hifob_pay: '2100.00',
    },
  ],
});

const ok = (r: { status: number; data: { infcode: number; err_msg: string | null } }) => {
  expect([r.status, r.data.infcode, r.data.err_msg]).toEqual([200, 0, null]);
};

async function loops(t: TestGateway) {
  const { rows } = await t.gw.db
    .query(`SELECT setl_id, status, owed::text, paid::text, rejected::text, recovered::text, outstanding::text, due_date::text, closed_at, admdvs, insurer_code, fixmedins_code, period
    FROM settlement_loops WHERE setl_id LIKE 'PF-%' ORDER BY setl_id`);
  return rows;
}
/**
 * Every finding matching raised, resolved ones included; of the benefit audit's (another queue, which
 * audits a burst of jobs once it is over) the open ones: whether it ran before or after PF-3's
 * reversal decides whether a finding on PF-3 was raised and resolved, or never raised.
 */
async function findings(t: TestGateway) {
  const { rows } = await t.gw.db.query(
    `SELECT code, severity, status, subject_key, admdvs, insurer_code, fixmedins_code, period, setl_id, expected_amount::text, actual_amount::text, difference::text
       FROM discrepancies WHERE NOT (code = ANY($1::text[]) AND status = 'resolved') ORDER BY code, subject_key, detected_at`,
    [BENEFIT_CODES],
  );
  return rows;
}

async function eventually(check: () => Promise<void>, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a month sent as 2207/2208 envelopes', () => {
  test('when the same month goes to one gateway as 2207/2208 and to another as the JSON feed, then the loops and findings are the same to the fen', async () => {
    for (const s of MONTH) {
      const r = await viaPlatform.post('/v1/platform', envelope2207(s), 'agency');
      ok(r);
      expect(r.data.output).toMatchObject({ setl_id: s.setl_id, duplicate: false, message_id: expect.any(String) });
      expect(r.data).toMatchObject({
        inf_refmsgid: expect.any(String),
        refmsg_time: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        respond_time: expect.any(String),
      });
    }
    const feed = await viaFeed.post('/v1/agency/settlements', { settlements: MONTH }, 'agency');
    expect([feed.status, feed.data.accepted]).toEqual([202, 5]);
    // The same facts in the same order on both sides: the records, then the reversal (each applied before the next arrives).
    await Promise.all([viaPlatform.drain(), viaFeed.drain()]);
    ok(await viaPlatform.post('/v1/platform', envelope2208(MONTH[2]!), 'agency'));
    expect(
      (await viaFeed.post('/v1/agency/settlements', { settlements: [{ ...MONTH[2]!, status: 'reversed' }] }, 'agency'))
        .status,
    ).toBe(202);
    await Promise.all([viaPlatform.drain(), viaFeed.drain()]);

    for (const t of [viaPlatform, viaFeed]) {
      for (const p of payments) expect((await t.post('/v1/insurer-payments', p, 'insurerA')).status).toBe(202);
      expect((await t.post('/v1/settlement-batches', declaration, 'hospital1')).status).toBe(202);
      await t.drain();
    }
    await eventually(async () => {
      const [a, b] = [await loops(viaPlatform), await loops(viaFeed)];
      expect(a).toHaveLength(5);
      expect(a).toEqual(b);
      const [fa, fb] = [await findings(viaPlatform), await findings(viaFeed)];
      expect(fa).toEqual(fb);
      expect(fa.map((f) => f.code)).toEqual(
        expect.arrayContaining([
          'UNDERPAID',
          'REVERSED_SETTLEMENT_PAID',
          'OVERPAID',
          'DECLARED_AMOUNT_MISMATCH',
          'RECORDED_NOT_DECLARED',
        ]),
      );
    });
    const manual = (
      await viaPlatform.gw.db.query(
        `SELECT setl_mode, insurer_code, status FROM settlement_records WHERE setl_id = 'PF-4'`,
      )
    ).rows;
    expect(manual).toEqual([{ setl_mode: 'manual', insurer_code: 'PICC_DH', status: 'valid' }]);
  }, 120_000);

  test('when a 2207 is sent again, then it is a duplicate naming the first message; with other amounts, −1 naming setl_id', async () => {
    const s = rec('PF-DUP', '100.00', { fixmedins_code: 'H99990100009' });
    const first = await viaPlatform.post('/v1/platform', envelope2207(s), 'agency');
    ok(first);
    const again = await viaPlatform.post('/v1/platform', envelope2207(s), 'agency');
    ok(again);
    expect(again.data.output).toEqual({ setl_id: 'PF-DUP', message_id: first.data.output.message_id, duplicate: true });
    const other = await viaPlatform.post(
      '/v1/platform',
      envelope2207({ ...s, medfee_sumamt: '10001.00', psn_cash_pay: '4901.00' }),
      'agency',
    );
    expect([other.status, other.data.infcode]).toEqual([200, -1]);
    expect(other.data.err_msg).toContain('input.setlinfo.setl_id');
  });
});

describe('3201, the reconciliation of totals', () => {
  // PF-1, PF-2, PF-4, PF-5 are not reversed (PF-3 is): medfee 40000.00, fund 5000×4 + 1000 + 2000 + 800 + 300, acct 400.00.
  const data = {
    insutype: '310',
    clr_type: '21',
    setl_optins: '999900',
    stmt_begndate: '2025-03-01',
    stmt_enddate: '2025-03-31',
    medfee_sumamt: '40000.00',
    fund_pay_sumamt: '24100.00',
    acct_pay: '400.00',
    fixmedins_setl_cnt: 4,
    refd_setl_flag: '0',
  };
  const env = (d: Record<string, unknown>) => ({
    infno: '3201',
    fixmedins_code: H1,
    insuplc_admdvs: '999901',
    input: { data: d },
  });

  test("when the institution's totals match the agency's records, then stmt_rslt is 0", async () => {
    const r = await viaPlatform.post('/v1/platform', env(data), 'hospital1');
    ok(r);
    expect(r.data.output.stmtinfo).toMatchObject({ setl_optins: '999900', stmt_rslt: '0' });
  });

  test('when fund_pay_sumamt differs, then stmt_rslt is 1 and the description names the total and the difference', async () => {
    const r = await viaPlatform.post('/v1/platform', env({ ...data, fund_pay_sumamt: '24150.50' }), 'hospital1');
    ok(r);
    expect(r.data.output.stmtinfo.stmt_rslt).toBe('1');
    expect(r.data.output.stmtinfo.stmt_rslt_dscr).toContain('fund_pay_sumamt');
    expect(r.data.output.stmtinfo.stmt_rslt_dscr).toContain('相差 50.50');
    expect(r.data.output.stmtinfo.stmt_rslt_dscr).not.toContain('medfee_sumamt');
  });

  test('when refunds are included, then the reversal counts as a negative settlement: the same amounts, one more in the count', async () => {
    const r = await viaPlatform.post(
      '/v1/platform',
      env({ ...data, refd_setl_flag: '1', fixmedins_setl_cnt: '6' }),
      'hospital1',
    );
    ok(r);
    expect(r.data.output.stmtinfo.stmt_rslt).toBe('0');
  });

  test("when another institution's statement is asked for, then 403 (scope is HTTP-level)", async () => {
    const r = await viaPlatform.post('/v1/platform', { ...env(data), fixmedins_code: 'H53310200002' }, 'hospital1');
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toContain('application/problem+json');
  });
});

describe('broken envelopes answer 200 infcode −1 naming the field', () => {
  const cases: [string, unknown, 'agency' | 'hospital1', string][] = [
    ['a missing infno', { input: {} }, 'agency', 'infno'],
    ['an unknown infno', { infno: '9999', input: {} }, 'agency', 'infno'],
    ['an infno that is a number', { infno: 2207, input: {} }, 'agency', 'infno'],
    ['an input that is a string', { infno: '2207', input: 'setlinfo' }, 'agency', 'input'],
    ['a 2207 without setlinfo', { infno: '2207', input: { setldetail: [] } }, 'agency', 'input.setlinfo'],
    ['a 2207 from an institution (wrong role)', envelope2207(rec('PF-R', '1.00')), 'hospital1', 'infno'],
    ['a 3201 from the agency (wrong role)', { infno: '3201', input: { data: {} } }, 'agency', 'infno'],
    [
      'a 2207 whose amount is not an amount',
      envelope2207(rec('PF-A', '1.00'), { medfee_sumamt: '12.345' }),
      'agency',
      'input.setlinfo.medfee_sumamt',
    ],
    [
      'a 2207 of a region without an insurer for its insutype',
      envelope2207(rec('PF-I', '1.00', { insuplc_admdvs: '533102' })),
      'agency',
      'input.setlinfo.insurer_code',
    ],
    [
      'a 2207 without clr_type, clr_way or setl_mode',
      (() => {
        const e = envelope2207(rec('PF-M', '1.00'));
        delete (e.input.setlinfo as Record<string, unknown>).clr_type;
        delete (e.input.setlinfo as Record<string, unknown>).clr_way;
        return e;
      })(),
      'agency',
      'input.setlinfo.clr_type',
    ],
    [
      'a 2208 of an unknown setl_id',
      { infno: '2208', input: { data: { setl_id: 'NOPE', mdtrt_id: 'M', psn_no: 'P' } } },
      'agency',
      'input.data.setl_id',
    ],
    [
      "a 2208 whose psn_no is not the record's",
      { infno: '2208', input: { data: { setl_id: 'PF-1', mdtrt_id: 'M-PF-1', psn_no: 'P-other' } } },
      'agency',
      'input.data.psn_no',
    ],
    ['a 3201 without its data', { infno: '3201', fixmedins_code: H1, input: {} }, 'hospital1', 'input.data'],
    [
      'a 3201 whose end date is before its start',
      {
        infno: '3201',
        fixmedins_code: H1,
        input: {
          data: {
            insutype: '310',
            setl_optins: '999900',
            stmt_begndate: '2025-03-31',
            stmt_enddate: '2025-03-01',
            medfee_sumamt: 0,
            fund_pay_sumamt: 0,
            acct_pay: 0,
            fixmedins_setl_cnt: 0,
          },
        },
      },
      'hospital1',
      'input.data.stmt_enddate',
    ],
    ['a body that is an array', [], 'agency', '报文'],
  ];
  test.each(cases)('%s', async (_name, body, as, field) => {
    const r = await viaPlatform.post('/v1/platform', body, as);
    expect([r.status, r.data.infcode, r.data.output]).toEqual([200, -1, null]);
    expect(r.data.err_msg).toMatch(
      new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}[：:]|[；]${field.replace(/[.[\]]/g, '\\$&')}[：:]`),
    );
  });

  test('malformed JSON and a bad signature stay problem documents', async () => {
    const bad = await viaPlatform.post('/v1/platform', null, 'agency', { raw: '{"infno":' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const unsigned = await viaPlatform.post('/v1/platform', { infno: '2207', input: {} }, 'agency', {
      signature: 'v1,AAAA',
    });
    expect(unsigned.status).toBe(401);
  });
});

describe("a setl_id stored in another agency's region", () => {
  // Stored under 999901 (the Dehong agency's sample district); the Jiaozuo agency's scope is 4108 only.
  const theirs = rec('PX-THEIRS-1', '700.00', { fixmedins_code: 'H53310200002' });
  const stateOf = async (t: TestGateway, setlId: string) => {
    await t.drain();
    const q = (sql: string) => t.gw.db.query(sql, [setlId]).then((r) => r.rows);
    return {
      records: await q(`SELECT * FROM settlement_records WHERE setl_id = $1 ORDER BY status`),
      loops: await q(`SELECT * FROM settlement_loops WHERE setl_id = $1`),
    };
  };
  /** Everything of an answer but its request id and clock. */
  const answerOf = (r: { status: number; headers: Record<string, unknown>; data: Record<string, unknown> }) => {
    const { inf_refmsgid: _id, refmsg_time: _t1, respond_time: _t2, ...rest } = r.data;
    return {
      status: r.status,
      type: r.headers['content-type'],
      keys: Object.keys(r.data),
      err_msg: r.data.err_msg,
      ...rest,
    };
  };

  test('when another agency sends a 2208 for it, then the answer is the not-found answer, and the record is unchanged', async () => {
    const probe = envelope2208(theirs);
    const beforeStored = answerOf(await viaPlatform.post('/v1/platform', probe, 'agencyOther'));
    expect(beforeStored).toMatchObject({ status: 200, infcode: -1, output: null });
    expect(beforeStored.err_msg).toMatch(/^input\.data\.setl_id：结算 PX-THEIRS-1 未找到/);

    ok(await viaPlatform.post('/v1/platform', envelope2207(theirs), 'agency'));
    const stored = await stateOf(viaPlatform, theirs.setl_id);
    expect(stored.records).toEqual([expect.objectContaining({ status: 'valid', insuplc_admdvs: '999901' })]);

    // The same envelope once the record exists outside the sender's scope: the same answer, to the byte.
    const afterStored = answerOf(await viaPlatform.post('/v1/platform', probe, 'agencyOther'));
    expect(afterStored).toEqual(beforeStored);
    // And the answer for an id stored nowhere differs only by the id it names.
    const never = answerOf(
      await viaPlatform.post('/v1/platform', envelope2208(rec('PX-NEVER-1', '700.00')), 'agencyOther'),
    );
    expect({ ...never, err_msg: String(never.err_msg).replaceAll('PX-NEVER-1', 'PX-THEIRS-1') }).toEqual(afterStored);

    expect(await stateOf(viaPlatform, theirs.setl_id)).toEqual(stored);
    // The owner still reverses it as always.
    ok(await viaPlatform.post('/v1/platform', envelope2208(theirs), 'agency'));
  });

  test('when another agency sends a 2207 of it under its own region, then 403 OUT_OF_SCOPE at setl_id, as the feed answers (the id is taken, nothing more), and the record is unchanged', async () => {
    const s = rec('PX-THEIRS-2', '700.00', { fixmedins_code: 'H53310200002' });
    ok(await viaPlatform.post('/v1/platform', envelope2207(s), 'agency'));
    expect((await viaFeed.post('/v1/agency/settlements', { settlements: [s] }, 'agency')).status).toBe(202);
    const stored = await stateOf(viaPlatform, s.setl_id);
    const storedFeed = await stateOf(viaFeed, s.setl_id);

    const mine = { ...s, insuplc_admdvs: '410802', mdtrtarea_admvs: '410802', insurer_code: 'PICC_DH' };
    const viaEnvelope = await viaPlatform.post(
      '/v1/platform',
      envelope2207(mine, { insurer_code: 'PICC_DH', setl_mode: 'direct' }),
      'agencyOther',
    );
    expect(viaEnvelope.status).toBe(403);
    expect(viaEnvelope.data.errors).toEqual([
      expect.objectContaining({ path: '/input/setlinfo/setl_id', code: 'OUT_OF_SCOPE' }),
    ]);
    const viaJson = await viaFeed.post('/v1/agency/settlements', { settlements: [mine] }, 'agencyOther');
    expect(viaJson.status).toBe(422);
    expect(viaJson.data.rejected[0].errors).toEqual([
      expect.objectContaining({ path: '/setl_id', code: 'OUT_OF_SCOPE' }),
    ]);

    expect(await stateOf(viaPlatform, s.setl_id)).toEqual(stored);
    expect(await stateOf(viaFeed, s.setl_id)).toEqual(storedFeed);
  });
});
