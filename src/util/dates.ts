/**
 * Date rules of the lake. Days are local days in a configured IANA zone; "+1 day" is calendar arithmetic
 * (23 h and 25 h days exist). Nothing here reads the host zone or the host clock directly: callers pass a zone
 * and a Clock.
 */
import { DateTime } from "luxon";
import { UsageError } from "../support/errors.js";

export const DEFAULT_ZONE = "America/Chicago";

/** Injectable clock: returns epoch milliseconds. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
/** A clock frozen at one instant (ISO text with offset, or epoch ms). */
export function fixedClock(at: string | number): Clock {
  const ms = typeof at === "number" ? at : DateTime.fromISO(at, { setZone: true }).toMillis();
  if (!Number.isFinite(ms)) throw new Error(`fixedClock: cannot parse ${String(at)}`);
  return () => ms;
}

/** "-r 0" and the empty date mean the earliest time: 2000-01-01 local midnight (fixes B23: not the host zone). */
export function earliestTime(zone: string): DateTime {
  return DateTime.fromObject({ year: 2000, month: 1, day: 1 }, { zone });
}

export function assertZone(zone: string): string {
  const probe = DateTime.now().setZone(zone);
  if (!probe.isValid) throw new UsageError(`Unknown time zone "${zone}": use an IANA name such as America/Chicago`);
  return zone;
}

export function nowIn(zone: string, clock: Clock): DateTime {
  return DateTime.fromMillis(clock(), { zone });
}

/** Local midnight of today in the zone (fixes B32: the configured zone, not the host's). */
export function todayMidnight(zone: string, clock: Clock): DateTime {
  return nowIn(zone, clock).startOf("day");
}

/** Calendar-day arithmetic: keeps the wall clock (2024-11-03 00:00 + 1 day = 2024-11-04 00:00, 25 h later). */
export function addDays(dt: DateTime, days: number): DateTime {
  return dt.plus({ days });
}

const ISO_DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const UNIX_SECONDS = /^\d{9,11}(\.\d+)?$/;

/**
 * Parses a flag value the way the original's parseDate meant to (fixes B23):
 * - "" or "0" → 2000-01-01 local midnight;
 * - ISO date or date-time; without an offset it is local wall-clock time; with "Z" or an explicit offset it is
 *   that instant, expressed in the zone;
 * - a 9–11 digit number is a UNIX time in seconds.
 * dateOnly truncates to local midnight.
 */
export function parseDate(text: string, zone: string, opts: { dateOnly?: boolean; flag?: string } = {}): DateTime {
  const value = text.trim();
  const what = opts.flag ? `${opts.flag} "${text}"` : `"${text}"`;
  let dt: DateTime;
  if (value === "" || value === "0") {
    dt = earliestTime(zone);
  } else if (UNIX_SECONDS.test(value)) {
    dt = DateTime.fromSeconds(Number(value), { zone });
  } else {
    const normalised = value.replace(" ", "T");
    dt = DateTime.fromISO(normalised, { zone, setZone: false });
    if (!dt.isValid) {
      throw new UsageError(
        `Malformed date ${what}: use YYYY-MM-DD, an ISO date-time (YYYY-MM-DDTHH:MM[:SS][±HH:MM]) or a UNIX time`,
      );
    }
    dt = dt.setZone(zone);
  }
  if (ISO_DATE_ONLY.test(value) || opts.dateOnly) dt = dt.startOf("day");
  return dt;
}

/**
 * The relative form of a window flag (-s/--start, -e/--end on every command): N = N calendar days before today's
 * local midnight (0 = today). undefined when the text is not a number; a negative N (a day in the future) is refused.
 */
export function daysBack(text: string, flag: string): number | undefined {
  const t = text.trim();
  if (/^-\d{1,6}$/.test(t)) throw new UsageError(`${flag} "${text}": N counts days back from today and cannot be negative (a window never reaches into the future)`);
  return /^\d{1,6}$/.test(t) ? Number(t) : undefined;
}

