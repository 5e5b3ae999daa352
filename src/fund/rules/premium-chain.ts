/**
 * The premium chain (spec §8): for every pass-through account (tax, treasury, county_account), region
 * and period, what it received and passed on, and the findings that follow. Pure: facts, the
 * region's fund policy and `asOf` in; balances and findings out (no database, no clock).
 *
 * - An account's **received** for (region, period): for `tax`, the collections of that region and
 *   period (amount + late fee: tax collected both); for the others, the transfers into it. Its
 *   **passed_on**: the transfers out of it. A transfer's admdvs and period name whose premiums it
 *   moves, so each account's two sides meet per region and period. Only events dated at or before
 *   asOf count (collected_at, transferred_at), as every deadline of the gateway is judged.
 * - PREMIUM_TRANSFER_SHORT: at asOf past the account's due date for the period (tax and treasury:
 *   day 10 of the next month; county accounts: 31 December, 003 art. 47 — region parameters, plain
 *   calendar dates as the spec states them, not working days), passed_on < received. A later
 *   transfer that covers the balance resolves it.
 * - TRANSFER_UNFUNDED: passed_on > received (money out of nowhere). Feeds arrive on different days
 *   (the transfer into an account may be reported after the one out of it), so it is raised only
 *   once the grace period (the region's grace_days, spec §4) has passed since the gateway received
 *   the latest transfer out; a late transfer in resolves it.
 * - PREMIUM_RATE_MISMATCH: a collection whose amount ≠ insured_count × the region's premium for its
 *   payer_type, where the region configures one (003 arts. 7–8; 002 #5 §5).
 */
import { Money } from '../../money';
import { addDays, addMonths, cstInstant, lastDayOf, toCstIso, type LocalDate, type Period } from '../../time';
import { DEFAULT_SEVERITY, subjectKey } from '../../matching/rules';
import type { Finding } from '../../matching';
import type { CollectionFact, TransferFact } from '../../ledger/fund-store';
import { PASS_THROUGH_ACCOUNTS, type FundPolicy, type PassThroughAccount, type TransferDue } from './fund-policy';

export type { CollectionFact, TransferFact } from '../../ledger/fund-store';

export interface AccountBalance {
  account: PassThroughAccount;
  admdvs: string;
  period: Period;
  received: string;
  passed_on: string;
  /** received − passed_on (negative: sent more than received). */
  balance: string;
  collections: CollectionFact[];
  transfers_in: TransferFact[];
  transfers_out: TransferFact[];
}

const counts = (at: Date, asOf: Date) => at.getTime() <= asOf.getTime();
const keyOf = (account: string, admdvs: string, period: string) => `${account}\0${admdvs}\0${period}`;
const isPassThrough = (a: string): a is PassThroughAccount => (PASS_THROUGH_ACCOUNTS as readonly string[]).includes(a);

/**
 * Every pass-through account-region-period the facts touch, with its received, passed_on and balance
 * as of asOf, in (admdvs, period, account) order. An account-region-period whose every fact is dated
 * after asOf still has a row (all zero), so its group is judged (and an earlier finding resolved).
 */
