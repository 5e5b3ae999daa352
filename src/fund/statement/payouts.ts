/**
 * Compliant and non-compliant payouts, settlement by settlement (spec §8), from the SAME rules that
 * matching and the benefit audit run — no second version of them:
 * - net paid to the right payee by the owing insurer: the loop's `netPaidOf` (matching/rules, what `computeLoop` uses);
 * - the later half of a duplicate reimbursement: `reimbursedBefore` (the DUPLICATE_REIMBURSEMENT rule);
 * - what the benefit rules and the yearly cap allow: the engine (`evaluatePersonYear`) over the
 *   person's whole benefit year, and `benefitDeviation` with the region's tolerance (a settlement the
 *   audit does not flag is allowed its hifob_pay in full; one it flags, the rules' amount).
 * Where a region has a yearly payout limit (ANNUAL_CAP_EXCEEDED's threshold), a person's allowed
 * amounts over the year never pass it, in the engine's order (setl_time, then setl_id), so a
 * settlement the rules cannot check (no large-expense entry) does not lift the cap either.
 */
import {
  benefitDeviation,
  benefitYearOf,
  evaluatePersonYear,
  type RegionPolicy,
  type SettlementBenefit,
} from '../../benefits';
import {
  netPaidOf,
  reimbursedBefore,
  type PaymentLineFact,
  type RecoveryFact,
  type SettlementFact,
} from '../../matching/rules';
import { Money } from '../../money';
import type { SettlementPayout, StatementInput, StatementSettlement } from './statement-types';

/** What the payouts of settlements need: the settlements (each person's whole benefit year) and their facts, the clocks and rules. */
export type PayoutInput = Pick<
  StatementInput,
  'admdvs' | 'window' | 'asOf' | 'policyFor' | 'loop' | 'settlements' | 'siblings' | 'lines' | 'recoveries'
>;

/** Whether a settlement is one of the statement's year and region. */
export function inYear(input: Pick<StatementInput, 'admdvs' | 'window'>, s: SettlementFact): boolean {
  const t = s.setl_time.getTime();
  return s.insuplc_admdvs.startsWith(input.admdvs) && t >= input.window.from.getTime() && t < input.window.to.getTime();
}

/** The allowance of every valid settlement the benefit engine evaluates, by setl_id. */
function benefitAllowances(input: PayoutInput): Map<string, { allowed: Money; why: SettlementPayout['why_limited'] }> {
  // Person-years per region policy: the engine needs each person's whole benefit year.
  const years = new Map<string, { policy: RegionPolicy; year: number; list: StatementSettlement[] }>();
  for (const s of input.settlements) {
    const policy = input.policyFor(s.insuplc_admdvs);
    if (!policy) continue;
    const year = benefitYearOf(policy, s.setl_time);
    const key = `${policy.id}\u0000${s.psn_no}\u0000${year}`;
    const y = years.get(key);
    if (y) y.list.push(s);
    else years.set(key, { policy, year, list: [s] });
  }
  const out = new Map<string, { allowed: Money; why: SettlementPayout['why_limited'] }>();
  for (const { policy, year, list } of years.values()) {
    const results = new Map<string, SettlementBenefit>();
    if (policy.benefits !== null) {
      const py = evaluatePersonYear(
        policy,
        year,
        list.map((s) => ({
          setl_id: s.setl_id,
          setl_time: s.setl_time,
          status: s.status,
          mdtrtarea_admvs: s.mdtrtarea_admvs,
          referral: s.referral,
          setldetail: s.setldetail,
          hifob_pay: s.hifob_pay,
        })),
      );
      for (const r of py.settlements) results.set(r.setl_id, r);
    }
    const limit = policy.benefits?.annual_payout_limit ?? null;
    let room = limit;
    const ordered = [...list].sort(
      (a, b) =>
        a.setl_time.getTime() - b.setl_time.getTime() || (a.setl_id < b.setl_id ? -1 : a.setl_id > b.setl_id ? 1 : 0),
    );
    for (const s of ordered) {
      if (s.status !== 'valid') continue;
      const r = results.get(s.setl_id);
      let allowed = s.hifob_pay;
      let why: SettlementPayout['why_limited'] = null;
      if (r && benefitDeviation(policy, r) !== undefined && r.expected.lt(allowed)) {
        allowed = r.expected;
        why = 'benefit_rules';
      }
      if (room !== null) {
        if (allowed.gt(room)) {
          allowed = room;
          why = 'yearly_cap';
        }
        room = room.minus(allowed);
      }
      out.set(s.setl_id, { allowed, why });
    }
  }
  return out;
}

