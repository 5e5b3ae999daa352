/**
 * The single-document message kinds of spec §3 and §8 (the agency feed, many records a request, is in
 * settlement-feed.ts): who may send each, its business key, the business rules a schema cannot state
 * (422 with the spec's codes), the ledger row it adds and the ledger store that writes it (in the
 * transaction in which ingest-service.ts logs the message and queues its job). The paths are not
 * here: routes.ts names each one where it mounts the kind.
 */
import type { Sql } from '../db/db';
import { Money } from '../money';
import type { Client, Role } from '../http/clients';
import type { FieldError, Lang, SchemaName } from '../schemas/validator';
import type {
  Disbursement,
  FundTransfer,
  InsurerCostReport,
  InsurerPayment,
  PremiumCollection,
  Recovery,
  SettlementBatch,
  SpendingPlan,
} from '../schemas/types';
import { parseWireTime, periodOf } from '../time';
import { inScope } from '../http/auth';
import type { Stamped } from '../ledger/json-rows';
import { batchExists, insertBatches } from '../ledger/batch-store';
import { insertPayments, insertRecoveries, paidAndRecovered } from '../ledger/payment-store';
import { insertDisbursements, insertSpendingPlans, type DisbursementRow } from '../ledger/plan-store';
import {
  insertCostReports,
  insertFundTransfers,
  insertPremiumCollections,
  type FundTransferRow,
  type PremiumCollectionRow,
  type SenderStamp,
} from '../ledger/fund-store';

import type { MessageKind } from './message-store';
export type { MessageKind } from './message-store';

/** A single-document kind: `T` the message as the schema types it, `R` the ledger row it adds. */
export interface KindSpec<T, R = T> {
  kind: MessageKind;
  /** Who may send it (spec §3, §8: premium collections come from tax or the agency). */
  role: Role | readonly Role[];
  schema: SchemaName;
  /** The scope value this message claims (checked against the client's scope), or undefined for none. */
  scopeValue(m: T): string | undefined;
  businessKey(m: T): string;
  rules(m: T, lang: Lang): FieldError[];
  /** Rules that need the ledger (run inside the ingest transaction). */
  ledgerRules?(q: Sql, m: T, lang: Lang): Promise<FieldError[]>;
  /** Scope checks beyond scopeValue, with paths (403 when any fails), e.g. a region inside an agency's scope. */
  senderRules?(m: T, sender: Client, lang: Lang): FieldError[];
  /** The ledger row the message adds; `sender`: the signed client, for kinds that record who sent them. */
  rows(m: T, sender?: Client): R;
  /** The ledger store that writes the rows of a group of accepted messages of this kind (one statement). */
  store(q: Sql, rows: readonly Stamped<R>[]): Promise<void>;
}

const m = (lang: Lang, en: string, zh: string) => (lang === 'zh-CN' ? zh : en);
const sum = (xs: (string | number | undefined)[]) => Money.sum(xs.map((x) => Money.of(x ?? 0)));

