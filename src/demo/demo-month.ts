/**
 * A realistic month for the demo (`gateway demo`): Dehong (5331) institutions and both insurers,
 * amounts that follow the region's rule (001 art. 10: 90% of the covered cost above the basic
 * maximum), payments covering many settlements, instalments, rejections, recoveries, declarations —
 * and a planted case of every discrepancy code of spec §4 (plus an Ulanqab person over the
 * 120,000 yearly cap, 003 art. 32(3)). Deterministic: the same period gives the same month.
 */
import type {
  Disbursement,
  InsurerPayment,
  Recovery,
  Settlement,
  SettlementBatch,
  SpendingPlan,
} from '../schemas/types';
import { Money } from '../money';
import { addMonths } from '../time';
import { certnoCheckChar } from '../schemas/gb11643';

export type DemoRole = 'agency' | 'institution1' | 'institution2' | 'institution3' | 'insurerA' | 'insurerB';
export interface DemoMessage {
  path: string;
  as: DemoRole;
  body: unknown;
}

export const DEMO_INSTITUTIONS = ['H53310200001', 'H53310200002', 'H53310200003', 'H53310200004'] as const;
export const DEMO_INSURERS = ['PICC_DH', 'CPIC_DH'] as const;
const INST_ROLE: Record<string, DemoRole> = {
  H53310200001: 'institution1',
  H53310200002: 'institution2',
  H53310200003: 'institution3',
};
const INSURER_ROLE: Record<string, DemoRole> = { PICC_DH: 'insurerA', CPIC_DH: 'insurerB' };
/** Fictitious ID numbers with a valid GB 11643 check character. */
const CERTNOS = ['53310219800101001', '53310219751212002', '15090219660606003', '53310219900909004'].map(
  (d) => d + certnoCheckChar(d),
);
const NAMES = ['张三', '李四', '王五', '赵六', '刘芳', '陈静', '杨洋', '黄磊'];

export interface DemoSettlementOptions {
  fixmedins: string;
  insurer: string;
  base: number;
  day: number;
  mode?: 'direct' | 'manual';
  mdtrt?: string;
  psn?: string;
  hifob?: string;
  oth?: string;
  status?: 'valid' | 'reversed';
  admdvs?: string;
  seg?: string;
  ratio?: string;
}

/** One settlement of the demo: Dehong-shaped amounts (180,000 basic, `base` above it at `ratio`, default 90%, 001 art. 10). */
export function demoSettlement(id: string, period: string, o: DemoSettlementOptions): Settlement {
  const base = Money.of(o.base);
  const hifob = o.hifob ? Money.of(o.hifob) : base.times(o.ratio ?? '0.90').toFen();
  const hifp = Money.of('180000.00');
  const oth = o.oth ? Money.of(o.oth) : Money.ZERO;
  const medfee = hifp.plus(base).plus(Money.of('20000.00'));
  const fund = hifp.plus(hifob);
  const s: Settlement = {
    setl_id: id,
    mdtrt_id: o.mdtrt ?? `MD${id}`,
    psn_no: o.psn ?? `P${id}`,
    psn_name: NAMES[Number(id.replace(/\D/g, '')) % NAMES.length],
    certno: CERTNOS[Number(id.replace(/\D/g, '')) % CERTNOS.length],
    insutype: '310',
    insuplc_admdvs: o.admdvs ?? '533102',
    mdtrtarea_admvs: o.admdvs ?? '533102',
    fixmedins_code: o.fixmedins,
    med_type: '21',
    setl_time: `${period}-${String(o.day).padStart(2, '0')} 10:00:00`,
    medfee_sumamt: medfee.toString(),
    inscp_scp_amt: hifp.plus(base).toString(),
    hifp_pay: hifp.toString(),
    hifob_pay: hifob.toString(),
    ...(o.oth ? { oth_pay: oth.toString() } : {}),
    fund_pay_sumamt: fund.toString(),
    acct_pay: '0.00',
    psn_cash_pay: Money.max(medfee.minus(fund).minus(oth), Money.ZERO).toString(),
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: hifp.toString(), fund_payamt: hifp.toString() },
      {
        fund_pay_type: '330100',
        inscp_scp_amt: base.toString(),
        fund_payamt: hifob.toString(),
        ...(o.seg ? { seg: o.seg } : {}),
      },
    ],
    insurer_code: o.insurer,
    setl_mode: o.mode ?? 'direct',
    referral: false,
    status: 'valid',
  };
  return s;
}

