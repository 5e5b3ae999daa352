/**
 * Shared by the chaos and replay-storm tests: a large generated month whose every document is one
 * exchange message (a settlement record — sent in agency feeds of many records —, a declaration, a
 * single-line payment, a recovery; and the fund year's kinds of spec §8 — premium collections, fund
 * transfers, insurer cost reports — a few per month), each settlement following one story with a known end; the
 * ground truth of every loop computed by the pure evaluator from the generated facts; and the
 * comparison of the database's loop rows and totals with it.
 */
import { computeLoop, type PaymentLineFact, type RecoveryFact, type SettlementFact } from '../../src/matching';
import { Money } from '../../src/money';
import type { Period } from '../../src/time';
import type { Db } from '../../src/db/db';
import type { Gateway } from '../../src/composition-root';
import type { Recovery, Settlement } from '../../src/schemas/types';
import { INSTITUTIONS, INSURERS, batchOf, paymentOf, prng, record } from '../support/month-generator';
import type { TestClientName } from '../support/test-clients';

export const AS_OF = new Date('2025-06-10T00:00:00+08:00');
const ON_TIME = '2025-04-15T10:00:00+08:00';
const SECOND = '2025-04-20T10:00:00+08:00';
const LATE = '2025-05-10T10:00:00+08:00';

export const CHAOS_STORIES = [
  'paid',
  'instalments',
  'under',
  'dup',
  'rejected',
  'unpaid',
  'reversed',
  'recovered',
  'wrong_insurer',
  'late',
  'manual',
] as const;
type Story = (typeof CHAOS_STORIES)[number];
/** What each story ends as, as of AS_OF (a check on the evaluator's ground truth itself). */
export const STORY_END: Record<Story, string> = {
  paid: 'closed',
  instalments: 'closed',
  under: 'overdue',
  dup: 'closed',
  rejected: 'closed',
  unpaid: 'overdue',
  reversed: 'reversed',
  recovered: 'closed',
  wrong_insurer: 'overdue',
  late: 'closed',
  manual: 'closed',
};

export interface Doc {
  path: string;
  as: TestClientName;
  body: unknown;
  kind: 'feed' | 'batch' | 'payment' | 'recovery' | 'collection' | 'transfer' | 'cost_report';
  records: number;
}

export interface ChaosMonth {
  /** Feeds, batches and payments: any order. */
  docs: Doc[];
  /** Recoveries: after every payment was accepted (ingest refuses a recovery larger than what was paid). */
  recoveries: Doc[];
  /** Exchange messages in all (feed records counted one by one). */
  messages: number;
  settlements: { s: Settlement; story: Story }[];
  reversals: Settlement[];
  payments: ReturnType<typeof paymentOf>[];
  recoveryBodies: Recovery[];
  /** The fund year's messages (spec §8): how many of each, and the premiums collected in all. */
  fund: { collections: number; transfers: number; costReports: number; premiums: string };
}

export const FEED_SIZE = 500;