export const batchSpec: KindSpec<SettlementBatch> = {
  kind: 'settlement_batch',
  role: 'institution',
  schema: 'settlement-batch',
  scopeValue: (b) => b.fixmedins_code,
  // Batch ids are the institution's own (issue 13): another institution's batch_id never collides.
  // fixmedins_code is [A-Za-z0-9_-], so the ':' cannot be ambiguous.
  businessKey: (b) => `${b.fixmedins_code}:${b.batch_id}`,
  rules(b, lang) {
    const errs: FieldError[] = [];
    if (b.setl_cnt !== b.items.length)
      errs.push({
        path: '/setl_cnt',
        code: 'BATCH_TOTALS_MISMATCH',
        message: m(
          lang,
          `setl_cnt is ${b.setl_cnt} but the batch has ${b.items.length} items`,
          `setl_cnt 为 ${b.setl_cnt}，明细为 ${b.items.length} 条`,
        ),
      });
    for (const f of ['medfee_sumamt', 'hifob_pay'] as const) {
      const total = sum(b.items.map((i) => i[f]));
      const key = f === 'hifob_pay' ? 'hifob_pay_sumamt' : 'medfee_sumamt';
      if (!total.eq(Money.of(b[key])))
        errs.push({
          path: `/${key}`,
          code: 'BATCH_TOTALS_MISMATCH',
          message: m(
            lang,
            `${key} is ${Money.of(b[key])} but the items add up to ${total}`,
            `${key} 为 ${Money.of(b[key])}，明细合计 ${total}`,
          ),
        });
    }
    const seen = new Map<string, number>();
    b.items.forEach((it, i) => {
      if (periodOf(parseWireTime(it.setl_time)!) !== b.period)
        errs.push({
          path: `/items/${i}/setl_time`,
          code: 'ITEM_OUTSIDE_PERIOD',
          message: m(lang, `setl_time is outside period ${b.period}`, `结算时间不在申报期 ${b.period} 内`),
        });
      const first = seen.get(it.setl_id);
      if (first !== undefined)
        errs.push({
          path: `/items/${i}/setl_id`,
          code: 'DUPLICATE_ITEM',
          message: m(lang, `setl_id already declared at /items/${first}`, `setl_id 已在 /items/${first} 申报`),
        });
      else seen.set(it.setl_id, i);
    });
    if (b.replaces_batch_id === b.batch_id)
      errs.push({
        path: '/replaces_batch_id',
        code: 'INVALID_REPLACEMENT',
        message: m(lang, 'a batch cannot replace itself', '批次不能替换自身'),
      });
    return errs;
  },
  // A declaration replaces only an earlier batch of its own institution (issue 13). The answer is the
  // same whether the named batch is unknown or another institution's: nothing of that batch shows.
  async ledgerRules(q, b, lang) {
    if (b.replaces_batch_id === undefined) return [];
    return (await batchExists(q, b.fixmedins_code, b.replaces_batch_id))
      ? []
      : [
          {
            path: '/replaces_batch_id',
            code: 'INVALID_REPLACEMENT',
            message: m(
              lang,
              `replaces_batch_id ${b.replaces_batch_id} names no earlier batch of institution ${b.fixmedins_code}`,
              `replaces_batch_id ${b.replaces_batch_id} 不是机构 ${b.fixmedins_code} 已申报的批次`,
            ),
          },
        ];
  },
  rows: (b) => b,
  store: insertBatches,
};

export const paymentSpec: KindSpec<InsurerPayment> = {
  kind: 'insurer_payment',
  role: 'insurer',
  schema: 'insurer-payment',
  scopeValue: (p) => p.insurer_code,
  businessKey: (p) => `${p.insurer_code}:${p.payment_id}`,
  rules(p, lang) {
    const errs: FieldError[] = [];
    const total = sum(p.lines.map((l) => l.paid_amount));
    if (!total.eq(Money.of(p.pay_amount)))
      errs.push({
        path: '/pay_amount',
        code: 'PAY_AMOUNT_MISMATCH',
        message: m(
          lang,
          `pay_amount is ${Money.of(p.pay_amount)} but the lines' paid_amount add up to ${total}`,
          `pay_amount 为 ${Money.of(p.pay_amount)}，明细 paid_amount 合计 ${total}`,
        ),
      });
    const seen = new Map<string, number>();
    p.lines.forEach((l, i) => {
      if (Money.of(l.rejected_amount ?? 0).isPositive() && !l.reject_reason_code)
        errs.push({
          path: `/lines/${i}/reject_reason_code`,
          code: 'REJECT_REASON_REQUIRED',
          message: m(
            lang,
            'a rejected_amount above zero needs a reject_reason_code (R01–R05, R99)',
            '拒付金额大于零时须填写拒付原因代码（R01–R05、R99）',
          ),
        });
      if (l.reject_reason_code === 'R99' && !l.reject_reason?.trim())
        errs.push({
          path: `/lines/${i}/reject_reason`,
          code: 'REJECT_REASON_REQUIRED',
          message: m(lang, 'reason code R99 (other) needs reject_reason', '原因代码 R99（其他）须填写 reject_reason'),
        });
      const first = seen.get(l.setl_id);
      if (first !== undefined)
        errs.push({
          path: `/lines/${i}/setl_id`,
          code: 'DUPLICATE_ITEM',
          message: m(
            lang,
            `setl_id already paid in this payment at /lines/${first}`,
            `该 setl_id 已在本次支付 /lines/${first} 中出现`,
          ),
        });
      else seen.set(l.setl_id, i);
    });
    return errs;
  },
  rows: (p) => p,
  store: insertPayments,
};

