import fc from 'fast-check';
import {
  DEFAULT_SEVERITY,
  SETTLEMENT_GROUP_CODES,
  evaluateSettlement,
  type BatchItemFact,
  type PaymentLineFact,
  type RecoveryFact,
  type SettlementFact,
  type SettlementInput,
} from '../../../src/matching/rules';
import { at, ctx, INSTITUTION, item, line, m, recovery, SETL, settlement } from './builders';

/**
 * A finding must be a function of the fact SET, never of arrival order (spec §4; the brief of
 * [2 of 7]). Small value pools make ties (same pay_time, same amount) and duplicates frequent.
 */
const PSN = 'PSN-SECRET-42';
const amount = fc.constantFrom('0.00', '0.01', '300.00', '500.00', '700.00', '1000.00', '1000.01').map(m);
const instant = fc
  .constantFrom(
    '2025-01-20 09:00:00',
    '2025-02-20 10:00:00',
    '2025-02-28 23:59:59',
    '2025-03-01 00:00:00',
    '2025-03-03 08:00:00',
  )
  .map(at);

const settlementArb: fc.Arbitrary<SettlementFact | undefined> = fc.option(
  fc
    .record({
      setl_mode: fc.constantFrom('direct' as const, 'manual' as const),
      status: fc.constantFrom('valid' as const, 'reversed' as const),
      hifob_pay: fc.constantFrom('0.00', '1000.00').map(m),
      oth_pay: fc.constantFrom('0.00', '1000.01').map(m),
    })
    .map((o) => settlement({ ...o, psn_no: PSN })),
  { nil: undefined },
);

const lineArb: fc.Arbitrary<PaymentLineFact> = fc
  .record({
    insurer_code: fc.constantFrom('PICC', 'CPIC'),
    payment_id: fc.constantFrom('PAY1', 'PAY2', 'PAY3'),
    line_no: fc.integer({ min: 1, max: 2 }),
    payee: fc.constantFrom(['institution', INSTITUTION], ['institution', 'H53310200999'], ['person', PSN]),
    pay_time: instant,
    paid_amount: amount,
    rejected: fc.constantFrom(['0.00', undefined], ['300.00', 'R02'], ['1000.00', 'R01']),
    received_at: instant,
  })
  .map(({ payee, rejected, ...o }) =>
    line({
      ...o,
      payee_type: payee[0] as 'institution' | 'person',
      payee_id: payee[1] as string,
      rejected_amount: m(rejected[0] as string),
      ...(rejected[1] ? { reject_reason_code: rejected[1] } : {}),
    }),
  );

const recoveryArb: fc.Arbitrary<RecoveryFact> = fc
  .record({
    insurer_code: fc.constantFrom('PICC', 'CPIC'),
    recovery_id: fc.constantFrom('REC1', 'REC2'),
    amount: fc.constantFrom('300.00', '1000.00').map(m),
    recovered_at: instant,
  })
  .map((o) => recovery(o));

const itemArb: fc.Arbitrary<BatchItemFact> = fc
  .record({
    insurer_code: fc.constantFrom('PICC', 'CPIC'),
    batch_id: fc.constantFrom('B1', 'B2'),
    hifob_pay: fc.constantFrom('1000.00', '1000.01').map(m),
    medfee_sumamt: fc.constantFrom('5000.00', '4999.99').map(m),
    received_at: instant,
  })
  .map((o) => item({ ...o, message_id: `msg-${o.batch_id}`, psn_no: PSN }));

const otherSettlementArb = fc
  .record({
    setl_id: fc.constantFrom('S0100', 'S0101'),
    setl_mode: fc.constantFrom('direct' as const, 'manual' as const),
    status: fc.constantFrom('valid' as const, 'reversed' as const),
  })
  .map((o) => settlement({ ...o, message_id: `msg-${o.setl_id}`, psn_no: PSN }));

const inputArb: fc.Arbitrary<SettlementInput> = fc
  .record({
    settlement: settlementArb,
    lines: fc.array(lineArb, { maxLength: 6 }),
    recoveries: fc.array(recoveryArb, { maxLength: 3 }),
    declaredItems: fc.array(itemArb, { maxLength: 3 }),
    declared: fc.boolean(),
    sameMdtrt: fc.array(otherSettlementArb, { maxLength: 2 }),
  })
  .map(({ declared, ...o }) => ({
    setl_id: SETL,
    ...o,
    ...(declared
      ? { declarationReceived: { batch_id: 'B1', message_id: 'msg-B1', received_at: at('2025-02-05 09:00:00') } }
      : {}),
  }));

const asOfArb = fc
  .constantFrom('2025-02-01 00:00:00', '2025-02-25 00:00:00', '2025-03-01 00:00:00', '2025-06-01 00:00:00')
  .map(at);

/** Shuffles an array with a fast-check–chosen permutation (reproducible from the seed). */
const shuffled = <T>(xs: T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length });

describe('order independence of the loop rules', () => {
  test('when lines, recoveries, items or same-visit settlements arrive in another order, then the result is the same', () => {
    const scenario = fc.tuple(inputArb, asOfArb).chain(([input, asOf]) =>
      fc.record({
        input: fc.constant(input),
        asOf: fc.constant(asOf),
        lines: shuffled(input.lines),
        recoveries: shuffled(input.recoveries),
        declaredItems: shuffled(input.declaredItems),
        sameMdtrt: shuffled(input.sameMdtrt),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ input, asOf, ...reordered }) => {
        const a = evaluateSettlement(input, ctx(asOf));
        const b = evaluateSettlement({ ...input, ...reordered }, ctx(asOf));
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
      { numRuns: 500 },
    );
  });

  test('when any fact set is evaluated, then findings are unique, sorted, in the group, with table severities and no psn_no', () => {
    fc.assert(
      fc.property(inputArb, asOfArb, (input, asOf) => {
        const r = evaluateSettlement(input, ctx(asOf));
        const keys = r.findings.map((f) => `${f.code} ${f.subject_key}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect([...keys].sort()).toEqual(keys);
        for (const f of r.findings) {
          expect(SETTLEMENT_GROUP_CODES).toContain(f.code);
          expect(f.severity).toBe(DEFAULT_SEVERITY[f.code]);
          expect(f.setl_id).toBe(SETL);
          expect([...f.evidence.message_ids].sort()).toEqual(f.evidence.message_ids);
        }
        expect(JSON.stringify(r)).not.toContain(PSN);
        if (r.nextCheckAt) expect(r.nextCheckAt.getTime()).toBeGreaterThan(asOf.getTime());
      }),
      { numRuns: 500 },
    );
  });
});
