import { evaluateSettlement } from '../../../src/matching/rules';
import { at, codes, ctx, input, line, m, recovery, settlement } from './builders';

/** Settlement S0001: direct, owed 1000.00 by PICC to H53310200001, due 2025-02-28 (lapses 03-01 00:00 CST). */
describe('deadlines of a settlement', () => {
  test('when nothing is paid when the due date lapses, then PAYMENT_OVERDUE is raised', () => {
    const r = evaluateSettlement(input(), ctx('2025-03-01 00:00:00'));
    expect(r.loop?.status).toBe('overdue');
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'PAYMENT_OVERDUE',
        severity: 'high',
        subject_key: 'setl:S0001',
        admdvs: '533102',
        insurer_code: 'PICC',
        fixmedins_code: 'H53310200001',
        period: '2025-01',
        setl_id: 'S0001',
        expected_amount: '1000.00',
        actual_amount: '0.00',
        difference: '-1000.00',
      }),
    ]);
    expect(r.findings[0]?.evidence).toMatchObject({
      message_ids: ['msg-setl-1'],
      due: { date: '2025-02-28', rule: 'direct' },
    });
    expect(r.nextCheckAt).toBeUndefined();
  });

  test('when judged a millisecond before the lapse, then it is not overdue and the lapse is the next check', () => {
    const r = evaluateSettlement(input(), ctx(new Date(at('2025-03-01 00:00:00').getTime() - 1)));
    expect(r.findings).toEqual([]);
    expect(r.nextCheckAt).toEqual(at('2025-03-01 00:00:00'));
  });

  test('when a partial payment is overdue, then both UNDERPAID and PAYMENT_OVERDUE are open', () => {
    const r = evaluateSettlement(input({ lines: [line({ paid_amount: m('600.00') })] }), ctx('2025-03-05 00:00:00'));
    expect(codes(r)).toEqual(['PAYMENT_OVERDUE', 'UNDERPAID']);
    expect(r.findings[0]).toMatchObject({ actual_amount: '600.00', difference: '-400.00' });
  });

  test('when the closing payment is at the exact lapse instant, then PAID_LATE is raised', () => {
    const r = evaluateSettlement(
      input({ lines: [line({ pay_time: at('2025-03-01 00:00:00') })] }),
      ctx('2025-03-02 00:00:00'),
    );
    expect(r.loop?.status).toBe('closed');
    expect(codes(r)).toEqual(['PAID_LATE']);
    expect(r.findings[0]).toMatchObject({ severity: 'low', subject_key: 'setl:S0001' });
    expect(r.findings[0]?.evidence.closed_at).toBe('2025-03-01T00:00:00+08:00');
  });

  test('when the closing payment is at 23:59:59 on the due date, then it is on time', () => {
    const r = evaluateSettlement(
      input({ lines: [line({ pay_time: at('2025-02-28 23:59:59') })] }),
      ctx('2025-03-02 00:00:00'),
    );
    expect(r.findings).toEqual([]);
  });

  test('when a late payment closes an overdue loop, then PAYMENT_OVERDUE gives way to PAID_LATE', () => {
    const late = line({ pay_time: at('2025-03-10 10:00:00') });
    expect(codes(evaluateSettlement(input(), ctx('2025-03-05 00:00:00')))).toEqual(['PAYMENT_OVERDUE']);
    expect(codes(evaluateSettlement(input({ lines: [late] }), ctx('2025-03-11 00:00:00')))).toEqual(['PAID_LATE']);
  });
});