export const recoverySpec: KindSpec<Recovery> = {
  kind: 'recovery',
  role: 'insurer',
  schema: 'recovery',
  scopeValue: (r) => r.insurer_code,
  businessKey: (r) => `${r.insurer_code}:${r.recovery_id}`,
  rules(r, lang) {
    return r.reason_code === 'R99' && !r.reason?.trim()
      ? [
          {
            path: '/reason',
            code: 'REJECT_REASON_REQUIRED',
            message: m(lang, 'reason code R99 (other) needs reason', '原因代码 R99（其他）须填写 reason'),
          },
        ]
      : [];
  },
  // Spec §4: a recovery larger than what was paid is 422. The lock keeps two concurrent recoveries
  // of one settlement from both passing the check.
  async ledgerRules(q, r, lang) {
    await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`recovery:${r.setl_id}`]);
    const sums = await paidAndRecovered(q, r.setl_id, r.insurer_code);
    const paid = Money.of(sums.paid),
      after = Money.of(sums.recovered).plus(Money.of(r.amount));
    return after.gt(paid)
      ? [
          {
            path: '/amount',
            code: 'RECOVERY_EXCEEDS_PAID',
            message: m(
              lang,
              `recoveries would total ${after} but only ${paid} was paid for this settlement`,
              `追回合计将达 ${after}，但该结算仅支付 ${paid}`,
            ),
          },
        ]
      : [];
  },
  rows: (r) => r,
  store: insertRecoveries,
};

export const planSpec: KindSpec<SpendingPlan> = {
  kind: 'spending_plan',
  role: 'insurer',
  schema: 'spending-plan',
  scopeValue: (p) => p.insurer_code,
  businessKey: (p) => `${p.insurer_code}:${p.period}:${p.revision}`,
  rules(p, lang) {
    if (!p.items?.length) return [];
    const total = sum(p.items.map((i) => i.amount));
    return total.eq(Money.of(p.planned_amount))
      ? []
      : [
          {
            path: '/planned_amount',
            code: 'PLAN_TOTALS_MISMATCH',
            message: m(
              lang,
              `planned_amount is ${Money.of(p.planned_amount)} but the items add up to ${total}`,
              `planned_amount 为 ${Money.of(p.planned_amount)}，明细合计 ${total}`,
            ),
          },
        ];
  },
  // admdvs (spec §3, ext): the region the plan is for. An insurer's scope names no regions, so any
  // region is its to plan for; without admdvs the plan belongs to every region it owes or pays in.
  rows: (p) => p,
  store: insertSpendingPlans,
};

export const disbursementSpec: KindSpec<Disbursement, DisbursementRow> = {
  kind: 'agency_disbursement',
  role: 'agency',
  schema: 'disbursement',
  scopeValue: () => undefined,
  businessKey: (d) => d.disbursement_id,
  rules: () => [],
  // Spec §3: an admdvs outside the sending agency's scope is 403.
  senderRules: (d, sender, lang) =>
    d.admdvs === undefined || inScope(sender, { admdvs: d.admdvs })
      ? []
      : [
          {
            path: '/admdvs',
            code: 'OUT_OF_SCOPE',
            message: m(
              lang,
              `region ${d.admdvs} is outside client ${sender.client_id}'s scope (${sender.scope.join(', ')})`,
              `统筹区 ${d.admdvs} 不在客户端 ${sender.client_id} 的授权范围（${sender.scope.join('、')}）内`,
            ),
          },
        ],
  // The sender's scope is recorded with the disbursement: it counts only in reconciliations of
  // regions inside that scope (spec §3), whatever the clients file says later.
  rows: (d, sender) =>
    Object.assign({}, d, { sender_scope: sender && sender.role !== 'ops' ? [...sender.scope] : null }),
  store: insertDisbursements,
};

