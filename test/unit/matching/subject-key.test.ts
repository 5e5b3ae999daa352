import fc from 'fast-check';
import { parseSubjectKey, subjectKey, type Subject } from '../../../src/matching/rules';

describe('subject keys', () => {
  test('when ids are ordinary, then keys read as the documented formats', () => {
    expect(subjectKey({ kind: 'settlement', setl_id: 'S0001' })).toBe('setl:S0001');
    expect(subjectKey({ kind: 'payment_line', insurer_code: 'PICC', payment_id: 'PAY-7', line_no: 3 })).toBe(
      'line:PICC:PAY-7:3',
    );
    expect(
      subjectKey({
        kind: 'batch_item',
        fixmedins_code: 'H53310200001',
        insurer_code: 'PICC',
        period: '2025-01',
        setl_id: 'S1',
      }),
    ).toBe('item:H53310200001:PICC:2025-01:S1');
    expect(
      subjectKey({ kind: 'declaration', fixmedins_code: 'H53310200001', insurer_code: 'PICC', period: '2025-01' }),
    ).toBe('decl:H53310200001:PICC:2025-01');
    expect(subjectKey({ kind: 'insurer_period', insurer_code: 'PICC', period: '2025-01' })).toBe(
      'insurer:PICC:2025-01',
    );
  });

  test('when an opaque id contains a colon or a percent sign, then it is escaped and the key stays unambiguous', () => {
    const a = subjectKey({ kind: 'payment_line', insurer_code: 'PICC', payment_id: 'A:1', line_no: 2 });
    expect(a).toBe('line:PICC:A%3A1:2');
    expect(subjectKey({ kind: 'settlement', setl_id: '50%:x' })).toBe('setl:50%25%3Ax');
  });

  test('when a key is parsed, then it gives back the subject it was made from', () => {
    const id = fc.string({ minLength: 1, maxLength: 12 });
    const subject: fc.Arbitrary<Subject> = fc.oneof(
      fc.record({ kind: fc.constant('settlement' as const), setl_id: id }),
      fc.record({
        kind: fc.constant('payment_line' as const),
        insurer_code: id,
        payment_id: id,
        line_no: fc.nat(9999),
      }),
      fc.record({
        kind: fc.constant('batch_item' as const),
        fixmedins_code: id,
        insurer_code: id,
        period: fc.constant('2025-01'),
        setl_id: id,
      }),
      fc.record({
        kind: fc.constant('declaration' as const),
        fixmedins_code: id,
        insurer_code: id,
        period: fc.constant('2025-12'),
      }),
      fc.record({
        kind: fc.constant('person_year' as const),
        admdvs: fc.constant('533102'),
        psn_no: id,
        year: fc.integer({ min: 2000, max: 2099 }),
      }),
      fc.record({ kind: fc.constant('insurer_period' as const), insurer_code: id, period: fc.constant('2024-02') }),
    );
    fc.assert(
      fc.property(subject, (s) => {
        expect(parseSubjectKey(subjectKey(s))).toEqual(s);
      }),
    );
  });

  test('when a key was not made by subjectKey, then parsing gives undefined', () => {
    expect(parseSubjectKey('setl')).toBeUndefined();
    expect(parseSubjectKey('line:PICC:PAY1')).toBeUndefined();
    expect(parseSubjectKey('line:PICC:PAY1:x')).toBeUndefined();
    expect(parseSubjectKey('nope:1')).toBeUndefined();
  });
});
