import { evaluateSettlement } from '../../../src/matching/rules';
import { UNKNOWN_ADMDVS } from '../../../src/matching/finding';
import { at, ctx, input, item, line, m } from './builders';

/**
 * Spec §4: a reference to a record not yet known waits a grace period (default 2 days from when the
 * gateway received the referencing message) before it is flagged, because feeds arrive on different days.
 */
describe('payment lines naming a settlement the agency has not recorded', () => {
  const received = at('2025-02-20 11:00:00');
  const expiry = at('2025-02-22 11:00:00');
  const unknown = (over = {}) => input({ settlement: undefined, lines: [line({ received_at: received, ...over })] });

  test('when still within the grace period, then nothing is flagged and nextCheckAt equals the expiry', () => {
    const r = evaluateSettlement(unknown(), ctx(new Date(expiry.getTime() - 1)));
    expect(r.findings).toEqual([]);
    expect(r.loop).toBeUndefined();
    expect(r.nextCheckAt).toEqual(expiry);
  });

  test('when the grace period expires, then UNKNOWN_SETTLEMENT is raised on the payment line', () => {
    const r = evaluateSettlement(unknown(), ctx(expiry));
    expect(r.findings).toEqual([
      expect.objectContaining({
        code: 'UNKNOWN_SETTLEMENT',
        severity: 'high',
        subject_key: 'line:PICC:PAY1:1',
        setl_id: 'S0001',
        admdvs: '533102',
        insurer_code: 'PICC',
        fixmedins_code: 'H53310200001',
        period: '2025-02',
        actual_amount: '1000.00',
      }),
    ]);
    expect(r.findings[0]?.evidence.grace_expires_at).toBe('2025-02-22T11:00:00+08:00');
    expect(r.nextCheckAt).toBeUndefined();
  });

  test('when the settlement arrives, then the line is matched and no longer unknown', () => {
    const r = evaluateSettlement(input({ lines: [line({ received_at: received })] }), ctx(expiry));
    expect(r.findings).toEqual([]);
    expect(r.loop?.status).toBe('closed');
  });

  test('when lines were received at different times, then the next check is the earliest pending expiry', () => {
    const lines = [
      line({ payment_id: 'PAY1', received_at: at('2025-02-18 08:00:00') }),
      line({ payment_id: 'PAY2', received_at: at('2025-02-21 08:00:00'), paid_amount: m('5.00') }),
      line({ payment_id: 'PAY3', received_at: at('2025-02-20 08:00:00'), paid_amount: m('6.00') }),
    ];
    const r = evaluateSettlement(input({ settlement: undefined, lines }), ctx('2025-02-21 12:00:00'));
    expect(r.findings.map((f) => f.subject_key)).toEqual(['line:PICC:PAY1:1']);
    expect(r.nextCheckAt).toEqual(at('2025-02-22 08:00:00'));
  });

  test('when the payee is a person and no fallback is given, then the region is UNKNOWN_ADMDVS', () => {
    const r = evaluateSettlement(unknown({ payee_type: 'person', payee_id: 'P000123' }), ctx(expiry));
    expect(r.findings[0]).toMatchObject({ admdvs: UNKNOWN_ADMDVS });
    expect(r.findings[0]?.fixmedins_code).toBeUndefined();
    expect(JSON.stringify(r.findings)).not.toContain('P000123');
  });

  test("when the caller supplies a fallback region, then it is used before the institution's county", () => {
    const r = evaluateSettlement(
      unknown(),
      ctx(expiry, { fallbackAdmdvs: ({ insurer_code }) => (insurer_code === 'PICC' ? '533100' : undefined) }),
    );
    expect(r.findings[0]).toMatchObject({ admdvs: '533100' });
  });

  test('when a pending item and a pending line expire at different times, then the earlier is the next check', () => {
    const r = evaluateSettlement(
      input({
        settlement: undefined,
        lines: [line({ received_at: received })],
        declaredItems: [item({ received_at: at('2025-02-20 10:00:00') })],
      }),
      ctx('2025-02-21 00:00:00'),
    );
    expect(r.nextCheckAt).toEqual(at('2025-02-22 10:00:00'));
  });

  test('when grace_days is a region parameter, then the expiry follows it', () => {
    const base = ctx(at('2025-02-23 11:00:00'));
    const r = evaluateSettlement(unknown(), { ...base, params: { ...base.params, grace_days: 5 } });
    expect(r.findings).toEqual([]);
    expect(r.nextCheckAt).toEqual(at('2025-02-25 11:00:00'));
  });
});
