/**
 * The five single-document message kinds of spec §3 (the agency feed, many records a request, is in
 * settlement-feed.ts): who may send each, its business key, the business rules a schema cannot state
 * (422 with the spec's codes), and how its rows are stored. Rows go in with one multi-row statement
 * per table (unnest of arrays): no per-line round trips.
 */
import type { Sql } from '../db/db';
import { Money } from '../money';
import type { Role } from '../http/clients';
import type { FieldError, Lang, SchemaName } from '../schemas/validator';
import type { Disbursement, InsurerPayment, Recovery, SettlementBatch, SpendingPlan } from '../schemas/types';
import { parseWireTime, periodOf } from '../time';

export type MessageKind = 'agency_settlements' | 'agency_disbursement' | 'settlement_batch' | 'insurer_payment' | 'spending_plan' | 'recovery';

export interface StoreCtx { message_id: string; received_at: Date }

export interface KindSpec<T> {
  kind: MessageKind;
  path: string;
  role: Role;
  schema: SchemaName;
  /** The scope value this message claims (checked against the client's scope), or undefined for none. */
  scopeValue(m: T): string | undefined;
  businessKey(m: T): string;
  rules(m: T, lang: Lang): FieldError[];
  /** Rules that need the ledger (run inside the ingest transaction). */
  ledgerRules?(q: Sql, m: T, lang: Lang): Promise<FieldError[]>;
  store(q: Sql, m: T, ctx: StoreCtx): Promise<void>;
}

const m = (lang: Lang, en: string, zh: string) => (lang === 'zh-CN' ? zh : en);
const sum = (xs: (string | number | undefined)[]) => Money.sum(xs.map((x) => Money.of(x ?? 0)));

