/**
 * The newcomer's path (issue 5 of 7): `gateway demo` generates a month, sends it through the signed
 * HTTP API, matches and reconciles it — and a discrepancy of every code of spec §4 is open; with it a
 * fund year (spec §8) whose premium chain and statement open one case of each fund code.
 */
import { loadConfig } from '../../src/config/config';
import { memoryIo } from '../../src/cli/output';
import { runDemo } from '../../src/demo/demo-command';
import { createTestDatabase } from '../support/test-db';
import { obliterateQueues, REDIS_URL } from '../support/test-gateway';

const prefix = `gwt-demo-${process.pid}`;

test('when the demo month has run, then every planted discrepancy code is open and the gateway says so', async () => {
  const db = await createTestDatabase('demo');
  try {
    const io = memoryIo();
    const cfg = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PORT: '0',
      GATEWAY_OUTBOX_POLL_MS: '100',
    });
    const r = await runDemo(cfg, io, { exit: true, period: '2025-03' });
    expect(io.stdout).toContain('Every planted code was found (26 codes)');
    expect(r.code).toBe(0);
    for (const code of [
      'PAYMENT_OVERDUE',
      'PAID_LATE',
      'UNDERPAID',
      'OVERPAID',
      'DUPLICATE_PAYMENT',
      'UNKNOWN_SETTLEMENT',
      'REVERSED_SETTLEMENT_PAID',
      'PAYEE_MISMATCH',
      'INSURER_MISMATCH',
      'DECLARED_NOT_RECORDED',
      'DECLARED_AMOUNT_MISMATCH',
      'RECORDED_NOT_DECLARED',
      'DECLARATION_MISSING',
      'BENEFIT_RULE_DEVIATION',
      'ANNUAL_CAP_EXCEEDED',
      'OVER_REIMBURSEMENT',
      'DUPLICATE_REIMBURSEMENT',
      'PLAN_VARIANCE',
      'DISBURSEMENT_MISMATCH',
    ]) {
      expect(r.counts[code]).toBeGreaterThan(0);
    }
    // The fund year (spec §8): one case of each code, from the premium chain and the statement.
    for (const code of [
      'PREMIUM_TRANSFER_SHORT',
      'TRANSFER_UNFUNDED',
      'PREMIUM_RATE_MISMATCH',
      'COST_REPORT_MISSING',
      'COST_LIMIT_EXCEEDED',
      'PROFIT_LIMIT_EXCEEDED',
      'FUND_DEFICIT',
    ]) {
      expect([code, r.counts[code]]).toEqual([code, 1]);
    }
    expect(io.stdout).toMatch(
      /Fund year 2024 of 5331: premiums collected 130000\.00, compliant payouts 138600\.00, closing balance -8600\.00/,
    );
    expect(io.stdout).not.toMatch(/\d{17}[\dX]/); // no ID number in what the demo prints
  } finally {
    await obliterateQueues(prefix);
    await db.drop();
  }
}, 240_000);
