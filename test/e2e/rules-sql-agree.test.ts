/**
 * A rule lives once (STYLE.md): the loop arithmetic is computeLoop (src/matching/rules), and the
 * reconciliation report restates it in SQL for speed (src/ledger/owed-read-model.ts, under
 * src/ledger/report-read-model.ts). On generated months received over a few weeks — some of their
 * messages not yet applied by matching — both run on the same rows of a real PostgreSQL database and
 * every figure is compared to the fen, for clocks drawn before, between and after the payments,
 * recoveries and reversals:
 *  - per owed settlement: owed, paid, rejected, recovered, outstanding — computeLoop of the facts known
 *    at known_at whose events happened by as_of (spec §5), against the SQL's per-settlement figures;
 *  - per institution: the sums of those against the report's rows, computed from the facts, from the
 *    loop rows, and the way a run chooses;
 *  - arrears by age (spec §10): each settlement's outstanding in the bucket of computeLoop's due date,
 *    per institution, against the report's arrears (summed in SQL by due-date key, aged by
 *    reconciliation/arrears-ageing.ts), the three ways again; the buckets add up to the outstanding.
 */
import fc from 'fast-check';
import { unmatchedMessageIds } from '../../src/ingest/message-store';
import { loadLines, loadRecoveries, loadSettlements } from '../../src/ledger/fact-loader';
import { owedSettlements, type OwedQuery } from '../../src/ledger/owed-read-model';
import {
  institutionFigures,
  institutionFiguresAndArrears,
  type InstitutionFigures,
} from '../../src/ledger/report-read-model';
import { ageOf, ageingView, emptyAgeing, type Ageing } from '../../src/deadlines';
import { ageArrears, type ArrearsRow } from '../../src/reconciliation/arrears-ageing';
import { computeLoop, type SettlementFact } from '../../src/matching/rules';
import { Money } from '../../src/money';
import { generateMonth } from '../support/month-generator';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { postAccepted, postAndApply, truncateLedger } from './matching-support';

const START = Date.parse('2025-04-02T10:00:00+08:00');
const DAY = 86_400_000;
/** as_of instants are drawn from here on, in half days: before the first payment, past the last recovery. */
const AS_OF_FROM = Date.parse('2025-03-20T00:00:00+08:00');

let clock = START;
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('rules_sql_agree', { workers: false, now: () => clock });
});
afterAll(async () => {
  await t?.close();
});

interface Figures {
  setl_id: string;
  fixmedins_code: string;
  setl_mode: string;
  owed: string;
  paid: string;
  rejected: string;
  recovered: string;
  outstanding: string;
}

/** Per institution: the outstanding of each owed settlement in the bucket of its own due date (computeLoop's). */
let ruleAgeing: Map<string, Ageing> = new Map();

const fen = (v: string | Money): string => (typeof v === 'string' ? Money.of(v) : v).toString();

/** The pure side: computeLoop over the facts known at known_at whose events happened by as_of. */
async function byRule(o: OwedQuery): Promise<Figures[]> {
  const { rows } = await t.gw.db.query<{
    setl_id: string;
    status: 'valid' | 'reversed';
    received_at: Date;
    hifob_pay: string;
  }>(
    `SELECT setl_id, status, received_at, hifob_pay::text FROM settlement_records WHERE insuplc_admdvs LIKE $1 AND period = $2`,
    [`${o.admdvs}%`, o.period],
  );
  const ids = [...new Set(rows.map((r) => r.setl_id))].sort();
  const latest = await loadSettlements(t.gw.db, ids);
  const known = (at: Date) => at.getTime() <= o.knownAt.getTime();
  const happened = (at: Date) => at.getTime() <= o.asOf.getTime();
  const lines = (await loadLines(t.gw.db, ids)).filter((l) => known(l.received_at) && happened(l.pay_time));
  const recoveries = (await loadRecoveries(t.gw.db, ids)).filter(
    (r) => known(r.received_at) && happened(r.recovered_at),
  );
  const out: Figures[] = [];
  ruleAgeing = new Map();
  for (const id of ids) {
    const valid = rows.find((r) => r.setl_id === id && r.status === 'valid' && known(r.received_at));
    if (!valid) continue; // not yet recorded at known_at (or only its reversal is)
    const reversed = rows.some((r) => r.setl_id === id && r.status === 'reversed' && known(r.received_at));
    const s: SettlementFact = {
      ...latest.get(id)!,
      status: reversed ? 'reversed' : 'valid',
      hifob_pay: Money.of(valid.hifob_pay),
      received_at: valid.received_at,
    };
    const { state } = computeLoop(
      s,
      lines.filter((l) => l.setl_id === id),
      recoveries.filter((r) => r.setl_id === id),
      { asOf: o.asOf, params: t.gw.regions.loopParamsFor(s.insuplc_admdvs), calendar: t.gw.calendar },
    );
    if (!state.owed.isPositive()) continue; // reversed or nothing owed: not in the report's owed figures
    if (state.outstanding.isPositive()) {
      const a = ruleAgeing.get(s.fixmedins_code) ?? emptyAgeing();
      const bucket = ageOf(state.due_date, o.asOf, t.gw.calendar, t.gw.regions.loopParamsFor('5331').ageing_buckets);
      a[bucket] = a[bucket].plus(state.outstanding);
      ruleAgeing.set(s.fixmedins_code, a);
    }
    out.push({
      setl_id: id,
      fixmedins_code: s.fixmedins_code,
      setl_mode: s.setl_mode,
      owed: fen(state.owed),
      paid: fen(state.paid),
      rejected: fen(state.rejected),
      recovered: fen(state.recovered),
      outstanding: fen(state.outstanding),
    });
  }
  return out;
}