// The fund year (spec §8). Collections and transfers name a region (6-digit admdvs) that must lie
// inside the sender's scope (403 with the path, as a disbursement's admdvs); who sent them is
// recorded with the row.
const regionInScope = <T extends { admdvs: string }>(d: T, sender: Client, lang: Lang): FieldError[] =>
  inScope(sender, { admdvs: d.admdvs })
    ? []
    : [
        {
          path: '/admdvs',
          code: 'OUT_OF_SCOPE',
          message: m(
            lang,
            `region ${d.admdvs} is outside client ${sender.client_id}'s scope (${sender.scope.join(', ')})`,
            `统筹区 ${d.admdvs} 不在客户端 ${sender.client_id} 的授权范围（${sender.scope.join('、')}）内`,
          ),
        },
      ];
const senderStamp = (sender?: Client): SenderStamp => ({
  sender_client_id: sender?.client_id ?? null,
  sender_role: sender?.role ?? null,
  sender_scope: sender && sender.role !== 'ops' ? [...sender.scope] : null,
});

export const collectionSpec: KindSpec<PremiumCollection, PremiumCollectionRow> = {
  kind: 'premium_collection',
  role: ['tax', 'agency'],
  schema: 'premium-collection',
  scopeValue: () => undefined,
  businessKey: (c) => c.collection_id,
  // A rate that does not match the region's premium is a finding (PREMIUM_RATE_MISMATCH), not a
  // refusal: the money was collected, and the fund must account for it.
  rules: () => [],
  senderRules: regionInScope,
  rows: (c, sender) => Object.assign({}, c, senderStamp(sender)),
  store: insertPremiumCollections,
};

export const transferSpec: KindSpec<FundTransfer, FundTransferRow> = {
  kind: 'fund_transfer',
  role: ['finance', 'agency'],
  schema: 'fund-transfer',
  scopeValue: () => undefined,
  businessKey: (t) => t.transfer_id,
  rules: (t, lang) =>
    t.from_account !== t.to_account
      ? []
      : [
          {
            path: '/to_account',
            code: 'TRANSFER_SAME_ACCOUNT',
            message: m(
              lang,
              `a transfer moves money between two accounts; from_account and to_account are both ${t.to_account}`,
              `划转须在两个账户之间进行；转出与转入账户均为 ${t.to_account}`,
            ),
          },
        ],
  senderRules: regionInScope,
  rows: (t, sender) => Object.assign({}, t, senderStamp(sender)),
  store: insertFundTransfers,
};

export const costReportSpec: KindSpec<InsurerCostReport> = {
  kind: 'insurer_cost_report',
  role: 'insurer',
  schema: 'insurer-cost-report',
  scopeValue: (r) => r.insurer_code,
  businessKey: (r) => `${r.insurer_code}:${r.admdvs}:${r.fund_year}:${r.revision}`,
  rules: () => [],
  rows: (r) => r,
  store: insertCostReports,
};

export type AnyKindSpec = KindSpec<unknown, unknown>;

export const SINGLE_KINDS = [
  disbursementSpec,
  batchSpec,
  paymentSpec,
  planSpec,
  recoverySpec,
  collectionSpec,
  transferSpec,
  costReportSpec,
] as AnyKindSpec[];

/** The kind's spec, for code that holds only its name (a group of accepted messages). */
export function kindSpec(kind: MessageKind): AnyKindSpec {
  const spec = SINGLE_KINDS.find((s) => s.kind === kind);
  if (!spec) throw new Error(`${kind} is not a single-document kind`);
  return spec;
}