describe('amounts paid for a settlement', () => {
  test('when paid more than owed, then OVERPAID is raised and the loop is closed', () => {
    const r = evaluateSettlement(input({ lines: [line({ paid_amount: m('1000.01') })] }), ctx());
    expect(r.loop?.status).toBe('closed');
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'OVERPAID',
        severity: 'critical',
        expected_amount: '1000.00',
        actual_amount: '1000.01',
        difference: '0.01',
      }),
    ]);
  });

  test('when a payment repeats a paid amount, then DUPLICATE_PAYMENT is raised instead of OVERPAID', () => {
    const lines = [line({ payment_id: 'PAY1' }), line({ payment_id: 'PAY2', pay_time: at('2025-02-22 10:00:00') })];
    const r = evaluateSettlement(input({ lines }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'DUPLICATE_PAYMENT',
        severity: 'critical',
        actual_amount: '2000.00',
        difference: '1000.00',
      }),
    ]);
    expect(r.findings[0]?.evidence.lines?.map((l) => l.payment_id)).toEqual(['PAY1', 'PAY2']);
    expect(r.findings[0]?.evidence.message_ids).toEqual(['msg-pay-PAY1', 'msg-pay-PAY2', 'msg-setl-1']);
  });

  test('when equal instalments close it and a different amount overpays, then it is OVERPAID, not a duplicate', () => {
    const lines = [
      line({ payment_id: 'PAY1', paid_amount: m('500.00'), pay_time: at('2025-02-10 10:00:00') }),
      line({ payment_id: 'PAY2', paid_amount: m('500.00'), pay_time: at('2025-02-11 10:00:00') }),
      line({ payment_id: 'PAY3', paid_amount: m('30.00'), pay_time: at('2025-02-12 10:00:00') }),
    ];
    expect(codes(evaluateSettlement(input({ lines }), ctx()))).toEqual(['OVERPAID']);
  });

  test('when the excess of a duplicate is recovered, then the duplicate is resolved and the loop stays closed', () => {
    const lines = [line({ payment_id: 'PAY1' }), line({ payment_id: 'PAY2' })];
    const r = evaluateSettlement(input({ lines, recoveries: [recovery()] }), ctx('2025-04-02 00:00:00'));
    expect(r.findings).toEqual([]);
    expect(r.loop).toMatchObject({ status: 'closed' });
  });

  test('when paid to the wrong institution, then PAYEE_MISMATCH is raised on the payment line', () => {
    const wrong = line({ payment_id: 'PAY9', line_no: 3, payee_id: 'H53310200999' });
    const r = evaluateSettlement(input({ lines: [wrong] }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'PAYEE_MISMATCH',
        severity: 'high',
        subject_key: 'line:PICC:PAY9:3',
        setl_id: 'S0001',
        fixmedins_code: 'H53310200001',
        period: '2025-02',
        actual_amount: '1000.00',
      }),
    ]);
    expect(r.findings[0]?.detail).toContain('institution H53310200999');
  });

  test('when a manual claim is paid to an institution, then PAYEE_MISMATCH is raised without the person number', () => {
    const manual = settlement({ setl_mode: 'manual' });
    const r = evaluateSettlement(input({ settlement: manual, lines: [line()] }), ctx());
    // Due 20 working days after 01-15 (2025-02-18): the wrong payee leaves it overdue as of 02-25.
    expect(codes(r)).toEqual(['PAYEE_MISMATCH', 'PAYMENT_OVERDUE']);
    expect(JSON.stringify(r.findings)).not.toContain('P000123');
  });

  test('when another insurer pays, then INSURER_MISMATCH is filed under that insurer', () => {
    const r = evaluateSettlement(input({ lines: [line({ insurer_code: 'CPIC', payment_id: 'C1' })] }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({ code: 'INSURER_MISMATCH', insurer_code: 'CPIC', subject_key: 'line:CPIC:C1:1' }),
    ]);
  });

  test('when a reversed settlement was paid, then REVERSED_SETTLEMENT_PAID is raised', () => {
    const r = evaluateSettlement(input({ settlement: settlement({ status: 'reversed' }), lines: [line()] }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'REVERSED_SETTLEMENT_PAID',
        severity: 'critical',
        expected_amount: '0.00',
        actual_amount: '1000.00',
      }),
    ]);
  });

  test('when a recovery brings net paid on a reversed settlement to zero, then nothing is flagged', () => {
    const s = settlement({ status: 'reversed' });
    const partly = evaluateSettlement(
      input({ settlement: s, lines: [line()], recoveries: [recovery({ amount: m('400.00') })] }),
      ctx('2025-04-02 00:00:00'),
    );
    expect(partly.findings).toEqual([
      expect.objectContaining({ code: 'REVERSED_SETTLEMENT_PAID', actual_amount: '600.00' }),
    ]);
    const fully = evaluateSettlement(
      input({ settlement: s, lines: [line()], recoveries: [recovery()] }),
      ctx('2025-04-02 00:00:00'),
    );
    expect(fully.findings).toEqual([]);
    expect(fully.loop?.status).toBe('reversed');
  });

  test('when a recovery comes from another insurer, then it does not offset the owing insurer', () => {
    const s = settlement({ status: 'reversed' });
    const r = evaluateSettlement(
      input({ settlement: s, lines: [line()], recoveries: [recovery({ insurer_code: 'CPIC' })] }),
      ctx(),
    );
    expect(codes(r)).toEqual(['REVERSED_SETTLEMENT_PAID']);
  });
});
