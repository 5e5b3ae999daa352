/**
 * Arrears by age (应支未支, spec §10) of a run's report: the outstanding amounts of the region-period,
 * summed in SQL by what decides a settlement's due date (ledger/owed-read-model.ts `arrearsByDueKey`:
 * region, mode and CST day of setl_time), are aged here with the due-date rules of src/deadlines —
 * the rule lives once, in TypeScript: the due date of each key (settlementDueDate, with the
 * parameters of the settlement's region, as matching judges it), then the working days past it as of
 * the run's as_of, bucketed by the bounds of the run's region (one report, one set of columns).
 * Pure: no database, no clock.
 */
import { ageOf, emptyAgeing, settlementDueDate, type Ageing, type LoopParams, type WorkCalendar } from '../deadlines';
import { Money } from '../money';
import { cstInstant, type LocalDate } from '../time';

/** Outstanding of the settlements sharing one due-date key (a row of arrearsByDueKey). */
export interface ArrearsRow {
  fixmedins_code: string;
  insurer_code: string;
  admdvs: string;
  setl_mode: 'direct' | 'manual';
  setl_day: LocalDate;
  outstanding: string;
}

export interface AgeingRules {
  loopParamsFor(admdvs: string): LoopParams;
  calendar: WorkCalendar;
}

export interface ArrearsAgeing {
  institutions: Map<string, Ageing>;
  insurers: Map<string, Ageing>;
}

/** The rows' outstanding per institution and per insurer, in buckets as of `asOf`. */
export function ageArrears(
  rows: readonly ArrearsRow[],
  asOf: Date,
  bounds: LoopParams['ageing_buckets'],
  rules: AgeingRules,
): ArrearsAgeing {
  const out: ArrearsAgeing = { institutions: new Map(), insurers: new Map() };
  const buckets = new Map<string, ReturnType<typeof ageOf>>();
  for (const r of rows) {
    const key = `${r.admdvs}|${r.setl_mode}|${r.setl_day}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      const due = settlementDueDate(
        { setl_mode: r.setl_mode, setl_time: cstInstant(r.setl_day) },
        rules.loopParamsFor(r.admdvs),
        rules.calendar,
      );
      bucket = ageOf(due.date, asOf, rules.calendar, bounds);
      buckets.set(key, bucket);
    }
    const amount = Money.of(r.outstanding);
    for (const [map, code] of [
      [out.institutions, r.fixmedins_code],
      [out.insurers, r.insurer_code],
    ] as const) {
      const a = map.get(code) ?? emptyAgeing();
      a[bucket] = a[bucket].plus(amount);
      map.set(code, a);
    }
  }
  return out;
}
