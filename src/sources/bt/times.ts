/**
 * Bluetooth (AWAM) timestamps.
 *
 * Raw files carry local wall-clock text `M/D/YYYY h:mm:ss AM` (summary files: `M/D/YYYY h:mm AM`). The standardized
 * layer writes them in Python's str(datetime) form with the zone's offset, as the original did through pytz
 * `localize()` with its default `is_dst=False`:
 * - a fall-back ambiguous time (01:30 on the first Sunday of November in America/Chicago) takes the STANDARD offset
 *   (-06:00), i.e. the second of the two instants;
 * - a spring-forward nonexistent time (02:30 on the second Sunday of March) keeps its wall-clock text and takes the
 *   STANDARD offset (`02:30:00-06:00`, the instant 03:30 CDT); it is not shifted to 03:30.
 * Parsing is by regex with a per-minute offset cache: a day has at most 1,440 distinct minutes, while a large file
 * holds hundreds of thousands of timestamps.
 */
import { IANAZone } from "luxon";
import { offsetText } from "../../util/dates.js";

const WITH_SECONDS = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})\s+([AaPp])[Mm]$/;
const WITHOUT_SECONDS = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{1,2})\s+([AaPp])[Mm]$/;
const HOUR_MS = 3_600_000;
const QUARTER_HOUR_MS = 900_000;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Parses AWAM wall-clock text into the str(datetime) form in one zone; unparseable text gives null. */
export class AwamTimeParser {
  private readonly zone: IANAZone;
  /** Minute number (from year, month, day, 24-h hour, minute) → ["YYYY-MM-DD HH:MM", offset text], or null. */
  private readonly minuteCache = new Map<number, [string, string] | null>();
  private readonly standardOffsets = new Map<number, number>();
  private readonly offsets = new Map<number, number>();
  /** The last texts seen and their results (neighbouring rows and a row's two times often repeat), per format. */
  private readonly recent = [
    ["", "", null, null],
    ["", "", null, null],
  ] as [string, string, string | null, string | null][];

  constructor(zone: string) {
    this.zone = IANAZone.create(zone);
    if (!this.zone.isValid) throw new Error(`Unknown time zone "${zone}"`);
  }

  /** `M/D/YYYY h:mm:ss AM` (seconds = true) or `M/D/YYYY h:mm AM` (seconds = false) → "YYYY-MM-DD HH:MM:SS±HH:MM". */
  parse(text: string | null | undefined, seconds: boolean): string | null {
    if (typeof text !== "string") return null;
    const memo = this.recent[seconds ? 0 : 1]!;
    if (text === memo[0] && text !== "") return memo[2];
    if (text === memo[1] && text !== "") return memo[3];
    const out = this.parseText(text, seconds);
    memo[1] = memo[0];
    memo[3] = memo[2];
    memo[0] = text;
    memo[2] = out;
    return out;
  }