export const batchSpec: KindSpec<SettlementBatch> = {
  kind: 'settlement_batch', path: '/v1/settlement-batches', role: 'institution', schema: 'settlement-batch',
  scopeValue: (b) => b.fixmedins_code,
  businessKey: (b) => b.batch_id,
  rules(b, lang) {
    const errs: FieldError[] = [];
    if (b.setl_cnt !== b.items.length) errs.push({ path: '/setl_cnt', code: 'BATCH_TOTALS_MISMATCH', message: m(lang, `setl_cnt is ${b.setl_cnt} but the batch has ${b.items.length} items`, `setl_cnt 为 ${b.setl_cnt}，明细为 ${b.items.length} 条`) });
    for (const f of ['medfee_sumamt', 'hifob_pay'] as const) {
      const total = sum(b.items.map((i) => i[f]));
      const key = f === 'hifob_pay' ? 'hifob_pay_sumamt' : 'medfee_sumamt';
      if (!total.eq(Money.of(b[key]))) errs.push({ path: `/${key}`, code: 'BATCH_TOTALS_MISMATCH', message: m(lang, `${key} is ${Money.of(b[key])} but the items add up to ${total}`, `${key} 为 ${Money.of(b[key])}，明细合计 ${total}`) });
    }
    const seen = new Map<string, number>();
    b.items.forEach((it, i) => {
      if (periodOf(parseWireTime(it.setl_time)!) !== b.period) errs.push({ path: `/items/${i}/setl_time`, code: 'ITEM_OUTSIDE_PERIOD', message: m(lang, `setl_time is outside period ${b.period}`, `结算时间不在申报期 ${b.period} 内`) });
      const first = seen.get(it.setl_id);
      if (first !== undefined) errs.push({ path: `/items/${i}/setl_id`, code: 'DUPLICATE_ITEM', message: m(lang, `setl_id already declared at /items/${first}`, `setl_id 已在 /items/${first} 申报`) });
      else seen.set(it.setl_id, i);
    });
    if (b.replaces_batch_id === b.batch_id) errs.push({ path: '/replaces_batch_id', code: 'INVALID_REPLACEMENT', message: m(lang, 'a batch cannot replace itself', '批次不能替换自身') });
    return errs;
  },
  async store(q, b, ctx) {
    await q.query(
      `INSERT INTO batches (batch_id, message_id, received_at, fixmedins_code, insurer_code, period, setl_cnt, medfee_sumamt, hifob_pay_sumamt, replaces_batch_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
      [b.batch_id, ctx.message_id, ctx.received_at, b.fixmedins_code, b.insurer_code, b.period, b.setl_cnt, b.medfee_sumamt, b.hifob_pay_sumamt, b.replaces_batch_id ?? null],
    );
    if (!b.items.length) return;
    await q.query(
      `INSERT INTO batch_items (batch_id, item_index, setl_id, mdtrt_id, psn_no, setl_time, medfee_sumamt, hifob_pay)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::numeric[], $8::numeric[])`,
      [b.batch_id, b.items.map((_, i) => i), b.items.map((i) => i.setl_id), b.items.map((i) => i.mdtrt_id), b.items.map((i) => i.psn_no),
        b.items.map((i) => i.setl_time), b.items.map((i) => i.medfee_sumamt), b.items.map((i) => i.hifob_pay)],
    );
  },
};

export const paymentSpec: KindSpec<InsurerPayment> = {
  kind: 'insurer_payment', path: '/v1/insurer-payments', role: 'insurer', schema: 'insurer-payment',
  scopeValue: (p) => p.insurer_code,
  businessKey: (p) => `${p.insurer_code}:${p.payment_id}`,
  rules(p, lang) {
    const errs: FieldError[] = [];
    const total = sum(p.lines.map((l) => l.paid_amount));
    if (!total.eq(Money.of(p.pay_amount))) errs.push({ path: '/pay_amount', code: 'PAY_AMOUNT_MISMATCH', message: m(lang, `pay_amount is ${Money.of(p.pay_amount)} but the lines' paid_amount add up to ${total}`, `pay_amount 为 ${Money.of(p.pay_amount)}，明细 paid_amount 合计 ${total}`) });
    const seen = new Map<string, number>();
    p.lines.forEach((l, i) => {
      if (Money.of(l.rejected_amount ?? 0).isPositive() && !l.reject_reason_code) errs.push({ path: `/lines/${i}/reject_reason_code`, code: 'REJECT_REASON_REQUIRED', message: m(lang, 'a rejected_amount above zero needs a reject_reason_code (R01–R05, R99)', '拒付金额大于零时须填写拒付原因代码（R01–R05、R99）') });
      if (l.reject_reason_code === 'R99' && !l.reject_reason?.trim()) errs.push({ path: `/lines/${i}/reject_reason`, code: 'REJECT_REASON_REQUIRED', message: m(lang, 'reason code R99 (other) needs reject_reason', '原因代码 R99（其他）须填写 reject_reason') });
      const first = seen.get(l.setl_id);
      if (first !== undefined) errs.push({ path: `/lines/${i}/setl_id`, code: 'DUPLICATE_ITEM', message: m(lang, `setl_id already paid in this payment at /lines/${first}`, `该 setl_id 已在本次支付 /lines/${first} 中出现`) });
      else seen.set(l.setl_id, i);
    });
    return errs;
  },
  async store(q, p, ctx) {
    await q.query(
      `INSERT INTO payments (insurer_code, payment_id, message_id, received_at, payee_type, payee_id, pay_time, bank_txn_no, pay_amount)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
      [p.insurer_code, p.payment_id, ctx.message_id, ctx.received_at, p.payee_type, p.payee_id, p.pay_time, p.bank_txn_no, p.pay_amount],
    );
    await q.query(
      `INSERT INTO payment_lines (insurer_code, payment_id, line_no, setl_id, paid_amount, rejected_amount, reject_reason_code, reject_reason)
       SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::numeric[], $6::numeric[], $7::text[], $8::text[])`,
      [p.insurer_code, p.payment_id, p.lines.map((_, i) => i), p.lines.map((l) => l.setl_id), p.lines.map((l) => l.paid_amount),
        p.lines.map((l) => l.rejected_amount ?? '0.00'), p.lines.map((l) => l.reject_reason_code ?? null), p.lines.map((l) => l.reject_reason ?? null)],
    );
  },
};

export const recoverySpec: KindSpec<Recovery> = {
  kind: 'recovery', path: '/v1/recoveries', role: 'insurer', schema: 'recovery',
  scopeValue: (r) => r.insurer_code,
  businessKey: (r) => `${r.insurer_code}:${r.recovery_id}`,
  rules(r, lang) {
    return r.reason_code === 'R99' && !r.reason?.trim()
      ? [{ path: '/reason', code: 'REJECT_REASON_REQUIRED', message: m(lang, 'reason code R99 (other) needs reason', '原因代码 R99（其他）须填写 reason') }]
      : [];
  },
  // Spec §4: a recovery larger than what was paid is 422. The lock keeps two concurrent recoveries
  // of one settlement from both passing the check.
  async ledgerRules(q, r, lang) {
    await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`recovery:${r.setl_id}`]);
    const { rows } = await q.query<{ paid: string; recovered: string }>(
      `SELECT (SELECT coalesce(sum(paid_amount), 0) FROM payment_lines WHERE setl_id = $1 AND insurer_code = $2) AS paid,
              (SELECT coalesce(sum(amount), 0) FROM recoveries WHERE setl_id = $1 AND insurer_code = $2) AS recovered`,
      [r.setl_id, r.insurer_code],
    );
    const paid = Money.of(rows[0]!.paid), after = Money.of(rows[0]!.recovered).plus(Money.of(r.amount));
    return after.gt(paid)
      ? [{ path: '/amount', code: 'RECOVERY_EXCEEDS_PAID', message: m(lang, `recoveries would total ${after} but only ${paid} was paid for this settlement`, `追回合计将达 ${after}，但该结算仅支付 ${paid}`) }]
      : [];
  },
  async store(q, r, ctx) {
    await q.query(
      `INSERT INTO recoveries (insurer_code, recovery_id, message_id, received_at, setl_id, amount, reason_code, reason, recovered_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
      [r.insurer_code, r.recovery_id, ctx.message_id, ctx.received_at, r.setl_id, r.amount, r.reason_code, r.reason ?? null, r.recovered_at],
    );
  },
};

