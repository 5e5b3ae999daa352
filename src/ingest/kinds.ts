/**
 * The five single-document message kinds of spec §3 (the agency feed, many records a request, is in
 * settlement-feed.ts): who may send each, its business key, the business rules a schema cannot state
 * (422 with the spec's codes), and which rows it adds to the ledger — as data: message-store.ts
 * writes them in the same single statement as the message and its outbox entry.
 */
import type { Sql } from '../db/db';
import { Money } from '../money';
import type { Client, Role } from '../http/clients';
import type { FieldError, Lang, SchemaName } from '../schemas/validator';
import type { Disbursement, InsurerPayment, Recovery, SettlementBatch, SpendingPlan } from '../schemas/types';
import { parseWireTime, periodOf } from '../time';
import { inScope } from '../http/auth';

export type MessageKind = 'agency_settlements' | 'agency_disbursement' | 'settlement_batch' | 'insurer_payment' | 'spending_plan' | 'recovery';

/**
 * Rows for one ledger table. Column types are SQL types; `withMessage` adds the message's
 * message_id and received_at columns.
 */
export interface RowInsert { table: string; columns: Record<string, string>; rows: Record<string, unknown>[]; withMessage?: boolean }

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
  /** Scope checks beyond scopeValue, with paths (403 when any fails), e.g. a region inside an agency's scope. */
  senderRules?(m: T, sender: Client, lang: Lang): FieldError[];
  /** `sender`: the signed client, for kinds that record who sent them. */
  rows(m: T, sender?: Client): RowInsert[];
}

const m = (lang: Lang, en: string, zh: string) => (lang === 'zh-CN' ? zh : en);
const sum = (xs: (string | number | undefined)[]) => Money.sum(xs.map((x) => Money.of(x ?? 0)));

export const batchSpec: KindSpec<SettlementBatch> = {
  kind: 'settlement_batch', path: '/v1/settlement-batches', role: 'institution', schema: 'settlement-batch',
  scopeValue: (b) => b.fixmedins_code,
  // Batch ids are the institution's own (issue 13): another institution's batch_id never collides.
  // fixmedins_code is [A-Za-z0-9_-], so the ':' cannot be ambiguous.
  businessKey: (b) => `${b.fixmedins_code}:${b.batch_id}`,
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
  // A declaration replaces only an earlier batch of its own institution (issue 13). The answer is the
  // same whether the named batch is unknown or another institution's: nothing of that batch shows.
  async ledgerRules(q, b, lang) {
    if (b.replaces_batch_id === undefined) return [];
    const { rows } = await q.query('SELECT 1 FROM batches WHERE fixmedins_code = $1 AND batch_id = $2', [b.fixmedins_code, b.replaces_batch_id]);
    return rows.length ? [] : [{
      path: '/replaces_batch_id', code: 'INVALID_REPLACEMENT',
      message: m(lang, `replaces_batch_id ${b.replaces_batch_id} names no earlier batch of institution ${b.fixmedins_code}`, `replaces_batch_id ${b.replaces_batch_id} 不是机构 ${b.fixmedins_code} 已申报的批次`),
    }];
  },
  rows: (b): RowInsert[] => [
    { table: 'batches', withMessage: true, columns: { batch_id: 'text', fixmedins_code: 'text', insurer_code: 'text', period: 'text', setl_cnt: 'int', medfee_sumamt: 'numeric', hifob_pay_sumamt: 'numeric', replaces_batch_id: 'text' }, rows: [{ ...b, items: undefined }] },
    { table: 'batch_items', columns: { fixmedins_code: 'text', batch_id: 'text', item_index: 'int', setl_id: 'text', mdtrt_id: 'text', psn_no: 'text', setl_time: 'timestamptz', medfee_sumamt: 'numeric', hifob_pay: 'numeric' }, rows: b.items.map((it, i) => Object.assign({}, it, { fixmedins_code: b.fixmedins_code, batch_id: b.batch_id, item_index: i })) },
  ],
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
  rows: (p): RowInsert[] => [
    { table: 'payments', withMessage: true, columns: { insurer_code: 'text', payment_id: 'text', payee_type: 'text', payee_id: 'text', pay_time: 'timestamptz', bank_txn_no: 'text', pay_amount: 'numeric' }, rows: [{ ...p, lines: undefined }] },
    // Object.assign, not a spread with extra properties: V8's slow path there cost ~5% of the API's CPU (profiled).
    { table: 'payment_lines', columns: { insurer_code: 'text', payment_id: 'text', line_no: 'int', setl_id: 'text', paid_amount: 'numeric', rejected_amount: 'numeric', reject_reason_code: 'text', reject_reason: 'text' },
      rows: p.lines.map((l, i) => Object.assign({}, l, { rejected_amount: l.rejected_amount ?? '0.00', insurer_code: p.insurer_code, payment_id: p.payment_id, line_no: i })) },
  ],
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
  rows: (r) => [
    { table: 'recoveries', withMessage: true, columns: { insurer_code: 'text', recovery_id: 'text', setl_id: 'text', amount: 'numeric', reason_code: 'text', reason: 'text', recovered_at: 'timestamptz' }, rows: [r as unknown as Record<string, unknown>] },
  ],
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
  // admdvs (spec §3, ext): the region the plan is for. An insurer's scope names no regions, so any
  // region is its to plan for; without admdvs the plan belongs to every region it owes or pays in.
  rows: (p) => [
    { table: 'spending_plans', withMessage: true, columns: { insurer_code: 'text', period: 'text', revision: 'int', planned_amount: 'numeric', items: 'jsonb', admdvs: 'text' }, rows: [p as unknown as Record<string, unknown>] },
  ],
};

export const disbursementSpec: KindSpec<Disbursement> = {
  kind: 'agency_disbursement', path: '/v1/agency/disbursements', role: 'agency', schema: 'disbursement',
  scopeValue: () => undefined,
  businessKey: (d) => d.disbursement_id,
  rules: () => [],
  // Spec §3: an admdvs outside the sending agency's scope is 403.
  senderRules: (d, sender, lang) => d.admdvs === undefined || inScope(sender, { admdvs: d.admdvs }) ? [] : [{
    path: '/admdvs', code: 'OUT_OF_SCOPE',
    message: m(lang, `region ${d.admdvs} is outside client ${sender.client_id}'s scope (${sender.scope.join(', ')})`, `统筹区 ${d.admdvs} 不在客户端 ${sender.client_id} 的授权范围（${sender.scope.join('、')}）内`),
  }],
  // The sender's scope is recorded with the disbursement: it counts only in reconciliations of
  // regions inside that scope (spec §3), whatever the clients file says later.
  rows: (d, sender) => [
    { table: 'disbursements', withMessage: true,
      columns: { disbursement_id: 'text', insurer_code: 'text', period: 'text', amount: 'numeric', disbursed_at: 'timestamptz', admdvs: 'text', sender_scope: 'text[]' },
      rows: [Object.assign({}, d, { sender_scope: sender && sender.role !== 'ops' ? [...sender.scope] : null }) as unknown as Record<string, unknown>] },
  ],
};

export const SINGLE_KINDS = [disbursementSpec, batchSpec, paymentSpec, planSpec, recoverySpec] as KindSpec<unknown>[];
