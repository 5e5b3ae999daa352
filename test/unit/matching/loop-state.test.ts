import { evaluateSettlement } from '../../../src/matching/rules';
import { at, codes, ctx, input, line, m, recovery, settlement } from './builders';

/** Settlement S0001: direct, owed 1000.00 by PICC to H53310200001, due 2025-02-28. */
describe('the loop of one settlement', () => {
  test('when nothing is paid yet before the due date, then the loop is owed with everything outstanding', () => {
    const r = evaluateSettlement(input(), ctx('2025-02-01 00:00:00'));
    expect(r.loop).toMatchObject({ status: 'owed', due_date: '2025-02-28', due_at: at('2025-03-01 00:00:00') });
    expect(r.loop?.outstanding.toString()).toBe('1000.00');
    expect(r.findings).toEqual([]);
  });

  test('when instalments add up exactly, then the last one closes the loop at its pay_time with no UNDERPAID', () => {
    const lines = [
      line({ payment_id: 'PAY1', paid_amount: m('300.00'), pay_time: at('2025-02-03 09:00:00') }),
      line({ payment_id: 'PAY2', paid_amount: m('300.00'), pay_time: at('2025-02-10 09:00:00') }),
      line({ payment_id: 'PAY3', paid_amount: m('400.00'), pay_time: at('2025-02-17 09:00:00') }),
    ];
    const r = evaluateSettlement(input({ lines }), ctx());
    expect(r.loop?.status).toBe('closed');
    expect(r.loop?.closed_at).toEqual(at('2025-02-17 09:00:00'));
    expect(r.loop?.paid.toString()).toBe('1000.00');
    expect(r.loop?.outstanding.toString()).toBe('0.00');
    expect(r.findings).toEqual([]);
  });

  test('when only the first instalment has arrived, then UNDERPAID is raised until the rest comes', () => {
    const first = line({ payment_id: 'PAY1', paid_amount: m('300.00') });
    const r = evaluateSettlement(input({ lines: [first] }), ctx());
    expect(codes(r)).toEqual(['UNDERPAID']);
    expect(r.findings[0]).toMatchObject({ expected_amount: '1000.00', actual_amount: '300.00', difference: '-700.00' });
    expect(r.loop?.outstanding.toString()).toBe('700.00');
  });

  test('when part is rejected with a reason, then the rejection counts toward closure', () => {
    const l = line({ paid_amount: m('850.00'), rejected_amount: m('150.00'), reject_reason_code: 'R02' });
    const r = evaluateSettlement(input({ lines: [l] }), ctx());
    expect(r.loop).toMatchObject({ status: 'closed' });
    expect(r.loop?.rejected.toString()).toBe('150.00');
    expect(r.findings).toEqual([]);
  });

  test('when the whole amount is rejected with a reason, then the loop closes with nothing paid', () => {
    const l = line({ paid_amount: m('0'), rejected_amount: m('1000.00'), reject_reason_code: 'R01' });
    const r = evaluateSettlement(input({ lines: [l] }), ctx());
    expect(r.loop?.status).toBe('closed');
    expect(r.loop?.paid.toString()).toBe('0.00');
  });

  test('when lines at the same pay_time close it, then ties are broken by payment_id and line_no', () => {
    const t = at('2025-02-20 10:00:00');
    const lines = [
      line({ payment_id: 'PAY2', line_no: 1, paid_amount: m('500.00'), pay_time: t }),
      line({ payment_id: 'PAY1', line_no: 2, paid_amount: m('500.00'), pay_time: t }),
    ];
    const r = evaluateSettlement(input({ lines }), ctx());
    expect(r.loop?.status).toBe('closed');
    expect(r.loop?.closed_at).toEqual(t);
  });

  test('when a line comes from another insurer, then it does not count toward the loop', () => {
    const other = line({ insurer_code: 'CPIC', payment_id: 'X1' });
    const r = evaluateSettlement(input({ lines: [other] }), ctx());
    expect(r.loop?.status).toBe('owed');
    expect(r.loop?.paid.toString()).toBe('0.00');
    expect(codes(r)).toEqual(['INSURER_MISMATCH']);
  });

  test('when the payment goes to another institution, then it does not count toward the loop', () => {
    const r = evaluateSettlement(input({ lines: [line({ payee_id: 'H53310200999' })] }), ctx());
    expect(r.loop?.status).toBe('owed');
    expect(codes(r)).toEqual(['PAYEE_MISMATCH']);
  });

  test('when a closed settlement is later partly recovered, then it stays closed and reports the recovery', () => {
    const r = evaluateSettlement(
      input({ lines: [line()], recoveries: [recovery({ amount: m('200.00') })] }),
      ctx('2025-04-02 00:00:00'),
    );
    expect(r.loop?.status).toBe('closed');
    expect(r.loop?.recovered.toString()).toBe('200.00');
    expect(r.loop?.outstanding.toString()).toBe('0.00');
    expect(r.findings).toEqual([]);
  });

  test('when a settlement is reversed or owes nothing, then its loop is reversed or not_owed', () => {
    expect(evaluateSettlement(input({ settlement: settlement({ status: 'reversed' }) }), ctx()).loop?.status).toBe(
      'reversed',
    );
    const zero = evaluateSettlement(
      input({ settlement: settlement({ hifob_pay: m('0.00') }) }),
      ctx('2025-06-01 00:00:00'),
    );
    expect(zero.loop?.status).toBe('not_owed');
    expect(zero.loop?.owed.toString()).toBe('0.00');
    expect(zero.findings).toEqual([]);
    expect(zero.nextCheckAt).toBeUndefined();
  });

  test('when a manual claim is paid to the person, then the line counts and its due date is in working days', () => {
    const manual = settlement({ setl_mode: 'manual', setl_time: at('2025-01-20 15:00:00') });
    const l = line({ payee_type: 'person', payee_id: 'P000123', pay_time: at('2025-02-21 16:00:00') });
    const r = evaluateSettlement(input({ settlement: manual, lines: [l] }), ctx());
    expect(r.loop).toMatchObject({ status: 'closed', due_date: '2025-02-21' });
    expect(r.findings).toEqual([]);
  });
});