  private parseText(text: string, seconds: boolean): string | null {
    const m = (seconds ? WITH_SECONDS : WITHOUT_SECONDS).exec(text);
    if (!m) return null;
    const sec = seconds ? Number(m[6]) : 0;
    if (sec > 59) return null;
    const meridiem = seconds ? m[7]! : m[6]!;
    const year = Number(m[3]);
    const month = Number(m[1]);
    const day = Number(m[2]);
    const hour12 = Number(m[4]);
    const minute = Number(m[5]);
    const pm = meridiem === "P" || meridiem === "p";
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour12 < 1 || hour12 > 12 || minute > 59) return null;
    // A number per wall-clock minute: cheap to look up (no string hashing).
    const key = ((year * 13 + month) * 32 + day) * 1440 + ((hour12 % 12) + (pm ? 12 : 0)) * 60 + minute;
    let cached = this.minuteCache.get(key);
    if (cached === undefined) {
      cached = this.resolveMinute(year, month, day, hour12, minute, pm);
      this.minuteCache.set(key, cached);
    }
    if (!cached) return null;
    return `${cached[0]}:${pad2(sec)}${cached[1]}`;
  }

  private resolveMinute(year: number, month: number, day: number, hour12: number, minute: number, pm: boolean): [string, string] | null {
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour12 < 1 || hour12 > 12 || minute > 59) return null;
    const hour = (hour12 % 12) + (pm ? 12 : 0);
    const wallMs = Date.UTC(year, month - 1, day, hour, minute);
    const check = new Date(wallMs);
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
    const offset = this.offsetForWall(wallMs, year);
    const prefix = `${String(year).padStart(4, "0")}-${pad2(month)}-${pad2(day)} ${pad2(hour)}:${pad2(minute)}`;
    return [prefix, offsetText(offset)];
  }

  /**
   * The zone's offset at an instant, looked up once per quarter hour (zone rules change offsets on quarter hours;
   * each lookup is an Intl call, too slow to make for every minute of every file).
   */
  private offsetAt(ms: number): number {
    const bucket = Math.floor(ms / QUARTER_HOUR_MS);
    let o = this.offsets.get(bucket);
    if (o === undefined) {
      o = this.zone.offset(bucket * QUARTER_HOUR_MS);
      this.offsets.set(bucket, o);
    }
    return o;
  }

  /** The zone's standard (non-daylight) offset in a year: the smaller of January's and July's. */
  private standardOffset(year: number): number {
    let std = this.standardOffsets.get(year);
    if (std === undefined) {
      std = Math.min(this.zone.offset(Date.UTC(year, 0, 1)), this.zone.offset(Date.UTC(year, 6, 1)));
      this.standardOffsets.set(year, std);
    }
    return std;
  }

  /**
   * Offset (minutes) of a local wall-clock time: the only valid one; for an ambiguous time (two valid offsets) or a
   * nonexistent one (none valid), the standard offset, as pytz localize(is_dst=False) gives.
   */
  offsetForWall(wallMs: number, year: number): number {
    const candidates = new Set([this.offsetAt(wallMs - 24 * HOUR_MS), this.offsetAt(wallMs + 24 * HOUR_MS)]);
    const valid = [...candidates].filter((o) => this.offsetAt(wallMs - o * 60_000) === o);
    if (valid.length === 1) return valid[0]!;
    return this.standardOffset(year);
  }
}

function isDigits(buf: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = buf[k]!;
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const scratch = Buffer.allocUnsafe(19);

/**
 * Socrata time of a standardized timestamp: its wall-clock fields as written, `YYYY-MM-DDTHH:MM:SS` (the original
 * parsed the text with its own offset and formatted it with strftime, so the text's wall clock is kept, DST days
 * included). Null for null or text that is not `YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][±HH:MM|Z]` (the original crashed
 * there: B38).
 */
export function socrataWallTime(text: unknown): string | null {
  if (typeof text !== "string") return null;
  const bytes = Buffer.from(text, "utf8");
  return socrataWallTimeOfBytes(bytes, 0, bytes.length);
}

/**
 * socrataWallTime() of the text whose UTF-8 bytes are buf[start, end). Checked byte by byte, with no intermediate
 * strings: bt-extract-soc calls it for most rows of a day, on the bytes read.
 */
export function socrataWallTimeOfBytes(buf: Uint8Array, start: number, end: number): string | null {
  if (end - start < 19) return null;
  const b = start;
  if (!isDigits(buf, b, b + 4) || buf[b + 4] !== 45 || !isDigits(buf, b + 5, b + 7) || buf[b + 7] !== 45 || !isDigits(buf, b + 8, b + 10)) return null;
  const sep = buf[b + 10];
  if (sep !== 32 && sep !== 84) return null;
  if (!isDigits(buf, b + 11, b + 13) || buf[b + 13] !== 58 || !isDigits(buf, b + 14, b + 16) || buf[b + 16] !== 58 || !isDigits(buf, b + 17, b + 19)) return null;
  let p = b + 19;
  if (p < end && buf[p] === 46) {
    // a fraction of 1 to 6 digits
    const from = ++p;
    while (p < end && p - from < 7 && isDigits(buf, p, p + 1)) p++;
    if (p === from || p - from > 6) return null;
  }
  if (p < end) {
    const c = buf[p];
    if (c === 90) p++;
    else if (c === 43 || c === 45) {
      if (end - p < 6 || !isDigits(buf, p + 1, p + 3) || buf[p + 3] !== 58 || !isDigits(buf, p + 4, p + 6)) return null;
      p += 6;
    } else return null;
  }
  if (p !== end) return null;
  for (let k = 0; k < 19; k++) scratch[k] = buf[b + k]!;
  scratch[10] = 84; // "T"
  return scratch.toString("latin1", 0, 19);
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;

/** English weekday name of a Socrata wall time `YYYY-MM-DDTHH:MM:SS` (arrow's "dddd"). */
export function weekdayName(wallTime: string): string {
  const y = Number(wallTime.slice(0, 4));
  const mo = Number(wallTime.slice(5, 7));
  const d = Number(wallTime.slice(8, 10));
  return WEEKDAYS[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()]!;
}