/** The institution part of the report (recorded_* and the loop sums) that the per-settlement figures add up to. */
function institutionSums(figures: Figures[]): Record<string, Record<string, string | number>> {
  const out: Record<string, Record<string, string | number>> = {};
  for (const f of figures) {
    const r = (out[f.fixmedins_code] ??= {
      recorded_cnt: 0,
      recorded_hifob: '0.00',
      recorded_direct_cnt: 0,
      recorded_direct_hifob: '0.00',
      paid: '0.00',
      rejected: '0.00',
      recovered: '0.00',
      outstanding: '0.00',
    });
    const add = (k: string, v: string) => {
      r[k] = Money.of(r[k] as string)
        .plus(Money.of(v))
        .toString();
    };
    r.recorded_cnt = (r.recorded_cnt as number) + 1;
    add('recorded_hifob', f.owed);
    if (f.setl_mode === 'direct') {
      r.recorded_direct_cnt = (r.recorded_direct_cnt as number) + 1;
      add('recorded_direct_hifob', f.owed);
    }
    for (const k of ['paid', 'rejected', 'recovered', 'outstanding'] as const) add(k, f[k]);
  }
  return out;
}

function recordedPart(rows: InstitutionFigures[]): Record<string, Record<string, string | number>> {
  const out: Record<string, Record<string, string | number>> = {};
  for (const r of rows) {
    if (r.recorded_cnt === 0) continue; // declared only: no owed settlement
    out[r.fixmedins_code] = {
      recorded_cnt: r.recorded_cnt,
      recorded_hifob: fen(r.recorded_hifob),
      recorded_direct_cnt: r.recorded_direct_cnt,
      recorded_direct_hifob: fen(r.recorded_direct_hifob),
      paid: fen(r.paid),
      rejected: fen(r.rejected),
      recovered: fen(r.recovered),
      outstanding: fen(r.outstanding),
    };
  }
  return out;
}

const month = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  size: fc.integer({ min: 6, max: 30 }),
  /** The month's messages are received over this many days from START. */
  spanDays: fc.integer({ min: 1, max: 70 }),
  /** The last few messages are stored but not applied by matching (their facts are UNSETTLED). */
  unapplied: fc.integer({ min: 0, max: 3 }),
  /** (known_at in days from START, as_of in half days from AS_OF_FROM) */
  clocks: fc.array(fc.tuple(fc.integer({ min: 0, max: 75 }), fc.integer({ min: 0, max: 220 })), {
    minLength: 2,
    maxLength: 4,
  }),
});

test('computeLoop and the report SQL agree to the fen on generated months', async () => {
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(month, async (m) => {
      await truncateLedger(t.gw.db);
      const messages = generateMonth(m.seed, m.size);
      const applied = messages.length - m.unapplied;
      for (let i = 0; i < messages.length; i++) {
        clock = START + Math.floor((i * m.spanDays * DAY) / messages.length);
        if (i < applied) await postAndApply(t, messages, [i]);
        else await postAccepted(t, messages[i]!);
      }
      const unmatched = await unmatchedMessageIds(t.gw.db);
      expect(unmatched).toHaveLength(m.unapplied);
      // Every fact known and every event past: the whole month; then the drawn clocks.
      for (const [k, a] of [[m.spanDays + 1, 220], ...m.clocks] as const) {
        const o: OwedQuery = {
          admdvs: '5331',
          period: '2025-03',
          knownAt: new Date(START + k * DAY),
          asOf: new Date(AS_OF_FROM + (a * DAY) / 2),
        };
        const rule = await byRule(o);
        const sql = (await owedSettlements(t.gw.db, o)).map((r) => ({
          ...r,
          owed: fen(r.owed),
          paid: fen(r.paid),
          rejected: fen(r.rejected),
          recovered: fen(r.recovered),
          outstanding: fen(r.outstanding),
        }));
        expect(sql).toEqual(rule);
        const sums = institutionSums(rule);
        for (const from of ['facts', 'loops', undefined] as const) {
          const rows = await t.gw.db.tx((q) => institutionFigures(q, o, unmatched, from));
          expect(recordedPart(rows)).toEqual(sums);
          const { institutions, arrears } = await t.gw.db.tx((q) =>
            institutionFiguresAndArrears(q, o, unmatched, from),
          );
          expect(recordedPart(institutions)).toEqual(sums);
          const aged = ageArrears(arrears as ArrearsRow[], o.asOf, t.gw.regions.loopParamsFor('5331').ageing_buckets, {
            loopParamsFor: (a) => t.gw.regions.loopParamsFor(a),
            calendar: t.gw.calendar,
          });
          const view = (m: Map<string, Ageing>) =>
            Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, ageingView(v)]));
          expect(view(aged.institutions)).toEqual(view(ruleAgeing));
          for (const [code, a] of aged.institutions)
            expect(Money.sum(Object.values(a)).toString()).toBe(sums[code]!.outstanding);
        }
        checked += rule.length;
      }
    }),
    { numRuns: Number(process.env.RULES_SQL_RUNS ?? 8), endOnFailure: true },
  );
  expect(checked).toBeGreaterThan(0);
});