export function generateDemoMonth(
  period: string,
  size = 120,
): { period: string; messages: DemoMessage[]; planted: string[] } {
  const settlements: Settlement[] = [];
  const reversals: Settlement[] = [];
  const undeclared = new Set<string>();
  const declaredOverride = new Map<string, string>();
  const extraItems = new Map<string, { setl_id: string; hifob: string }[]>();
  const lines = new Map<
    string,
    {
      insurer: string;
      payee: { type: 'institution' | 'person'; id: string };
      time: string;
      lines: InsurerPayment['lines'][number][];
    }
  >();
  const recoveries: Recovery[] = [];
  const next = addMonths(period, 1),
    after = addMonths(period, 2);
  const ON_TIME = `${next}-15T10:00:00+08:00`,
    SECOND = `${next}-20T10:00:00+08:00`,
    LATE = `${after}-05T10:00:00+08:00`;

  const record = (id: string, o: DemoSettlementOptions): Settlement => {
    const s = demoSettlement(id, period, o);
    settlements.push(s);
    return s;
  };
  const pay = (
    s: Settlement,
    amount: string,
    o: { time?: string; insurer?: string; payee?: string; rejected?: string } = {},
  ) => {
    const insurer = o.insurer ?? s.insurer_code;
    const payee =
      s.setl_mode === 'manual'
        ? { type: 'person' as const, id: s.psn_no }
        : { type: 'institution' as const, id: o.payee ?? s.fixmedins_code };
    const time = o.time ?? (s.setl_mode === 'manual' ? `${period}-28T10:00:00+08:00` : ON_TIME);
    const key = `${insurer}|${payee.type}|${payee.id}|${time}`;
    const p = lines.get(key) ?? { insurer, payee, time, lines: [] };
    p.lines.push({
      setl_id: s.setl_id,
      paid_amount: amount,
      ...(o.rejected ? { rejected_amount: o.rejected, reject_reason_code: 'R02' as const } : {}),
    });
    lines.set(key, p);
  };

  // The ordinary month: paid on time and in full, declared, benefit amounts by the rule.
  for (let i = 0; i < size; i++) {
    const s = record(`DS${String(i).padStart(4, '0')}`, {
      fixmedins: DEMO_INSTITUTIONS[i % 3]!,
      insurer: DEMO_INSURERS[i % 2]!,
      base: 5000 + ((i * 7919) % 60) * 500,
      day: 1 + (i % 27),
      mode: i % 10 === 9 ? 'manual' : 'direct',
    });
    if (i % 17 === 3) {
      pay(s, Money.of(s.hifob_pay).times('0.5').toFen().toString());
      pay(s, Money.of(s.hifob_pay).minus(Money.of(s.hifob_pay).times('0.5').toFen()).toString(), { time: SECOND });
    } else if (i % 13 === 5) {
      const r = Money.of('300.00');
      pay(s, Money.of(s.hifob_pay).minus(r).toString(), { rejected: r.toString() });
    } else pay(s, s.hifob_pay as string);
    if (i % 29 === 7)
      recoveries.push({
        insurer_code: s.insurer_code,
        recovery_id: `RC${s.setl_id}`,
        setl_id: s.setl_id,
        amount: '200.00',
        reason_code: 'R04',
        recovered_at: `${after}-01T10:00:00+08:00`,
      });
  }

  // Planted cases, one per code (spec §4).
  const A = DEMO_INSTITUTIONS[0],
    B = DEMO_INSTITUTIONS[1];
  record('X-OVERDUE', { fixmedins: A, insurer: 'PICC_DH', base: 30000, day: 5 }); // PAYMENT_OVERDUE: never paid
  pay(record('X-LATE', { fixmedins: A, insurer: 'PICC_DH', base: 20000, day: 6 }), '18000.00', { time: LATE }); // PAID_LATE
  pay(record('X-UNDER', { fixmedins: A, insurer: 'CPIC_DH', base: 40000, day: 7 }), '30000.00'); // UNDERPAID (36000 owed)
  pay(record('X-OVER', { fixmedins: B, insurer: 'PICC_DH', base: 10000, day: 8 }), '9500.00'); // OVERPAID (9000 owed)
  const dup = record('X-DUP', { fixmedins: B, insurer: 'CPIC_DH', base: 10000, day: 9 });
  pay(dup, '9000.00');
  pay(dup, '9000.00', { time: SECOND }); // DUPLICATE_PAYMENT
  pay({ ...dup, setl_id: 'X-NEVER-RECORDED' }, '4500.00'); // UNKNOWN_SETTLEMENT
  const rev = record('X-REVERSED', { fixmedins: B, insurer: 'PICC_DH', base: 10000, day: 10 });
  pay(rev, '9000.00');
  reversals.push({ ...rev, status: 'reversed' });
  undeclared.add(rev.setl_id); // REVERSED_SETTLEMENT_PAID
  pay(record('X-PAYEE', { fixmedins: A, insurer: 'PICC_DH', base: 10000, day: 11 }), '9000.00', { payee: B }); // PAYEE_MISMATCH
  const ins = record('X-INSURER', { fixmedins: A, insurer: 'PICC_DH', base: 10000, day: 12 });
  pay(ins, '9000.00', { insurer: 'CPIC_DH' });
  pay(ins, '9000.00'); // INSURER_MISMATCH
  extraItems.set(`${A}|PICC_DH`, [{ setl_id: 'X-DECLARED-ONLY', hifob: '7200.00' }]); // DECLARED_NOT_RECORDED
  const mism = record('X-DECL-AMOUNT', { fixmedins: A, insurer: 'PICC_DH', base: 10000, day: 13 });
  pay(mism, '9000.00');
  declaredOverride.set(mism.setl_id, '9000.01'); // DECLARED_AMOUNT_MISMATCH (one fen)
  const und = record('X-UNDECLARED', { fixmedins: B, insurer: 'PICC_DH', base: 10000, day: 14 });
  pay(und, '9000.00');
  undeclared.add(und.setl_id); // RECORDED_NOT_DECLARED
  pay(record('X-NO-BATCH', { fixmedins: DEMO_INSTITUTIONS[3], insurer: 'PICC_DH', base: 10000, day: 15 }), '9000.00'); // DECLARATION_MISSING (no batch)
  pay(record('X-BENEFIT', { fixmedins: A, insurer: 'CPIC_DH', base: 50000, day: 16, hifob: '47500.00' }), '47500.00'); // BENEFIT_RULE_DEVIATION (95% instead of 90%)
  const over = record('X-OVER-REIMB', { fixmedins: A, insurer: 'CPIC_DH', base: 10000, day: 17, oth: '30000.00' }); // OVER_REIMBURSEMENT
  pay(over, '9000.00');
  const dd = record('X-DUP-DIRECT', {
    fixmedins: B,
    insurer: 'CPIC_DH',
    base: 10000,
    day: 18,
    mdtrt: 'MD-DUP-REIMB',
    psn: 'P-DUP',
  });
  pay(dd, '9000.00');
  pay(
    record('X-DUP-MANUAL', {
      fixmedins: B,
      insurer: 'CPIC_DH',
      base: 10000,
      day: 19,
      mode: 'manual',
      mdtrt: 'MD-DUP-REIMB',
      psn: 'P-DUP',
    }),
    '9000.00',
  ); // DUPLICATE_REIMBURSEMENT
  // ANNUAL_CAP_EXCEEDED: an Ulanqab person whose recorded large-expense payout passes 120,000 (80% above the basic maximum).
  for (const [k, day] of [
    [1, 3],
    [2, 20],
  ] as const) {
    pay(
      record(`X-CAP-${k}`, {
        fixmedins: 'H15090200001',
        insurer: 'PICC_DH',
        base: 100000,
        day,
        admdvs: '150902',
        psn: 'P-ULANQAB-CAP',
        seg: 'above_cap',
        ratio: '0.80',
      }),
      '80000.00',
    );
  }

  const messages: DemoMessage[] = [];
  for (let i = 0; i < settlements.length; i += 500)
    messages.push({
      path: '/v1/agency/settlements',
      as: 'agency',
      body: { settlements: settlements.slice(i, i + 500) },
    });
  const byInst = new Map<string, Settlement[]>();
  for (const s of settlements) {
    if (s.setl_mode !== 'direct' || undeclared.has(s.setl_id) || !INST_ROLE[s.fixmedins_code]) continue;
    const k = `${s.fixmedins_code}|${s.insurer_code}`;
    byInst.set(k, [...(byInst.get(k) ?? []), s]);
  }
  for (const [k, list] of byInst) {
    const [fixmedins, insurer] = k.split('|') as [string, string];
    const items = list.map((s) => ({
      setl_id: s.setl_id,
      mdtrt_id: s.mdtrt_id,
      psn_no: s.psn_no,
      setl_time: s.setl_time,
      medfee_sumamt: s.medfee_sumamt as string,
      hifob_pay: declaredOverride.get(s.setl_id) ?? (s.hifob_pay as string),
    }));
    for (const e of extraItems.get(k) ?? [])
      items.push({
        setl_id: e.setl_id,
        mdtrt_id: `MD${e.setl_id}`,
        psn_no: `P${e.setl_id}`,
        setl_time: `${period}-20 10:00:00`,
        medfee_sumamt: '210000.00',
        hifob_pay: e.hifob,
      });
    const batch: SettlementBatch = {
      batch_id: `BT${fixmedins.slice(-5)}${insurer.slice(0, 4)}${period.replace('-', '')}`,
      fixmedins_code: fixmedins,
      insurer_code: insurer,
      period,
      setl_cnt: items.length,
      medfee_sumamt: Money.sum(items.map((x) => Money.of(x.medfee_sumamt))).toString(),
      hifob_pay_sumamt: Money.sum(items.map((x) => Money.of(x.hifob_pay))).toString(),
      items,
    };
    messages.push({ path: '/v1/settlement-batches', as: INST_ROLE[fixmedins]!, body: batch });
  }
  let n = 0;
  for (const p of lines.values()) {
    const body: InsurerPayment = {
      insurer_code: p.insurer,
      payment_id: `PAY-${period}-${String(++n).padStart(4, '0')}`,
      payee_type: p.payee.type,
      payee_id: p.payee.id,
      pay_time: p.time,
      bank_txn_no: `BK${period.replace('-', '')}${String(n).padStart(6, '0')}`,
      pay_amount: Money.sum(p.lines.map((l) => Money.of(l.paid_amount))).toString(),
      lines: p.lines as InsurerPayment['lines'],
    };
    messages.push({ path: '/v1/insurer-payments', as: INSURER_ROLE[p.insurer]!, body });
  }
  if (reversals.length)
    messages.push({ path: '/v1/agency/settlements', as: 'agency', body: { settlements: reversals } });
  for (const r of recoveries) messages.push({ path: '/v1/recoveries', as: INSURER_ROLE[r.insurer_code]!, body: r });
  // PLAN_VARIANCE and DISBURSEMENT_MISMATCH: plans that do not match what was paid and disbursed in the period.
  const plan: SpendingPlan = { insurer_code: 'PICC_DH', period, revision: 1, planned_amount: '500000.00' };
  const disb: Disbursement = {
    disbursement_id: `DB-PICC-${period}`,
    insurer_code: 'PICC_DH',
    period,
    amount: '450000.00',
    disbursed_at: `${next}-05T09:00:00+08:00`,
  };
  messages.push(
    { path: '/v1/spending-plans', as: 'insurerA', body: plan },
    { path: '/v1/agency/disbursements', as: 'agency', body: disb },
  );
  return {
    period,
    messages,
    planted: [
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
    ],
  };
}
