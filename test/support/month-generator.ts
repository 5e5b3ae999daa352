/**
 * A generator of a realistic month of exchange messages (Dehong 533102, period 2025-03): agency feeds
 * (with later reversals), institutions' batches (sometimes replaced), insurers' payments covering
 * many settlements, instalments, rejections, recoveries, and a sprinkling of every loop anomaly.
 * Deterministic in its seed, so a property test can replay the same month in any order.
 *
 * Messages carry `after`: indices of messages that must be posted before them (the ingest refuses a
 * recovery larger than what was paid, so a recovery must follow its payments, and a replacement
 * batch naming no earlier batch of its institution, so a replacement follows the batch it replaces).
 */
import { Money } from '../../src/money';
import type { InsurerPayment, Recovery, Settlement, SettlementBatch } from '../../src/schemas/types';
import type { TestClientName } from './test-clients';

export interface MonthMessage {
  kind: 'agency_settlements' | 'settlement_batch' | 'insurer_payment' | 'recovery';
  path: string;
  as: TestClientName;
  body: unknown;
  after: number[];
}

export const INSTITUTIONS = [
  { code: 'H53310200001', client: 'hospital1' },
  { code: 'H53310200002', client: 'hospital2' },
] as const;
export const INSURERS = [
  { code: 'PICC_DH', client: 'insurerA' },
  { code: 'CPIC_DH', client: 'insurerB' },
] as const;
export const STORIES = [
  'paid',
  'late',
  'under',
  'over',
  'dup',
  'instalments',
  'rejected',
  'unpaid',
  'reversed_paid',
  'wrong_payee',
  'wrong_insurer',
  'recovered',
  'undeclared',
  'declared_mismatch',
  'dup_reimb',
  'over_reimb',
] as const;
export type Story = (typeof STORIES)[number];

const ON_TIME = '2025-04-15T10:00:00+08:00';
const SECOND = '2025-04-20T10:00:00+08:00';
const LATE = '2025-05-10T10:00:00+08:00';

/** mulberry32: a tiny seeded PRNG, good enough to pick test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A settlement record with consistent totals; `hifob` is what the insurer owes. */
export function record(
  setlId: string,
  o: {
    fixmedins: string;
    insurer: string;
    hifob: string;
    mode?: 'direct' | 'manual';
    mdtrt?: string;
    psn?: string;
    day?: number;
    oth?: string;
    status?: 'valid' | 'reversed';
  },
): Settlement {
  const medfee = Money.of('100000.00'),
    hifp = Money.of('50000.00'),
    hifob = Money.of(o.hifob);
  const fund = hifp.plus(hifob);
  return {
    setl_id: setlId,
    mdtrt_id: o.mdtrt ?? `MD-${setlId}`,
    psn_no: o.psn ?? `P-${setlId}`,
    psn_name: '李四',
    certno: '11010519491231002X',
    insutype: '310',
    insuplc_admdvs: '533102',
    mdtrtarea_admvs: '533102',
    fixmedins_code: o.fixmedins,
    med_type: '21',
    setl_time: `2025-03-${String(o.day ?? 10).padStart(2, '0')} 10:00:00`,
    medfee_sumamt: medfee.toString(),
    inscp_scp_amt: '90000.00',
    hifp_pay: hifp.toString(),
    hifob_pay: hifob.toString(),
    fund_pay_sumamt: fund.toString(),
    acct_pay: '0.00',
    psn_cash_pay: medfee.minus(fund).toString(),
    ...(o.oth ? { oth_pay: o.oth } : {}),
    insurer_code: o.insurer,
    setl_mode: o.mode ?? 'direct',
    referral: false,
    status: o.status ?? 'valid',
  };
}

export function batchOf(
  batchId: string,
  fixmedins: string,
  insurer: string,
  items: { s: Settlement; hifob?: string }[],
  replaces?: string,
): SettlementBatch {
  const its = items.map(({ s, hifob }) => ({
    setl_id: s.setl_id,
    mdtrt_id: s.mdtrt_id,
    psn_no: s.psn_no,
    setl_time: s.setl_time,
    medfee_sumamt: s.medfee_sumamt as string,
    hifob_pay: hifob ?? (s.hifob_pay as string),
  }));
  return {
    batch_id: batchId,
    fixmedins_code: fixmedins,
    insurer_code: insurer,
    period: '2025-03',
    setl_cnt: its.length,
    medfee_sumamt: Money.sum(its.map((i) => Money.of(i.medfee_sumamt))).toString(),
    hifob_pay_sumamt: Money.sum(its.map((i) => Money.of(i.hifob_pay))).toString(),
    items: its,
    ...(replaces ? { replaces_batch_id: replaces } : {}),
  };
}

export interface PaymentLineSpec {
  setl_id: string;
  paid: string;
  rejected?: string;
  reason?: 'R01' | 'R02' | 'R03' | 'R04' | 'R05';
}

