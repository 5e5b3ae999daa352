import shippedCalendar from '../../calendar/cn-workdays.json';
import { addDays, dayOfWeek, type LocalDate } from '../time';

/**
 * The working-day calendar (DOMAIN "Money, time and people"): State Council public holidays and the
 * weekend days that become working days (调休). Kept as data in `calendar/cn-workdays.json`, one entry
 * per year; a year marked `verified: false` was transcribed but not yet checked against its notice.
 *
 * A date in a year the data does not cover is judged by weekday alone (Mon–Fri work, Sat–Sun off);
 * callers that care (e.g. a due date far in the future) ask `covers(year)`.
 */
export interface WorkdayYear {
  verified: boolean;
  holidays: LocalDate[];
  workdays: LocalDate[];
}

export interface WorkdayData {
  about?: string;
  years: Record<string, WorkdayYear>;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class WorkCalendar {
  private readonly holidays: ReadonlySet<LocalDate>;
  private readonly workdays: ReadonlySet<LocalDate>;
  private readonly years: ReadonlyMap<number, { verified: boolean }>;

  private constructor(years: Map<number, { verified: boolean }>, holidays: Set<LocalDate>, workdays: Set<LocalDate>) {
    this.years = years;
    this.holidays = holidays;
    this.workdays = workdays;
  }

  /**
   * Builds a calendar from the JSON shape of `calendar/cn-workdays.json`, rejecting data that would
   * silently give wrong deadlines: malformed or impossible dates, a date filed under another year, a
   * date both holiday and working day, or an "adjusted working day" that is not a weekend day.
   */
  static fromData(data: unknown): WorkCalendar {
    if (!isRecord(data) || !isRecord(data.years)) throw new TypeError('calendar data: `years` object expected');
    const years = new Map<number, { verified: boolean }>();
    const holidays = new Set<LocalDate>();
    const workdays = new Set<LocalDate>();
    for (const [key, entry] of Object.entries(data.years)) {
      if (!/^\d{4}$/.test(key)) throw new TypeError(`calendar data: year key "${key}" is not yyyy`);
      if (!isRecord(entry) || typeof entry.verified !== 'boolean') {
        throw new TypeError(`calendar data: year ${key} needs a boolean \`verified\``);
      }
      const year = Number(key);
      for (const d of dateList(entry.holidays, key, 'holidays')) holidays.add(d);
      for (const d of dateList(entry.workdays, key, 'workdays')) {
        const dow = dayOfWeek(d);
        if (dow !== 0 && dow !== 6)
          throw new TypeError(`calendar data: adjusted working day ${d} is not a weekend day`);
        if (holidays.has(d)) throw new TypeError(`calendar data: ${d} is both a holiday and a working day`);
        workdays.add(d);
      }
      years.set(year, { verified: entry.verified });
    }
    return new WorkCalendar(years, holidays, workdays);
  }

  /** True when the data lists this year's holidays; otherwise its dates are judged by weekday only. */
  covers(year: number): boolean {
    return this.years.has(year);
  }

  /** True when the year is covered and its data was checked against the State Council notice. */
  isVerified(year: number): boolean {
    return this.years.get(year)?.verified === true;
  }

  coveredYears(): number[] {
    return [...this.years.keys()].sort((a, b) => a - b);
  }

  isWorkingDay(d: LocalDate): boolean {
    assertDate(d);
    if (this.holidays.has(d)) return false;
    if (this.workdays.has(d)) return true;
    const dow = dayOfWeek(d);
    return dow !== 0 && dow !== 6;
  }

  /**
   * The n-th working day after `d` (n > 0: the day after `d` is the first one counted, whether or not
   * `d` itself is a working day); n < 0 counts backwards the same way; n = 0 returns `d` unchanged.
   */
  addWorkingDays(d: LocalDate, n: number): LocalDate {
    assertDate(d);
    if (!Number.isSafeInteger(n)) throw new RangeError(`working-day count must be an integer: ${n}`);
    const step = n < 0 ? -1 : 1;
    let left = Math.abs(n);
    let cur = d;
    while (left > 0) {
      cur = addDays(cur, step);
      if (this.isWorkingDay(cur)) left -= 1;
    }
    return cur;
  }

  /** Years between two dates (inclusive) that the data does not cover: dates in them were judged by weekday. */
  uncoveredYearsBetween(from: LocalDate, to: LocalDate): number[] {
    const a = Number(from.slice(0, 4));
    const b = Number(to.slice(0, 4));
    const out: number[] = [];
    for (let y = Math.min(a, b); y <= Math.max(a, b); y += 1) if (!this.covers(y)) out.push(y);
    return out;
  }
}

let shipped: WorkCalendar | undefined;

/** The project's own calendar (`calendar/cn-workdays.json`), built once. */
export function loadWorkCalendar(): WorkCalendar {
  shipped ??= WorkCalendar.fromData(shippedCalendar);
  return shipped;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dateList(v: unknown, year: string, field: string): LocalDate[] {
  if (!Array.isArray(v)) throw new TypeError(`calendar data: year ${year} needs a \`${field}\` array`);
  return v.map((d) => {
    if (typeof d !== 'string' || !isValidDate(d))
      throw new TypeError(`calendar data: ${field} entry ${String(d)} is not a date`);
    if (!d.startsWith(`${year}-`)) throw new TypeError(`calendar data: ${d} is filed under year ${year}`);
    return d;
  });
}

function isValidDate(d: string): boolean {
  if (!DATE.test(d)) return false;
  const t = new Date(`${d}T00:00:00Z`);
  // JS rolls impossible dates over (02-30 → 03-01) or gives an invalid time (month 13): both rejected.
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
}

function assertDate(d: LocalDate): void {
  if (!isValidDate(d)) throw new RangeError(`not a date (yyyy-MM-dd): ${d}`);
}