export function accountBalances(
  collections: readonly CollectionFact[],
  transfers: readonly TransferFact[],
  asOf: Date,
): AccountBalance[] {
  const rows = new Map<string, AccountBalance>();
  const row = (account: PassThroughAccount, admdvs: string, period: string) => {
    const k = keyOf(account, admdvs, period);
    let r = rows.get(k);
    if (!r) {
      r = {
        account,
        admdvs,
        period,
        received: '0.00',
        passed_on: '0.00',
        balance: '0.00',
        collections: [],
        transfers_in: [],
        transfers_out: [],
      };
      rows.set(k, r);
    }
    return r;
  };
  for (const c of collections) {
    const r = row('tax', c.admdvs, c.period);
    if (counts(c.collected_at, asOf)) r.collections.push(c);
  }
  for (const t of transfers) {
    for (const [account, side] of [
      [t.to_account, 'transfers_in'],
      [t.from_account, 'transfers_out'],
    ] as const) {
      if (!isPassThrough(account)) continue;
      const r = row(account, t.admdvs, t.period);
      if (counts(t.transferred_at, asOf)) r[side].push(t);
    }
  }
  for (const r of rows.values()) {
    const received = Money.sum([
      ...r.collections.map((c) => Money.of(c.amount).plus(Money.of(c.late_fee))),
      ...r.transfers_in.map((t) => Money.of(t.amount)),
    ]);
    const passedOn = Money.sum(r.transfers_out.map((t) => Money.of(t.amount)));
    r.received = received.toString();
    r.passed_on = passedOn.toString();
    r.balance = received.minus(passedOn).toString();
  }
  return [...rows.values()].sort(
    (a, b) => cmp(a.admdvs, b.admdvs) || cmp(a.period, b.period) || cmp(a.account, b.account),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The date an account must have passed on what it received for `period` (a plain calendar date). */
export function transferDueDate(due: TransferDue, period: Period): LocalDate {
  if (due.kind === 'day_of_next_month') return `${addMonths(period, 1)}-${String(due.day).padStart(2, '0')}`;
  // The first month-day on or after the period's last day: "12-31" is the end of the period's year.
  const last = lastDayOf(period);
  const year = Number(period.slice(0, 4));
  const inYear = `${year}-${due.month_day}`;
  return inYear >= last ? inYear : `${year + 1}-${due.month_day}`;
}

/** The instant a due date lapses: the end of that day in China Standard Time. */
export function lapsesAt(date: LocalDate): Date {
  return cstInstant(addDays(date, 1));
}

export interface ChainContext {
  /** The fund policy of each fact's region (by admdvs); undefined: the spec's defaults. */
  fundPolicyFor(admdvs: string): FundPolicy;
  /** Days after the gateway received a transfer out before TRANSFER_UNFUNDED is raised for it (spec §4 grace). */
  graceDaysFor(admdvs: string): number;
}

/** One case group: its key, and the findings it holds now (none: its open cases resolve). */
export interface ChainGroup {
  groupKey: string;
  findings: Finding<object>[];
}

/** The account-region-period subject (spec §8). */
export const accountSubjectKey = (account: string, admdvs: string, period: string): string =>
  subjectKey({ kind: 'account_period', account, admdvs, period });
/** The collection subject (spec §8). */
export const collectionSubjectKey = (collectionId: string): string =>
  subjectKey({ kind: 'collection', collection_id: collectionId });

const collectionEvidence = (c: CollectionFact) => ({
  collection_id: c.collection_id,
  message_id: c.message_id,
  payer_type: c.payer_type,
  insured_count: c.insured_count,
  amount: c.amount,
  late_fee: c.late_fee,
  collected_at: toCstIso(c.collected_at),
});
const transferEvidence = (t: TransferFact) => ({
  transfer_id: t.transfer_id,
  message_id: t.message_id,
  from_account: t.from_account,
  to_account: t.to_account,
  amount: t.amount,
  transferred_at: toCstIso(t.transferred_at),
  ...(t.bank_txn_no ? { bank_txn_no: t.bank_txn_no } : {}),
});

/** The findings of one account-region-period as of asOf (PREMIUM_TRANSFER_SHORT, TRANSFER_UNFUNDED). */
export function accountFindings(b: AccountBalance, asOf: Date, ctx: ChainContext): Finding<object>[] {
  const received = Money.of(b.received),
    passedOn = Money.of(b.passed_on);
  const due = ctx.fundPolicyFor(b.admdvs).transfer_due[b.account];
  const dueDate = transferDueDate(due, b.period);
  const lapses = lapsesAt(dueDate);
  const messageIds = [
    ...new Set([...b.collections, ...b.transfers_in, ...b.transfers_out].map((x) => x.message_id)),
  ].sort();
  const evidence = {
    message_ids: messageIds,
    account: b.account,
    received: b.received,
    passed_on: b.passed_on,
    balance: b.balance,
    due: {
      date: dueDate,
      lapses_at: toCstIso(lapses),
      rule: due.kind === 'day_of_next_month' ? `day ${due.day} of the next month` : `${due.month_day}`,
      source: due.source,
    },
    collections: b.collections.map(collectionEvidence),
    transfers_in: b.transfers_in.map(transferEvidence),
    transfers_out: b.transfers_out.map(transferEvidence),
  };
  const base = {
    admdvs: b.admdvs,
    insurer_code: '',
    period: b.period,
    subject_key: accountSubjectKey(b.account, b.admdvs, b.period),
    expected_amount: b.received,
    actual_amount: b.passed_on,
  };
  const out: Finding<object>[] = [];
  if (passedOn.lt(received) && asOf.getTime() >= lapses.getTime()) {
    out.push({
      ...base,
      code: 'PREMIUM_TRANSFER_SHORT',
      severity: DEFAULT_SEVERITY.PREMIUM_TRANSFER_SHORT,
      difference: passedOn.minus(received).toString(),
      detail: `account ${b.account} of ${b.admdvs} received ${received} for ${b.period} but passed on ${passedOn} by ${toCstIso(asOf)}; all of it was due by ${dueDate}`,
      evidence,
    });
  }
  if (passedOn.gt(received)) {
    const lastOut = b.transfers_out.reduce((m, t) => Math.max(m, t.received_at.getTime()), 0);
    const graceEnds = new Date(lastOut + ctx.graceDaysFor(b.admdvs) * 86_400_000);
    if (asOf.getTime() >= graceEnds.getTime()) {
      out.push({
        ...base,
        code: 'TRANSFER_UNFUNDED',
        severity: DEFAULT_SEVERITY.TRANSFER_UNFUNDED,
        difference: passedOn.minus(received).toString(),
        detail: `account ${b.account} of ${b.admdvs} passed on ${passedOn} for ${b.period} but had received only ${received}`,
        evidence: { ...evidence, grace_expires_at: toCstIso(graceEnds) },
      });
    }
  }
  return out;
}

/** PREMIUM_RATE_MISMATCH of one collection, where its region configures the payer_type's premium. */
export function collectionFindings(c: CollectionFact, asOf: Date, policy: FundPolicy): Finding<object>[] {
  const premium = policy.premiums[c.payer_type];
  if (!premium || !counts(c.collected_at, asOf)) return [];
  const expected = Money.of(premium.amount).times(c.insured_count);
  const actual = Money.of(c.amount);
  if (expected.eq(actual)) return [];
  return [
    {
      code: 'PREMIUM_RATE_MISMATCH',
      severity: DEFAULT_SEVERITY.PREMIUM_RATE_MISMATCH,
      admdvs: c.admdvs,
      insurer_code: '',
      period: c.period,
      subject_key: collectionSubjectKey(c.collection_id),
      expected_amount: expected.toString(),
      actual_amount: actual.toString(),
      difference: actual.minus(expected).toString(),
      detail: `collection ${c.collection_id} (${c.payer_type}, ${c.insured_count} insured) is ${actual}; at ${premium.amount} a person it should be ${expected}`,
      evidence: {
        message_ids: [c.message_id],
        collections: [collectionEvidence(c)],
        premium: { payer_type: c.payer_type, amount: premium.amount, source: premium.source },
      },
    },
  ];
}

/**
 * Every group the facts decide, as of asOf: one per pass-through account-region-period
 * (`fund:<account>:<admdvs>:<period>`) and one per collection (`collection:<id>`).
 */
export function premiumChainGroups(
  collections: readonly CollectionFact[],
  transfers: readonly TransferFact[],
  asOf: Date,
  ctx: ChainContext,
): ChainGroup[] {
  const groups: ChainGroup[] = accountBalances(collections, transfers, asOf).map((b) => ({
    groupKey: `fund:${accountSubjectKey(b.account, b.admdvs, b.period)}`,
    findings: accountFindings(b, asOf, ctx),
  }));
  for (const c of collections)
    groups.push({
      groupKey: `fund:${collectionSubjectKey(c.collection_id)}`,
      findings: collectionFindings(c, asOf, ctx.fundPolicyFor(c.admdvs)),
    });
  return groups;
}
