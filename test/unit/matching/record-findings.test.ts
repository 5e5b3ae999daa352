import { evaluateSettlement } from '../../../src/matching/rules';
import { at, codes, ctx, input, line, m, settlement } from './builders';

/** Checks of the agency record itself (004 §6: order of payers, no double or over-reimbursement). */
describe('payers together against the bill', () => {
  test('when the payers together exceed medfee_sumamt, then OVER_REIMBURSEMENT is raised', () => {
    const s = settlement({
      medfee_sumamt: m('5000.00'),
      hifp_pay: m('3000.00'),
      hifob_pay: m('1000.00'),
      maf_pay: m('800.00'),
      oth_pay: m('200.01'),
    });
    const r = evaluateSettlement(input({ settlement: s, lines: [line()] }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'OVER_REIMBURSEMENT',
        severity: 'critical',
        subject_key: 'setl:S0001',
        expected_amount: '5000.00',
        actual_amount: '5000.01',
        difference: '0.01',
      }),
    ]);
    expect(r.findings[0]?.evidence.amounts).toEqual({
      hifp_pay: '3000.00',
      hifob_pay: '1000.00',
      maf_pay: '800.00',
      oth_pay: '200.01',
      medfee_sumamt: '5000.00',
    });
  });

  test('when the payers together equal medfee_sumamt exactly, then nothing is flagged', () => {
    const s = settlement({
      hifp_pay: m('3000.00'),
      hifob_pay: m('1000.00'),
      hifmi_pay: m('500.00'),
      cvlserv_pay: m('300.00'),
      maf_pay: m('200.00'),
    });
    expect(evaluateSettlement(input({ settlement: s, lines: [line()] }), ctx()).findings).toEqual([]);
  });

  test('when an over-reimbursing settlement is reversed, then it is not flagged', () => {
    const s = settlement({ status: 'reversed', hifp_pay: m('4500.00') });
    expect(codes(evaluateSettlement(input({ settlement: s }), ctx()))).toEqual([]);
  });
});

describe('one visit reimbursed twice', () => {
  const direct = settlement({ setl_id: 'S0001', setl_mode: 'direct' });
  const manual = settlement({
    setl_id: 'S0002',
    setl_mode: 'manual',
    hifob_pay: m('700.00'),
    message_id: 'msg-setl-2',
    setl_time: at('2025-02-03 10:00:00'),
    period: '2025-02',
  });
  const manualPaid = [line({ setl_id: 'S0002', payee_type: 'person', payee_id: 'P000123', paid_amount: m('700.00') })];

  test('when the same mdtrt_id has a direct and a manual settlement, then DUPLICATE_REIMBURSEMENT is raised on the manual one', () => {
    const r = evaluateSettlement(
      { ...input({ setl_id: 'S0002', settlement: manual, lines: manualPaid }), sameMdtrt: [direct] },
      ctx(),
    );
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'DUPLICATE_REIMBURSEMENT',
        severity: 'critical',
        subject_key: 'setl:S0002',
        setl_id: 'S0002',
        period: '2025-02',
        expected_amount: '0.00',
        actual_amount: '700.00',
      }),
    ]);
    expect(r.findings[0]?.evidence.settlements?.map((s) => s.setl_id)).toEqual(['S0002', 'S0001']);
    expect(r.findings[0]?.evidence.message_ids).toEqual(['msg-setl-1', 'msg-setl-2']);
  });

  test('when the direct settlement is evaluated, then the duplicate is not raised twice', () => {
    const r = evaluateSettlement(input({ settlement: direct, lines: [line()], sameMdtrt: [manual] }), ctx());
    expect(r.findings).toEqual([]);
  });

  test('when the direct settlement was reversed or paid nothing from the fund, then it is no duplicate', () => {
    for (const other of [settlement({ status: 'reversed' }), settlement({ hifob_pay: m('0.00') })]) {
      const r = evaluateSettlement(
        { ...input({ setl_id: 'S0002', settlement: manual, lines: manualPaid }), sameMdtrt: [other] },
        ctx(),
      );
      expect(r.findings).toEqual([]);
    }
  });
});
