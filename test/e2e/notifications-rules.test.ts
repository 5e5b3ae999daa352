/**
 * The pure rules behind deliveries (no I/O; kept beside the notification e2e tests because that is the
 * folder this feature owns): what happens after an attempt, Retry-After, the default schedule, and
 * the masking every format goes through.
 */
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config';
import { decide, maskPersonal, parseRetryAfter, render, type NotificationEvent } from '../../src/notifications';
import { scheduleSpanMs } from '../../src/notifications/retry-schedule';
import { mayRead } from '../../src/notifications/audience';
import { certnoCheckChar } from '../../src/schemas/gb11643';

const SCHEDULE = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
const NOW = Date.UTC(2025, 3, 1, 2, 0, 0);

describe('after an attempt', () => {
  test('when the receiver answers 2xx, then the delivery is delivered', () => {
    expect(decide({ kind: 'response', status: 204 }, 3, SCHEDULE, NOW)).toEqual({ action: 'delivered' });
  });
  test('when it answers 410, then it is gone whatever attempt this was', () => {
    expect(decide({ kind: 'response', status: 410 }, 1, SCHEDULE, NOW)).toEqual({ action: 'gone' });
  });
  test('when it fails, then the next attempt follows the schedule, and after the last one it is dead', () => {
    expect(decide({ kind: 'response', status: 500 }, 1, SCHEDULE, NOW)).toEqual({ action: 'retry', delayMs: 5_000 });
    expect(decide({ kind: 'error', message: 'ECONNREFUSED' }, 2, SCHEDULE, NOW)).toEqual({
      action: 'retry',
      delayMs: 300_000,
    });
    expect(decide({ kind: 'response', status: 500 }, 8, SCHEDULE, NOW)).toEqual({ action: 'dead' });
  });
  test('when a 429 asks for more time than the schedule gives, then Retry-After wins; when it asks for less, the schedule does', () => {
    expect(decide({ kind: 'response', status: 429, retryAfter: '120' }, 1, SCHEDULE, NOW)).toEqual({
      action: 'retry',
      delayMs: 120_000,
    });
    expect(decide({ kind: 'response', status: 429, retryAfter: '1' }, 2, SCHEDULE, NOW)).toEqual({
      action: 'retry',
      delayMs: 300_000,
    });
  });
  test('when Retry-After is an HTTP date, a past date, rubbish or enormous, then it is read, ignored or capped', () => {
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('99999999', NOW)).toBe(24 * 3600 * 1000);
  });
  test("when nothing is configured, then the schedule is Svix's and covers at least 24 hours", () => {
    const cfg = loadConfig({});
    expect(cfg.deliveryScheduleMs).toEqual(SCHEDULE);
    expect(scheduleSpanMs(cfg.deliveryScheduleMs)).toBeGreaterThanOrEqual(24 * 3600 * 1000);
    expect(() => loadConfig({ GATEWAY_DELIVERY_SCHEDULE_MS: '0,five' })).toThrow(/GATEWAY_DELIVERY_SCHEDULE_MS/);
  });
});

describe('masking', () => {
  const certno = fc
    .tuple(
      fc.integer({ min: 110000, max: 659999 }),
      fc.date({ min: new Date('1930-01-01'), max: new Date('2020-12-31'), noInvalidDate: true }),
      fc.integer({ min: 0, max: 999 }),
    )
    .map(([area, d, seq]) => {
      const s = `${area}${d.toISOString().slice(0, 10).replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
      return s + certnoCheckChar(s);
    });
  const name = fc.stringMatching(/^[\u4e00-\u9fa5]{2,4}$/);
  const psnNo = fc.stringMatching(/^PSN[0-9]{8,12}$/);

  test('when personal data sits anywhere in the evidence, then no format lets the raw values out', () => {
    fc.assert(
      fc.property(certno, name, psnNo, fc.integer({ min: 0, max: 3 }), (c, n, p, depth) => {
        let evidence: Record<string, unknown> = { certno: c, psn_name: n, psn_no: p, note: `证件 ${c}` };
        for (let i = 0; i < depth; i++) evidence = { level: i, items: [evidence] };
        const event: NotificationEvent = {
          type: 'discrepancy.critical',
          at: new Date(NOW),
          data: { id: 'x', code: 'OVERPAID', detail: `参保人 ${c}`, evidence },
        };
        for (const f of ['json', 'dingtalk', 'wecom'] as const) {
          const body = render(f, event);
          expect(body).not.toContain(c);
          expect(body).not.toContain(p);
          if ([...n].length > 1) expect(body).not.toContain(n);
        }
      }),
    );
  });

  test('when a value only looks like an ID number (an 18-digit settlement id), then it is left alone', () => {
    expect(maskPersonal({ setl_id: '202504010000000001', detail: 'S 202504010000000001' })).toEqual({
      setl_id: '202504010000000001',
      detail: 'S 202504010000000001',
    });
  });

  test('when a person-year subject key names a psn_no, then only the region and year are kept', () => {
    expect(maskPersonal({ subject_key: 'person:533102:PSN1:2025', other: 'setl:S1' })).toEqual({
      subject_key: 'person:533102:***:2025',
      other: 'setl:S1',
    });
  });
});

describe('who may read a fund case (spec §8)', () => {
  const insurer = (scope: string[]) => ({
    client_id: 'picc-cb',
    role: 'insurer' as const,
    scope,
    signing_secrets: [],
    token_sha256: [],
  });
  test("when the case is an insurer-year one, then that insurer's callback and the ops channels read it, another insurer's does not", () => {
    const c = { code: 'COST_LIMIT_EXCEEDED', insurer_code: 'PICC_DH', fixmedins_code: null, admdvs: '5331' };
    expect(mayRead(undefined, c)).toBe(true);
    expect(mayRead(insurer(['PICC_DH']), c)).toBe(true);
    expect(mayRead(insurer(['CPIC_DH']), c)).toBe(false);
  });
  test('when the case is a region-year, account or collection one (no insurer), then only the ops channels read it', () => {
    for (const c of [
      { code: 'FUND_DEFICIT', insurer_code: '', fixmedins_code: null, admdvs: '5331' },
      { code: 'PREMIUM_TRANSFER_SHORT', insurer_code: '', fixmedins_code: null, admdvs: '150902' },
    ]) {
      expect(mayRead(undefined, c)).toBe(true);
      expect(mayRead(insurer(['PICC_DH', 'CPIC_DH']), c)).toBe(false);
    }
  });
  test('when a digest lists fund cases, then its markdown names each code with its count', () => {
    const body = render('dingtalk', {
      type: 'discrepancy.digest',
      at: new Date(NOW),
      data: {
        admdvs: '5331',
        period: '2024-12',
        window: { start: 'a', end: 'b' },
        total: 2,
        counts_by_code: { FUND_DEFICIT: 1, PROFIT_LIMIT_EXCEEDED: 1 },
        counts_by_severity: { high: 2 },
        discrepancy_ids: ['d1', 'd2'],
        truncated: false,
      },
    });
    expect(body).toContain('FUND_DEFICIT：1 条');
    expect(body).toContain('PROFIT_LIMIT_EXCEEDED：1 条');
  });
});