export function chaosMonth(seed: number, minMessages: number): ChaosMonth {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const settlements: ChaosMonth['settlements'] = [];
  const reversals: Settlement[] = [];
  const payments: ChaosMonth['payments'] = [];
  const recoveryBodies: Recovery[] = [];
  const batchCount = INSTITUTIONS.length * INSURERS.length;
  let messages = batchCount;
  for (let i = 0; messages < minMessages; i++) {
    const inst = pick(INSTITUTIONS),
      ins = pick(INSURERS),
      story = pick(CHAOS_STORIES);
    const id = `K${String(i).padStart(6, '0')}`;
    const hifob = Money.of(1000 + Math.floor(rnd() * 9000))
      .plus(Money.of(Math.floor(rnd() * 100)).times('0.01'))
      .toString();
    const half = Money.of(hifob).times('0.5').toFen().toString();
    const rest = Money.of(hifob).minus(Money.of(half)).toString();
    const s = record(id, {
      fixmedins: inst.code,
      insurer: ins.code,
      hifob,
      day: 1 + Math.floor(rnd() * 28),
      ...(story === 'manual' ? { mode: 'manual' as const } : {}),
    });
    settlements.push({ s, story });
    messages++;
    const other = INSURERS.find((x) => x.code !== ins.code)!;
    const pay = (
      insurer: string,
      time: string,
      paid: string,
      extra: { rejected?: string; payee?: { type: 'institution' | 'person'; id: string } } = {},
    ) => {
      payments.push(
        paymentOf(
          insurer,
          `PAY-${id}-${payments.length}`,
          extra.payee ?? { type: 'institution', id: inst.code },
          time,
          [{ setl_id: id, paid, ...(extra.rejected ? { rejected: extra.rejected, reason: 'R02' as const } : {}) }],
        ),
      );
      messages++;
    };
    switch (story) {
      case 'paid':
        pay(ins.code, ON_TIME, hifob);
        break;
      case 'instalments':
        pay(ins.code, ON_TIME, half);
        pay(ins.code, SECOND, rest);
        break;
      case 'under':
        pay(ins.code, ON_TIME, half);
        break;
      case 'dup':
        pay(ins.code, ON_TIME, hifob);
        pay(ins.code, SECOND, hifob);
        break;
      case 'rejected':
        pay(ins.code, ON_TIME, half, { rejected: rest });
        break;
      case 'unpaid':
        break;
      case 'reversed':
        pay(ins.code, ON_TIME, hifob);
        reversals.push({ ...s, status: 'reversed' });
        messages++;
        break;
      case 'recovered':
        pay(ins.code, ON_TIME, hifob);
        recoveryBodies.push({
          insurer_code: ins.code,
          recovery_id: `REC-${id}`,
          setl_id: id,
          amount: '100.00',
          reason_code: 'R03',
          recovered_at: '2025-05-15T10:00:00+08:00',
        });
        messages++;
        break;
      case 'wrong_insurer':
        pay(other.code, ON_TIME, hifob);
        break;
      case 'late':
        pay(ins.code, LATE, hifob);
        break;
      case 'manual':
        pay(ins.code, '2025-03-31T10:00:00+08:00', hifob, { payee: { type: 'person', id: s.psn_no } });
        break;
    }
  }

  const docs: Doc[] = [];
  const records = settlements.map((x) => x.s);
  for (let i = 0; i < records.length; i += FEED_SIZE) {
    const chunk = records.slice(i, i + FEED_SIZE);
    docs.push({
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: chunk },
      kind: 'feed',
      records: chunk.length,
    });
  }
  for (let i = 0; i < reversals.length; i += FEED_SIZE) {
    const chunk = reversals.slice(i, i + FEED_SIZE);
    docs.push({
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: chunk },
      kind: 'feed',
      records: chunk.length,
    });
  }
  for (const inst of INSTITUTIONS) {
    for (const ins of INSURERS) {
      const items = settlements
        .filter((x) => x.s.fixmedins_code === inst.code && x.s.insurer_code === ins.code && x.s.setl_mode === 'direct')
        .map((x) => ({ s: x.s }));
      if (items.length)
        docs.push({
          path: '/v1/settlement-batches',
          as: inst.client,
          body: batchOf(`B-${inst.code}-${ins.code}`, inst.code, ins.code, items),
          kind: 'batch',
          records: 1,
        });
    }
  }
  for (const p of payments)
    docs.push({
      path: '/v1/insurer-payments',
      as: INSURERS.find((x) => x.code === p.insurer_code)!.client,
      body: p,
      kind: 'payment',
      records: 1,
    });
  // The fund year's kinds (spec §8), a few dozen per 1,000 messages: collections of the county, passed on
  // in full by tax to the treasury and by the treasury to the special account (the transfers arrive in
  // any order: the chain's cases open and resolve on the way, none is left open), and cost reports of
  // both insurers in revisions.
  const fund = { collections: 0, transfers: 0, costReports: 0, premiums: Money.ZERO };
  const fundMonths = Math.max(3, Math.ceil(minMessages / 1000));
  for (let m = 0; m < fundMonths; m++) {
    const period = `2025-${String((m % 12) + 1).padStart(2, '0')}`;
    const tag = `${m}`.padStart(4, '0');
    const count = 100 + Math.floor(rnd() * 900);
    const amount = Money.of(count).times('120').toString();
    fund.premiums = fund.premiums.plus(Money.of(amount));
    const base = { admdvs: '533102', fund_year: '2025', period };
    docs.push({
      path: '/v1/premium-collections',
      as: 'agency',
      body: {
        ...base,
        collection_id: `FC-${tag}`,
        payer_type: 'employer',
        insured_count: count,
        amount,
        collected_at: `${period}-05 10:00:00`,
      },
      kind: 'collection',
      records: 1,
    });
    for (const [i, from, to] of [
      [1, 'tax', 'treasury'],
      [2, 'treasury', 'special_account'],
    ] as const)
      docs.push({
        path: '/v1/fund-transfers',
        as: 'agency',
        body: {
          ...base,
          transfer_id: `FT-${tag}-${i}`,
          from_account: from,
          to_account: to,
          amount,
          transferred_at: `${period}-0${6 + i}T10:00:00+08:00`,
        },
        kind: 'transfer',
        records: 1,
      });
    const ins = INSURERS[m % INSURERS.length]!;
    docs.push({
      path: '/v1/insurer-cost-reports',
      as: ins.client,
      body: {
        insurer_code: ins.code,
        admdvs: '5331',
        fund_year: '2024',
        revision: 1 + Math.floor(m / INSURERS.length),
        operating_cost: Money.of(1000 + m).toString(),
        reported_at: '2025-04-15T10:00:00+08:00',
      },
      kind: 'cost_report',
      records: 1,
    });
    fund.collections++;
    fund.transfers += 2;
    fund.costReports++;
    messages += 4;
  }

  // A fixed shuffle: payments often arrive before the settlement they pay.
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [docs[i], docs[j]] = [docs[j]!, docs[i]!];
  }
  const recoveries = recoveryBodies.map((r): Doc => ({
    path: '/v1/recoveries',
    as: INSURERS.find((x) => x.code === r.insurer_code)!.client,
    body: r,
    kind: 'recovery',
    records: 1,
  }));
  return {
    docs,
    recoveries,
    messages,
    settlements,
    reversals,
    payments,
    recoveryBodies,
    fund: { ...fund, premiums: fund.premiums.toString() },
  };
}