export function paymentOf(
  insurer: string,
  paymentId: string,
  payee: { type: 'institution' | 'person'; id: string },
  payTime: string,
  lines: PaymentLineSpec[],
): InsurerPayment {
  return {
    insurer_code: insurer,
    payment_id: paymentId,
    payee_type: payee.type,
    payee_id: payee.id,
    pay_time: payTime,
    bank_txn_no: `BK-${paymentId}`,
    pay_amount: Money.sum(lines.map((l) => Money.of(l.paid))).toString(),
    lines: lines.map((l) => ({
      setl_id: l.setl_id,
      paid_amount: l.paid,
      ...(l.rejected ? { rejected_amount: l.rejected, reject_reason_code: l.reason ?? 'R01' } : {}),
    })) as InsurerPayment['lines'],
  };
}

/** A month of `size` settlements (plus one unknown payment line and one unknown batch item). */
export function generateMonth(seed: number, size = 10): MonthMessage[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const records: Settlement[] = [];
  const reversals: Settlement[] = [];
  const declared = new Map<string, { s: Settlement; hifob?: string }[]>();
  const pays = new Map<
    string,
    { insurer: string; payee: { type: 'institution' | 'person'; id: string }; time: string; lines: PaymentLineSpec[] }
  >();
  const recoveries: Recovery[] = [];
  const pay = (
    insurer: string,
    payee: { type: 'institution' | 'person'; id: string },
    time: string,
    line: PaymentLineSpec,
  ) => {
    const key = `${insurer}|${payee.type}|${payee.id}|${time}`;
    const p = pays.get(key) ?? { insurer, payee, time, lines: [] };
    p.lines.push(line);
    pays.set(key, p);
  };
  const declare = (s: Settlement, hifob?: string) => {
    const k = `${s.fixmedins_code}|${s.insurer_code}`;
    declared.set(k, [...(declared.get(k) ?? []), { s, ...(hifob ? { hifob } : {}) }]);
  };

  for (let i = 0; i < size; i++) {
    const inst = pick(INSTITUTIONS),
      ins = pick(INSURERS),
      story = pick(STORIES);
    const id = `G${String(i).padStart(3, '0')}`;
    const hifob = Money.of(1000 + Math.floor(rnd() * 9000)).toString();
    const half = Money.of(hifob).times('0.5').toFen().toString();
    const day = 1 + Math.floor(rnd() * 28);
    const s = record(id, {
      fixmedins: inst.code,
      insurer: ins.code,
      hifob,
      day,
      ...(story === 'over_reimb' ? { oth: '60000.00' } : {}),
    });
    records.push(s);
    const inst1 = { type: 'institution' as const, id: inst.code };
    if (story !== 'undeclared' && story !== 'reversed_paid')
      declare(s, story === 'declared_mismatch' ? Money.of(hifob).plus(Money.of('1.00')).toString() : undefined);
    switch (story) {
      case 'late':
        pay(ins.code, inst1, LATE, { setl_id: id, paid: hifob });
        break;
      case 'under':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: half });
        break;
      case 'over':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: Money.of(hifob).plus(Money.of('10.00')).toString() });
        break;
      case 'dup':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        pay(ins.code, inst1, SECOND, { setl_id: id, paid: hifob });
        break;
      case 'instalments':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: half });
        pay(ins.code, inst1, SECOND, { setl_id: id, paid: Money.of(hifob).minus(Money.of(half)).toString() });
        break;
      case 'rejected':
        pay(ins.code, inst1, ON_TIME, {
          setl_id: id,
          paid: half,
          rejected: Money.of(hifob).minus(Money.of(half)).toString(),
          reason: 'R02',
        });
        break;
      case 'unpaid':
        break;
      case 'reversed_paid':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        reversals.push({ ...s, status: 'reversed' });
        break;
      case 'wrong_payee':
        pay(ins.code, { type: 'institution', id: INSTITUTIONS.find((x) => x.code !== inst.code)!.code }, ON_TIME, {
          setl_id: id,
          paid: hifob,
        });
        break;
      case 'wrong_insurer':
        pay(INSURERS.find((x) => x.code !== ins.code)!.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        break;
      case 'recovered':
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        recoveries.push({
          insurer_code: ins.code,
          recovery_id: `REC-${id}`,
          setl_id: id,
          amount: '100.00',
          reason_code: 'R03',
          recovered_at: '2025-05-15T10:00:00+08:00',
        });
        break;
      case 'dup_reimb': {
        const manual = record(`${id}M`, {
          fixmedins: inst.code,
          insurer: ins.code,
          hifob: '800.00',
          mode: 'manual',
          mdtrt: s.mdtrt_id,
          psn: s.psn_no,
          day,
        });
        records.push(manual);
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
        pay(ins.code, { type: 'person', id: s.psn_no }, '2025-03-31T10:00:00+08:00', {
          setl_id: manual.setl_id,
          paid: '800.00',
        });
        break;
      }
      default:
        pay(ins.code, inst1, ON_TIME, { setl_id: id, paid: hifob });
    }
  }
  // A payment line and a declared item naming settlements the agency never records.
  pay('PICC_DH', { type: 'institution', id: 'H53310200001' }, ON_TIME, {
    setl_id: `X${seed % 1000}-PAID`,
    paid: '321.00',
  });
  const ghost = record(`X${seed % 1000}-DECL`, { fixmedins: 'H53310200001', insurer: 'PICC_DH', hifob: '432.00' });
  declare(ghost);

  const out: MonthMessage[] = [];
  const feeds = splitInto(records, 1 + Math.floor(rnd() * 3), rnd);
  for (const f of feeds)
    out.push({
      kind: 'agency_settlements',
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: f },
      after: [],
    });
  if (reversals.length)
    out.push({
      kind: 'agency_settlements',
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: reversals },
      after: [],
    });
  for (const [k, items] of [...declared.entries()].sort()) {
    const [fixmedins, insurer] = k.split('|') as [string, string];
    const inst = INSTITUTIONS.find((x) => x.code === fixmedins)!;
    const batchId = `B-${fixmedins}-${insurer}`;
    // An institution that never declares (DECLARATION_MISSING); the one declaring the ghost item always does.
    if (rnd() < 0.15 && !items.some((x) => x.s === ghost)) continue;
    if (rnd() < 0.3) {
      // A first version with an extra (wrong) item, replaced by the right one.
      out.push({
        kind: 'settlement_batch',
        path: '/v1/settlement-batches',
        as: inst.client,
        body: batchOf(
          `${batchId}-v1`,
          fixmedins,
          insurer,
          [...items, { s: records[0]! }].filter((x, i, a) => a.findIndex((y) => y.s.setl_id === x.s.setl_id) === i),
        ),
        after: [],
      });
      // The replacement follows the batch it replaces: ingest refuses a replaces_batch_id naming no earlier batch of the institution.
      out.push({
        kind: 'settlement_batch',
        path: '/v1/settlement-batches',
        as: inst.client,
        body: batchOf(`${batchId}-v2`, fixmedins, insurer, items, `${batchId}-v1`),
        after: [out.length - 1],
      });
    } else {
      out.push({
        kind: 'settlement_batch',
        path: '/v1/settlement-batches',
        as: inst.client,
        body: batchOf(batchId, fixmedins, insurer, items),
        after: [],
      });
    }
  }
  let n = 0;
  const paymentIndex = new Map<string, number[]>();
  for (const p of pays.values()) {
    const paymentId = `PAY-${String(++n).padStart(3, '0')}`;
    const client = INSURERS.find((x) => x.code === p.insurer)!.client;
    for (const l of p.lines)
      paymentIndex.set(`${p.insurer}|${l.setl_id}`, [
        ...(paymentIndex.get(`${p.insurer}|${l.setl_id}`) ?? []),
        out.length,
      ]);
    out.push({
      kind: 'insurer_payment',
      path: '/v1/insurer-payments',
      as: client,
      body: paymentOf(p.insurer, paymentId, p.payee, p.time, p.lines),
      after: [],
    });
  }
  for (const r of recoveries) {
    const client = INSURERS.find((x) => x.code === r.insurer_code)!.client;
    out.push({
      kind: 'recovery',
      path: '/v1/recoveries',
      as: client,
      body: r,
      after: paymentIndex.get(`${r.insurer_code}|${r.setl_id}`) ?? [],
    });
  }
  return out;
}

function splitInto<T>(xs: T[], parts: number, rnd: () => number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  for (const x of xs) out[Math.floor(rnd() * parts)]!.push(x);
  return out.filter((p) => p.length > 0);
}

/**
 * An arrival order from a permutation of indices that respects every message's `after`: a message
 * whose prerequisites have not all arrived waits until they have.
 */
export function arrivalOrder(messages: readonly MonthMessage[], permutation: readonly number[]): number[] {
  const done = new Set<number>();
  const waiting: number[] = [];
  const out: number[] = [];
  const release = () => {
    for (let moved = true; moved;) {
      moved = false;
      for (let i = 0; i < waiting.length; i++) {
        const w = waiting[i]!;
        if (messages[w]!.after.every((a) => done.has(a))) {
          out.push(w);
          done.add(w);
          waiting.splice(i, 1);
          moved = true;
          break;
        }
      }
    }
  };
  for (const i of permutation) {
    if (messages[i]!.after.every((a) => done.has(a))) {
      out.push(i);
      done.add(i);
      release();
    } else waiting.push(i);
  }
  release();
  return out;
}