/** A window flag: N days back (daysBack), else a date (parseDate), as local midnight. */
export function parseWindowDay(text: string, zone: string, clock: Clock, flag: string): DateTime {
  const n = daysBack(text, flag);
  return n !== undefined ? addDays(todayMidnight(zone, clock), -n) : parseDate(text, zone, { dateOnly: true, flag });
}

/** Parses "YYYY-MM-DD" as local midnight in the zone; throws a clear error otherwise. */
export function parseDay(text: string, zone: string, what = "date"): DateTime {
  if (!ISO_DATE_ONLY.test(text)) throw new UsageError(`Malformed ${what} "${text}": expected YYYY-MM-DD`);
  const dt = DateTime.fromISO(text, { zone });
  if (!dt.isValid) throw new UsageError(`Malformed ${what} "${text}": ${dt.invalidExplanation ?? "invalid date"}`);
  return dt;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** The ".ffffff" of Python's str(datetime): six digits, or nothing when there are no microseconds. */
function microsText(micros: number): string {
  return micros !== 0 ? `.${pad(micros, 6)}` : "";
}

const TWO = Array.from({ length: 60 }, (_, i) => pad(i));

/** "YYYY-MM-DD HH:MM:" of a wall clock: Python's str(datetime) up to the seconds. */
function minuteText(dt: DateTime, minute = dt.minute): string {
  return `${pad(dt.year, 4)}-${TWO[dt.month]}-${TWO[dt.day]} ${TWO[dt.hour]}:${TWO[minute]}:`;
}

/** Python's str(datetime) for an aware datetime: "YYYY-MM-DD HH:MM:SS[.ffffff]±HH:MM" (§0.4). */
export function pyStr(dt: DateTime, micros?: number): string {
  return `${minuteText(dt)}${TWO[dt.second]}${microsText(micros ?? dt.millisecond * 1000)}${offsetText(dt.offset)}`;
}

const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;

/**
 * pyStr of many instants in one zone (a day of vehicle rows, one text each), the same text as
 * pyStr(DateTime.fromMillis(ms, { zone }), micros) for zones whose offsets are whole minutes. A luxon DateTime in a
 * zone costs about 20 µs (the offset comes from Intl), a stage's whole budget for a day of rows at a hundred
 * thousand of them; so luxon reads the zone once per quarter hour and each minute's text is made once: the
 * quarter's wall clock plus its minutes, or, in a quarter hour where the offset changes, luxon's own minute.
 */
export class PyStrFormatter {
  private readonly quarters = new Map<number, DateTime>();
  private readonly minutes = new Map<number, { head: string; offset: string }>();
  constructor(readonly zone: string) {}

  /** The text of the instant ms (epoch milliseconds); extraMicros adds the microseconds below it (0–999). */
  format(ms: number, extraMicros = 0): string {
    const minute = Math.floor(ms / MINUTE_MS);
    let m = this.minutes.get(minute);
    if (m === undefined) this.minutes.set(minute, (m = this.minute(minute)));
    const inMinute = ms - minute * MINUTE_MS;
    const second = Math.floor(inMinute / 1000);
    return `${m.head}${TWO[second]}${microsText((inMinute - second * 1000) * 1000 + extraMicros)}${m.offset}`;
  }

  private quarter(q: number): DateTime {
    let dt = this.quarters.get(q);
    if (dt === undefined) this.quarters.set(q, (dt = DateTime.fromMillis(q * QUARTER_MS, { zone: this.zone })));
    return dt;
  }

  private minute(minute: number): { head: string; offset: string } {
    const q = Math.floor(minute / 15);
    const start = this.quarter(q);
    const wallMinute = start.minute + (minute - q * 15);
    // The same offset at this quarter hour's start and the next one's: none in between (offsets change at most
    // once in months), so the wall clock moves with the instant.
    if (wallMinute < 60 && start.offset === this.quarter(q + 1).offset) return { head: minuteText(start, wallMinute), offset: offsetText(start.offset) };
    const dt = DateTime.fromMillis(minute * MINUTE_MS, { zone: this.zone });
    return { head: minuteText(dt), offset: offsetText(dt.offset) };
  }
}

export function offsetText(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Parses the str(datetime) form (or any ISO form) back to a DateTime in the zone. */
export function parsePyStr(text: string, zone: string): DateTime {
  const dt = DateTime.fromISO(text.replace(" ", "T"), { setZone: true });
  if (!dt.isValid) throw new Error(`Cannot parse timestamp "${text}"`);
  return dt.setZone(zone);
}

const PY_STR_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2}):?(\d{2})|Z)$/;