const cst = (local: string) => new Date(`${local.replace(' ', 'T')}+08:00`);

export interface ExpectedLoop {
  status: string;
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
  due_date: string;
  closed_at: string | null;
}

/** The ground truth: every settlement's loop from the generated facts, by the pure evaluator, as of AS_OF. */
export function expectedLoops(month: ChaosMonth, gw: Pick<Gateway, 'regions' | 'calendar'>): Map<string, ExpectedLoop> {
  const lines = new Map<string, PaymentLineFact[]>();
  for (const p of month.payments) {
    p.lines.forEach((l, i) => {
      const fact: PaymentLineFact = {
        message_id: '',
        insurer_code: p.insurer_code,
        payment_id: p.payment_id,
        line_no: i + 1,
        payee_type: p.payee_type,
        payee_id: p.payee_id,
        pay_time: new Date(p.pay_time),
        setl_id: l.setl_id,
        paid_amount: Money.of(l.paid_amount),
        rejected_amount: Money.of(l.rejected_amount ?? '0'),
        ...(l.reject_reason_code ? { reject_reason_code: l.reject_reason_code } : {}),
        received_at: AS_OF,
      };
      lines.set(l.setl_id, [...(lines.get(l.setl_id) ?? []), fact]);
    });
  }
  const recoveries = new Map<string, RecoveryFact[]>();
  for (const r of month.recoveryBodies) {
    recoveries.set(r.setl_id, [
      ...(recoveries.get(r.setl_id) ?? []),
      {
        message_id: '',
        insurer_code: r.insurer_code,
        recovery_id: r.recovery_id,
        setl_id: r.setl_id,
        amount: Money.of(r.amount),
        recovered_at: new Date(r.recovered_at),
        received_at: AS_OF,
      },
    ]);
  }
  const reversed = new Set(month.reversals.map((s) => s.setl_id));
  const ctx = { asOf: AS_OF, params: gw.regions.loopParamsFor('533102'), calendar: gw.calendar };
  const out = new Map<string, ExpectedLoop>();
  for (const { s } of month.settlements) {
    const fact: SettlementFact = {
      setl_id: s.setl_id,
      mdtrt_id: s.mdtrt_id,
      psn_no: s.psn_no,
      insurer_code: s.insurer_code,
      fixmedins_code: s.fixmedins_code,
      insuplc_admdvs: s.insuplc_admdvs,
      setl_mode: s.setl_mode,
      status: reversed.has(s.setl_id) ? 'reversed' : 'valid',
      setl_time: cst(s.setl_time),
      period: s.setl_time.slice(0, 7) as Period,
      medfee_sumamt: Money.of(s.medfee_sumamt),
      hifp_pay: Money.of(s.hifp_pay),
      hifob_pay: Money.of(s.hifob_pay),
      message_id: '',
      received_at: AS_OF,
    };
    const { state } = computeLoop(fact, lines.get(s.setl_id) ?? [], recoveries.get(s.setl_id) ?? [], ctx);
    out.set(s.setl_id, {
      status: state.status,
      owed: state.owed.toString(),
      paid: state.paid.toString(),
      rejected: state.rejected.toString(),
      recovered: state.recovered.toString(),
      outstanding: state.outstanding.toString(),
      due_date: state.due_date,
      closed_at: state.closed_at?.toISOString() ?? null,
    });
  }
  return out;
}