/** What a settlement allows (spec §8): nothing when reversed or a duplicate reimbursement, else the rules' amount within the yearly cap. */
export interface SettlementAllowance {
  allowed: Money;
  why: SettlementPayout['why_limited'];
}

/**
 * What every settlement of the input allows — those of the statement's year and the others of their
 * persons' benefit years alike (the fund-year statement keeps them, ledger/allowance-store.ts, so
 * the next statement runs the rules again only for the persons whose facts changed). A duplicate is
 * judged among the input's settlements and siblings of its visit.
 */
export function settlementAllowances(input: PayoutInput): Map<string, SettlementAllowance> {
  const allowances = benefitAllowances(input);
  const byMdtrt = new Map<string, SettlementFact[]>();
  const group = (s: SettlementFact) => {
    const a = byMdtrt.get(s.mdtrt_id);
    if (a) a.push(s);
    else byMdtrt.set(s.mdtrt_id, [s]);
  };
  for (const s of input.settlements) group(s);
  for (const s of input.siblings) group(s);
  const out = new Map<string, SettlementAllowance>();
  for (const s of input.settlements) {
    if (s.status === 'reversed') out.set(s.setl_id, { allowed: Money.ZERO, why: 'reversed' });
    else if (reimbursedBefore(s, byMdtrt.get(s.mdtrt_id) ?? []).length > 0)
      out.set(s.setl_id, { allowed: Money.ZERO, why: 'duplicate_reimbursement' });
    else out.set(s.setl_id, allowances.get(s.setl_id) ?? { allowed: s.hifob_pay, why: null });
  }
  return out;
}

/**
 * Each settlement of the year owed by an insurer, with what it allows and what its insurer paid for
 * it compliantly. Also what every insurer paid for the year's settlements in all (any payee, gross
 * of nothing but its own recoveries), so that non-compliant = paid − compliant covers payments to the
 * wrong payee and for settlements another insurer owes.
 */
export function settlementPayouts(
  input: PayoutInput,
  allowances: ReadonlyMap<string, SettlementAllowance> = settlementAllowances(input),
): {
  payouts: SettlementPayout[];
  paidBy: Map<string, Money>;
  recoveredBy: Map<string, Money>;
} {
  const year = input.settlements.filter((s) => inYear(input, s));
  const ids = new Set(year.map((s) => s.setl_id));
  const group = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };
  const linesOf = new Map<string, PaymentLineFact[]>();
  for (const l of input.lines) if (ids.has(l.setl_id)) group(linesOf, l.setl_id, l);
  const recoveriesOf = new Map<string, RecoveryFact[]>();
  for (const r of input.recoveries) if (ids.has(r.setl_id)) group(recoveriesOf, r.setl_id, r);

  const paidBy = new Map<string, Money>();
  const recoveredBy = new Map<string, Money>();
  const add = (m: Map<string, Money>, k: string, v: Money) => m.set(k, (m.get(k) ?? Money.ZERO).plus(v));
  for (const id of ids) {
    for (const l of linesOf.get(id) ?? []) add(paidBy, l.insurer_code, l.paid_amount);
    for (const r of recoveriesOf.get(id) ?? []) {
      add(paidBy, r.insurer_code, r.amount.neg());
      add(recoveredBy, r.insurer_code, r.amount);
    }
  }

  const payouts: SettlementPayout[] = [];
  for (const s of year) {
    const netPaidRaw = netPaidOf(s, linesOf.get(s.setl_id) ?? [], recoveriesOf.get(s.setl_id) ?? []);
    const { allowed, why } = allowances.get(s.setl_id)!;
    const netPaid = Money.max(netPaidRaw, Money.ZERO);
    payouts.push({
      setl_id: s.setl_id,
      insurer_code: s.insurer_code,
      allowed,
      net_paid: netPaid,
      compliant: Money.min(netPaid, allowed),
      why_limited: why,
    });
  }
  return { payouts, paidBy, recoveredBy };
}