const digit = (t: string, i: number) => t.charCodeAt(i) - 48;
const two = (t: string, i: number) => digit(t, i) * 10 + digit(t, i + 1);

/** Digit positions of "YYYY-MM-DD HH:MM:SS" (the offset's are checked from where it starts). */
const DIGIT_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * Epoch milliseconds of a timestamp in Python's str(datetime) form with an offset
 * ("2019-05-31 22:02:11.600000-05:00"); microseconds are truncated to milliseconds. Undefined when malformed.
 * A hand parser with a fast path for the exact form, for many values (a GRIDSMART day of one intersection holds tens
 * of thousands); `parsePyStr` reads the same form into a DateTime, for a few.
 */
export function pyStrEpochMs(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const n = text.length;
  // Fast path: "YYYY-MM-DD HH:MM:SS[.ffffff]±HH:MM" (25 or 32 characters).
  if ((n === 25 || n === 32) && text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(10) === 32 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    let frac = 0;
    let o = 19;
    if (n === 32) {
      if (text.charCodeAt(19) !== 46) return parseSlow(text);
      frac = digit(text, 20) * 100 + digit(text, 21) * 10 + digit(text, 22);
      for (let k = 20; k < 26; k++) if (digit(text, k) < 0 || digit(text, k) > 9) return parseSlow(text);
      o = 26;
    }
    const sign = text.charCodeAt(o);
    if ((sign !== 43 && sign !== 45) || text.charCodeAt(o + 3) !== 58) return parseSlow(text);
    for (let j = 0; j < DIGIT_AT.length; j++) {
      const d = digit(text, DIGIT_AT[j]!);
      if (d < 0 || d > 9) return parseSlow(text);
    }
    for (let j = 1; j <= 5; j++) {
      if (j === 3) continue;
      const d = digit(text, o + j);
      if (d < 0 || d > 9) return parseSlow(text);
    }
    const year = two(text, 0) * 100 + two(text, 2);
    const month = two(text, 5);
    const day = two(text, 8);
    const hour = two(text, 11);
    const minute = two(text, 14);
    const second = two(text, 17);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
    const off = (two(text, o + 1) * 60 + two(text, o + 4)) * (sign === 45 ? -1 : 1);
    return Date.UTC(year, month - 1, day, hour, minute, second, frac) - off * 60_000;
  }
  return parseSlow(text);
}

function parseSlow(text: string): number | undefined {
  const m = PY_STR_TIME.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? Math.floor(Number(m[7].padEnd(6, "0")) / 1000) : 0;
  const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
  if (!m[8]) return utc;
  const off = (+m[9]! * 60 + +m[10]!) * (m[8] === "-" ? -1 : 1);
  return utc - off * 60_000;
}

/** Socrata's local wall-clock form: YYYY-MM-DDTHH:MM:SS, no offset (§0.4). */
export function socrataTime(dt: DateTime): string {
  return dt.toFormat("yyyy-MM-dd'T'HH:mm:ss");
}

export function dayText(dt: DateTime): string {
  return dt.toFormat("yyyy-MM-dd");
}

/** Every local midnight d with start <= d < end. */
export function* eachDay(start: DateTime, end: DateTime): Generator<DateTime> {
  for (let d = start.startOf("day"); d < end; d = addDays(d, 1)) yield d;
}