/** The database's loop rows in the same shape. */
export async function actualLoops(db: Db): Promise<Map<string, ExpectedLoop>> {
  const { rows } = await db.query<ExpectedLoop & { setl_id: string; closed_at: Date | null }>(
    `SELECT setl_id, status, owed::text, paid::text, rejected::text, recovered::text, outstanding::text, due_date::text, closed_at FROM settlement_loops`,
  );
  return new Map(
    rows.map((r) => [
      r.setl_id,
      {
        status: r.status,
        owed: r.owed,
        paid: r.paid,
        rejected: r.rejected,
        recovered: r.recovered,
        outstanding: r.outstanding,
        due_date: r.due_date,
        closed_at: r.closed_at ? new Date(r.closed_at).toISOString() : null,
      },
    ]),
  );
}

/** Loop rows that differ from the ground truth (setl_id, expected, actual); empty when all agree. */
export function loopDifferences(
  expected: Map<string, ExpectedLoop>,
  actual: Map<string, ExpectedLoop>,
): { setl_id: string; expected?: ExpectedLoop; actual?: ExpectedLoop }[] {
  const diffs: { setl_id: string; expected?: ExpectedLoop; actual?: ExpectedLoop }[] = [];
  for (const [id, e] of expected) {
    const a = actual.get(id);
    if (!a || JSON.stringify(a) !== JSON.stringify(e))
      diffs.push({ setl_id: id, expected: e, ...(a ? { actual: a } : {}) });
  }
  for (const [id, a] of actual) if (!expected.has(id)) diffs.push({ setl_id: id, actual: a });
  return diffs;
}

/** Sums of every amount per (insurer, status), from loop rows: "every total". */
export function totals(
  loops: Map<string, ExpectedLoop>,
  insurerOf: Map<string, string>,
): Record<string, Record<string, string>> {
  const acc: Record<string, Record<string, Money>> = {};
  for (const [id, l] of loops) {
    const k = `${insurerOf.get(id) ?? '?'}/${l.status}`;
    const t = (acc[k] ??= {
      count: Money.ZERO,
      owed: Money.ZERO,
      paid: Money.ZERO,
      rejected: Money.ZERO,
      recovered: Money.ZERO,
      outstanding: Money.ZERO,
    });
    t.count = t.count!.plus(Money.of(1));
    for (const f of ['owed', 'paid', 'rejected', 'recovered', 'outstanding'] as const)
      t[f] = t[f]!.plus(Money.of(l[f]));
  }
  return Object.fromEntries(
    Object.entries(acc)
      .sort()
      .map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([f, m]) => [f, m.toString()]))]),
  );
}

/** Count of ledger rows the month must leave: nothing lost, nothing twice. */
export async function ledgerCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM settlement_records) AS settlement_records, (SELECT count(*) FROM payments) AS payments,
            (SELECT count(*) FROM payment_lines) AS payment_lines, (SELECT count(*) FROM recoveries) AS recoveries,
            (SELECT count(*) FROM batches) AS batches, (SELECT count(*) FROM settlement_loops) AS settlement_loops,
            (SELECT count(*) FROM premium_collections) AS premium_collections,
            (SELECT count(*) FROM fund_transfers) AS fund_transfers,
            (SELECT count(*) FROM insurer_cost_reports) AS insurer_cost_reports`,
  );
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}

export function expectedCounts(m: ChaosMonth, batches: number): Record<string, number> {
  return {
    settlement_records: m.settlements.length + m.reversals.length,
    payments: m.payments.length,
    payment_lines: m.payments.reduce((n, p) => n + p.lines.length, 0),
    recoveries: m.recoveryBodies.length,
    batches,
    settlement_loops: m.settlements.length,
    premium_collections: m.fund.collections,
    fund_transfers: m.fund.transfers,
    insurer_cost_reports: m.fund.costReports,
  };
}
