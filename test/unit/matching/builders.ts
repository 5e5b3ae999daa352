import { loadWorkCalendar } from '../../../src/deadlines/calendar';
import { DEFAULT_LOOP_PARAMS } from '../../../src/deadlines/params';
import type {
  BatchItemFact,
  EvaluationContext,
  PaymentLineFact,
  RecoveryFact,
  SettlementFact,
  SettlementInput,
} from '../../../src/matching/rules';
import { Money } from '../../../src/money';
import { cstInstant } from '../../../src/time';

/**
 * Fact builders for the matching tests: a direct settlement of 2025-01-15 at H53310200001 (Dehong),
 * owed 1000.00 by insurer PICC, due 2025-02-28 (lapses 2025-03-01T00:00+08:00).
 */
export const m = (v: string): Money => Money.of(v);

/** A CST wall-clock instant: at('2025-02-28 23:59:59'). */
export function at(s: string): Date {
  const [date = '', time = '00:00:00'] = s.split(' ');
  const [h = 0, mi = 0, se = 0] = time.split(':').map(Number);
  return cstInstant(date, h, mi, se);
}

export const SETL = 'S0001';
export const INSTITUTION = 'H53310200001';
export const INSURER = 'PICC';

export function settlement(over: Partial<SettlementFact> = {}): SettlementFact {
  return {
    setl_id: SETL,
    mdtrt_id: 'MD0001',
    psn_no: 'P000123',
    insurer_code: INSURER,
    fixmedins_code: INSTITUTION,
    insuplc_admdvs: '533102',
    setl_mode: 'direct',
    status: 'valid',
    setl_time: at('2025-01-15 10:00:00'),
    period: '2025-01',
    medfee_sumamt: m('5000.00'),
    hifp_pay: m('3000.00'),
    hifob_pay: m('1000.00'),
    message_id: 'msg-setl-1',
    received_at: at('2025-01-16 08:00:00'),
    ...over,
  };
}

export function line(over: Partial<PaymentLineFact> = {}): PaymentLineFact {
  return {
    message_id: `msg-pay-${over.payment_id ?? 'PAY1'}`,
    insurer_code: INSURER,
    payment_id: 'PAY1',
    line_no: 1,
    payee_type: 'institution',
    payee_id: INSTITUTION,
    pay_time: at('2025-02-20 10:00:00'),
    setl_id: SETL,
    paid_amount: m('1000.00'),
    rejected_amount: m('0'),
    received_at: at('2025-02-20 11:00:00'),
    ...over,
  };
}

export function recovery(over: Partial<RecoveryFact> = {}): RecoveryFact {
  return {
    message_id: `msg-rec-${over.recovery_id ?? 'REC1'}`,
    insurer_code: INSURER,
    recovery_id: 'REC1',
    setl_id: SETL,
    amount: m('1000.00'),
    recovered_at: at('2025-04-01 10:00:00'),
    received_at: at('2025-04-01 11:00:00'),
    ...over,
  };
}

export function item(over: Partial<BatchItemFact> = {}): BatchItemFact {
  return {
    message_id: 'msg-batch-1',
    batch_id: 'B2025-01',
    fixmedins_code: INSTITUTION,
    insurer_code: INSURER,
    period: '2025-01',
    setl_id: SETL,
    mdtrt_id: 'MD0001',
    psn_no: 'P000123',
    setl_time: at('2025-01-15 10:00:00'),
    medfee_sumamt: m('5000.00'),
    hifob_pay: m('1000.00'),
    received_at: at('2025-02-05 09:00:00'),
    ...over,
  };
}

export function input(over: Partial<SettlementInput> = {}): SettlementInput {
  return {
    setl_id: SETL,
    settlement: settlement(),
    lines: [],
    recoveries: [],
    declaredItems: [],
    sameMdtrt: [],
    ...over,
  };
}

export function ctx(
  asOf: string | Date = '2025-02-25 00:00:00',
  over: Partial<EvaluationContext> = {},
): EvaluationContext {
  return {
    asOf: typeof asOf === 'string' ? at(asOf) : asOf,
    params: DEFAULT_LOOP_PARAMS,
    calendar: loadWorkCalendar(),
    ...over,
  };
}

/** The codes of a result's findings, in the result's order. */
export function codes(r: { findings: Array<{ code: string }> }): string[] {
  return r.findings.map((f) => f.code);
}
