import { evaluateDeclaration, evaluateSettlement } from '../../../src/matching/rules';
import { at, codes, ctx, input, item, line, m, settlement } from './builders';

const batch = { batch_id: 'B2025-01', message_id: 'msg-batch-1', received_at: at('2025-02-05 09:00:00') };
const paid = [line()];

describe("an institution's declared items against the agency's record", () => {
  test('when the declared amounts equal the record, then nothing is flagged', () => {
    const r = evaluateSettlement(input({ lines: paid, declaredItems: [item()], declarationReceived: batch }), ctx());
    expect(r.findings).toEqual([]);
  });

  test('when the declared hifob_pay differs by one fen, then DECLARED_AMOUNT_MISMATCH is raised on the item', () => {
    const r = evaluateSettlement(
      input({ lines: paid, declaredItems: [item({ hifob_pay: m('1000.01') })], declarationReceived: batch }),
      ctx(),
    );
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'DECLARED_AMOUNT_MISMATCH',
        severity: 'medium',
        subject_key: 'item:H53310200001:PICC:2025-01:S0001',
        admdvs: '533102',
        expected_amount: '1000.00',
        actual_amount: '1000.01',
        difference: '0.01',
      }),
    ]);
    expect(r.findings[0]?.evidence.mismatched_fields).toEqual([
      { field: 'hifob_pay', declared: '1000.01', recorded: '1000.00' },
    ]);
  });

  test('when only the declared medfee_sumamt differs by one fen, then the mismatch names medfee_sumamt', () => {
    const r = evaluateSettlement(
      input({ lines: paid, declaredItems: [item({ medfee_sumamt: m('4999.99') })], declarationReceived: batch }),
      ctx(),
    );
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'DECLARED_AMOUNT_MISMATCH',
        expected_amount: '5000.00',
        actual_amount: '4999.99',
      }),
    ]);
    expect(r.findings[0]?.evidence.mismatched_fields?.map((f) => f.field)).toEqual(['medfee_sumamt']);
  });

  test('when the institution declares a reversed settlement with a large-expense amount, then it is a mismatch against 0.00', () => {
    const r = evaluateSettlement(
      input({ settlement: settlement({ status: 'reversed' }), declaredItems: [item()] }),
      ctx(),
    );
    expect(r.findings).toEqual([
      expect.objectContaining({ code: 'DECLARED_AMOUNT_MISMATCH', expected_amount: '0.00', actual_amount: '1000.00' }),
    ]);
  });

  test("when the institution's batch has arrived without an owed direct settlement, then RECORDED_NOT_DECLARED is raised", () => {
    const r = evaluateSettlement(input({ lines: paid, declarationReceived: batch }), ctx());
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'RECORDED_NOT_DECLARED',
        severity: 'medium',
        subject_key: 'setl:S0001',
        expected_amount: '1000.00',
        actual_amount: '0.00',
      }),
    ]);
    expect(r.findings[0]?.evidence.message_ids).toEqual(['msg-batch-1', 'msg-setl-1']);
  });

  test('when the settlement is only in a batch for another insurer, then it still counts as not declared', () => {
    const elsewhere = item({ insurer_code: 'CPIC', batch_id: 'B-CPIC' });
    const r = evaluateSettlement(input({ lines: paid, declaredItems: [elsewhere], declarationReceived: batch }), ctx());
    expect(codes(r)).toEqual(['RECORDED_NOT_DECLARED']);
  });

  test('when no batch has arrived, or the settlement is manual, then RECORDED_NOT_DECLARED is not raised', () => {
    expect(evaluateSettlement(input({ lines: paid }), ctx()).findings).toEqual([]);
    const manual = settlement({ setl_mode: 'manual' });
    const manualPaid = [line({ payee_type: 'person', payee_id: 'P000123', pay_time: at('2025-02-10 10:00:00') })];
    expect(
      evaluateSettlement(input({ settlement: manual, lines: manualPaid, declarationReceived: batch }), ctx()).findings,
    ).toEqual([]);
  });
});

describe('declared items the agency has not recorded', () => {
  const received = at('2025-02-05 09:00:00');
  const unknown = { settlement: undefined, declaredItems: [item({ received_at: received })] };

  test('when within the grace period, then nothing is flagged and the grace expiry is the next check', () => {
    const r = evaluateSettlement(input(unknown), ctx('2025-02-07 08:59:59'));
    expect(r.findings).toEqual([]);
    expect(r.loop).toBeUndefined();
    expect(r.nextCheckAt).toEqual(at('2025-02-07 09:00:00'));
  });

  test('when the grace period has expired, then DECLARED_NOT_RECORDED is raised with the county as region', () => {
    const r = evaluateSettlement(input(unknown), ctx('2025-02-07 09:00:00'));
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'DECLARED_NOT_RECORDED',
        severity: 'high',
        subject_key: 'item:H53310200001:PICC:2025-01:S0001',
        admdvs: '533102',
        period: '2025-01',
        setl_id: 'S0001',
        actual_amount: '1000.00',
      }),
    ]);
    expect(r.nextCheckAt).toBeUndefined();
  });
});

describe('the declaration of an institution-period', () => {
  const decl = {
    fixmedins_code: 'H53310200001',
    insurer_code: 'PICC',
    period: '2025-01',
    admdvs: '533102',
    owedDirectCount: 3,
  };

  test('when no batch has arrived by day 10 of the next month, then DECLARATION_MISSING is raised after it lapses', () => {
    const before = evaluateDeclaration(decl, ctx('2025-02-10 23:59:59'));
    expect(before.findings).toEqual([]);
    expect(before.nextCheckAt).toEqual(at('2025-02-11 00:00:00'));
    const after = evaluateDeclaration(decl, ctx('2025-02-11 00:00:00'));
    expect(after.findings).toEqual([
      expect.objectContaining({
        code: 'DECLARATION_MISSING',
        severity: 'medium',
        subject_key: 'decl:H53310200001:PICC:2025-01',
        admdvs: '533102',
      }),
    ]);
  });

  test('when the batch arrives, even late, or nothing direct is owed, then nothing is flagged', () => {
    expect(
      evaluateDeclaration({ ...decl, batchReceivedAt: at('2025-02-20 00:00:00') }, ctx('2025-03-01 00:00:00')).findings,
    ).toEqual([]);
    const none = evaluateDeclaration({ ...decl, owedDirectCount: 0 }, ctx('2025-03-01 00:00:00'));
    expect(none.findings).toEqual([]);
    expect(none.nextCheckAt).toBeUndefined();
  });
});