export const planSpec: KindSpec<SpendingPlan> = {
  kind: 'spending_plan', path: '/v1/spending-plans', role: 'insurer', schema: 'spending-plan',
  scopeValue: (p) => p.insurer_code,
  businessKey: (p) => `${p.insurer_code}:${p.period}:${p.revision}`,
  rules(p, lang) {
    if (!p.items?.length) return [];
    const total = sum(p.items.map((i) => i.amount));
    return total.eq(Money.of(p.planned_amount)) ? [] : [{ path: '/planned_amount', code: 'PLAN_TOTALS_MISMATCH', message: m(lang, `planned_amount is ${Money.of(p.planned_amount)} but the items add up to ${total}`, `planned_amount 为 ${Money.of(p.planned_amount)}，明细合计 ${total}`) }];
  },
  async store(q, p, ctx) {
    await q.query(
      `INSERT INTO spending_plans (insurer_code, period, revision, message_id, received_at, planned_amount, items) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
      [p.insurer_code, p.period, p.revision, ctx.message_id, ctx.received_at, p.planned_amount, p.items ? JSON.stringify(p.items) : null],
    );
  },
};

export const disbursementSpec: KindSpec<Disbursement> = {
  kind: 'agency_disbursement', path: '/v1/agency/disbursements', role: 'agency', schema: 'disbursement',
  scopeValue: () => undefined,
  businessKey: (d) => d.disbursement_id,
  rules: () => [],
  async store(q, d, ctx) {
    await q.query(
      `INSERT INTO disbursements (disbursement_id, message_id, received_at, insurer_code, period, amount, disbursed_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
      [d.disbursement_id, ctx.message_id, ctx.received_at, d.insurer_code, d.period, d.amount, d.disbursed_at],
    );
  },
};

export const SINGLE_KINDS = [disbursementSpec, batchSpec, paymentSpec, planSpec, recoverySpec] as KindSpec<unknown>[];
