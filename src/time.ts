/**
 * China Standard Time (UTC+08:00, no daylight saving) helpers. The gateway never reads the clock
 * inside a rule: callers pass `asOf` (an Instant = a JS Date in UTC).
 */
const CST_OFFSET_MS = 8 * 3600 * 1000;

/** A calendar date in CST, `yyyy-MM-dd`. */
export type LocalDate = string;
/** A settlement period, `yyyy-MM`. */
export type Period = string;

const PLATFORM_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parse a wire time: ISO 8601 with an offset, or the platform's `yyyy-MM-dd HH:mm:ss` read as CST.
 * Returns undefined for anything else (including impossible dates such as 02-30).
 */
export function parseWireTime(s: string): Date | undefined {
  const m = PLATFORM_TIME.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
    const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!) - CST_OFFSET_MS;
    const t = new Date(ms);
    return cstParts(t).date === s.slice(0, 10) && Number(h) < 24 ? t : undefined;
  }
  if (!ISO_WITH_OFFSET.test(s)) return undefined;
  const t = new Date(s);
  if (Number.isNaN(t.getTime())) return undefined;
  // Reject dates that JS silently rolls over (2024-02-30 → March).
  const local = s.slice(0, 10);
  const off = s.endsWith('Z')
    ? 0
    : (s.slice(-6, -5) === '-' ? -1 : 1) * (Number(s.slice(-5, -3)) * 60 + Number(s.slice(-2)));
  const wall = new Date(t.getTime() + off * 60000).toISOString().slice(0, 10);
  return wall === local ? t : undefined;
}

/** CST calendar parts of an instant. */
export function cstParts(t: Date): { date: LocalDate; period: Period; year: number; month: number; day: number } {
  const s = new Date(t.getTime() + CST_OFFSET_MS).toISOString();
  return {
    date: s.slice(0, 10),
    period: s.slice(0, 7),
    year: Number(s.slice(0, 4)),
    month: Number(s.slice(5, 7)),
    day: Number(s.slice(8, 10)),
  };
}

/** The settlement period (`yyyy-MM`, CST) an instant falls in. */
export function periodOf(t: Date): Period {
  return cstParts(t).period;
}

/** ISO 8601 text of an instant in CST, e.g. `2024-05-03T10:15:00+08:00` (how the gateway answers). */
export function toCstIso(t: Date): string {
  const s = new Date(t.getTime() + CST_OFFSET_MS).toISOString();
  return `${s.slice(0, 19)}+08:00`;
}

/** The instant a CST wall-clock moment denotes (`date` `yyyy-MM-dd`, optional time parts). */
export function cstInstant(date: LocalDate, h = 0, mi = 0, s = 0, ms = 0): Date {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - CST_OFFSET_MS);
}

/** First instant of a period in CST. */
export function periodStart(p: Period): Date {
  return cstInstant(`${p}-01`);
}

/** First instant after a period in CST (exclusive end). */
export function periodEnd(p: Period): Date {
  return periodStart(addMonths(p, 1));
}

export function addMonths(p: Period, n: number): Period {
  const [y, m] = p.split('-').map(Number) as [number, number];
  const idx = y * 12 + (m - 1) + n;
  return `${String(Math.floor(idx / 12)).padStart(4, '0')}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

/** Add whole days to a local date. */
export function addDays(d: LocalDate, n: number): LocalDate {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

/** Day of week of a local date, 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(d: LocalDate): number {
  return new Date(`${d}T00:00:00Z`).getUTCDay();
}

/** Last calendar day of a period. */
export function lastDayOf(p: Period): LocalDate {
  return addDays(`${addMonths(p, 1)}-01`, -1);
}

export function isPeriod(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}
