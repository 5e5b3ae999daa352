/**
 * Benefit engine throughput: settlements/second on one core for a generated benefit year of many
 * persons (target ≥ 300,000/s). Run: `npx tsx bench/benefit-engine.ts [persons] [seconds]`.
 * Bounded: a fixed number of timed passes, or until the time budget is spent, whichever is first.
 */
import { join } from 'node:path';
import { annualCapFinding, benefitDeviation, evaluatePersonYear, loadRegionPolicies } from '../src/benefits';
import type { BenefitSettlementInput, RegionPolicy } from '../src/benefits';
import { cstInstant } from '../src/time';

const PERSONS = Number(process.argv[2] ?? 20_000);
const BUDGET_MS = Number(process.argv[3] ?? 10) * 1000;
const MAX_PASSES = 20;

/** Deterministic PRNG (mulberry32), so every run measures the same year. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A wire amount from a whole number of fen (integer arithmetic only, as the platform sends it). */
function yuan(fen: number): string {
  const f = String(fen).padStart(3, '0');
  return `${f.slice(0, -2)}.${f.slice(-2)}`;
}

interface Person {
  policy: RegionPolicy;
  settlements: BenefitSettlementInput[];
}

function generate(policies: RegionPolicy[]): { persons: Person[]; count: number } {
  const rand = rng(20240101);
  const persons: Person[] = [];
  let count = 0;
  for (let p = 0; p < PERSONS; p++) {
    const policy = policies[p % policies.length]!;
    const n = 1 + Math.floor(rand() * 19); // 1–19 settlements a year, mean 10
    const settlements: BenefitSettlementInput[] = [];
    for (let i = 0; i < n; i++) {
      const month = 1 + Math.floor(rand() * 12);
      const day = 1 + Math.floor(rand() * 28);
      const setldetail = [
        {
          fund_pay_type: '310100',
          inscp_scp_amt: yuan(Math.floor(rand() * 5_000_000)),
          fund_payamt: yuan(Math.floor(rand() * 3_000_000)),
        },
        {
          fund_pay_type: '330100',
          inscp_scp_amt: yuan(Math.floor(rand() * 3_000_000)),
          fund_payamt: '0',
          seg: policy.id.startsWith('ulanqab') && rand() < 0.3 ? 'band_selfpay' : undefined,
        },
      ];
      settlements.push({
        setl_id: `${p}-${i}`,
        setl_time: cstInstant(`2024-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`, 9 + (i % 8)),
        status: rand() < 0.02 ? 'reversed' : 'valid',
        mdtrtarea_admvs: rand() < 0.2 ? '530102' : `${policy.admdvs_prefixes[0]}02`,
        referral: rand() < 0.5,
        setldetail: rand() < 0.05 ? [setldetail[0]!] : setldetail,
        hifob_pay: yuan(Math.floor(rand() * 2_000_000)),
      });
    }
    count += n;
    // Most recorded amounts follow the rules (as on a real feed); 5% deviate and become findings.
    const year = evaluatePersonYear(policy, 2024, settlements);
    const expected = new Map(year.settlements.map((r) => [r.setl_id, r.expected.toString()]));
    for (const s of settlements) if (rand() >= 0.05) s.hifob_pay = expected.get(s.setl_id) ?? s.hifob_pay;
    persons.push({ policy, settlements });
  }
  return { persons, count };
}

function pass(persons: Person[]): number {
  let findings = 0;
  for (const { policy, settlements } of persons) {
    const year = evaluatePersonYear(policy, 2024, settlements);
    for (const r of year.settlements) if (benefitDeviation(policy, r)) findings++;
    if (annualCapFinding(policy, year)) findings++;
  }
  return findings;
}

function main(): void {
  const all = loadRegionPolicies(join(__dirname, '..', 'regions'));
  const policies = all.all.filter((p) => p.benefits !== null);
  const { persons, count } = generate(policies);
  console.log(`generated ${PERSONS} persons, ${count} settlements (${policies.map((p) => p.id).join(', ')})`);
  pass(persons); // warm-up: let V8 optimise before timing
  const rates: number[] = [];
  const started = performance.now();
  let findings = 0;
  for (let i = 0; i < MAX_PASSES && performance.now() - started < BUDGET_MS; i++) {
    const t0 = performance.now();
    findings = pass(persons);
    const ms = performance.now() - t0;
    rates.push(count / (ms / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`passes ${rates.length}; findings per pass ${findings}`);
  console.log(
    `settlements/second (one core): median ${fmt(median)}, best ${fmt(rates[rates.length - 1]!)}, worst ${fmt(rates[0]!)}`,
  );
  console.log(median >= 300_000 ? 'target ≥ 300,000/s: met' : 'target ≥ 300,000/s: NOT met');
}

main();
