/**
 * GRIDSMART standardisation (original §9.3.2), pure: the zone CSVs of one intersection-day → one JSON per zone.
 *
 * - Columns by API version (v4, v7, v8); values keep CSV-inferred per-column types like pandas did (a column with
 *   any decimal is a float column, written "13.0"; missing values → null instead of NaN).
 * - Clock correction (clock.ts): delta = host UTC − device clock, the device's offset at the reading taken from what
 *   it shows (its reading and its rows' utc_offset), so clocks that follow daylight time (B43) and clocks that stay
 *   on their standard offset all year are both corrected exactly. A site file whose clock cannot be read fails the
 *   day (it is retried), instead of writing rows without timestamp_adj that gs-ready would drop.
 * - timestamp_adj for v8 and v7 (same HHMMSS.f wall clock + utc_offset columns; fixes B14's missing v7 times) and v4
 *   (UTC "YYYYMMDDTHHMMSS[.ffffff]").
 * - v8/v7 tenths: rounded half-even like the original, but 10 tenths carry into the next second (fixes B45).
 * - day_covered: decided once per intersection from the earliest vehicle of the day, with a tolerance (fixes B15, B44).
 */
import { parse as parseCsv } from "csv-parse/sync";
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";
import { PyFloat, pyFloatRepr, pyJson } from "../../util/pyjson.js";
import { offsetText, pyStr } from "../../util/dates.js";
import type { ZoneCsv } from "./zip.js";
import { clockCorrection, OffsetEvidenceCounter, readDeviceClock, type ClockCorrection } from "./clock.js";
import type { DayCovered, GsApiVersion, GsDateTime, GsRow, GsValue, GsZoneHeader } from "./types.js";

export const GS_COLUMNS: Record<GsApiVersion, readonly string[]> = {
  8: [
    "count_version", "site_version", "timestamp", "utc_offset", "turn", "vehicle_length", "speed", "light_state",
    "seconds_in_zone", "vehicles_in_zone", "light_state_sec", "sec_since_green", "zone_freeflow_speed", "zone_freeflow_speed_cal",
  ],
  7: [
    "count_version", "site_version", "timestamp", "utc_offset", "turn", "vehicle_length", "speed", "light_state",
    "seconds_in_zone", "vehicles_in_zone", "confidence",
  ],
  4: [
    "count_version", "site_version", "timestamp", "internal_veh_id", "internal_veh_type", "vehicle_length", "speed", "turn",
    "allowable_turns", "seconds_in_zone", "seconds_since_last_exit", "queue_length", "light_state_on_exit", "sec_since_green",
    "internal_frame_count", "day_night",
  ],
};

export function isApiVersion(v: number): v is GsApiVersion {
  return v === 4 || v === 7 || v === 8;
}

// ------------------------------------------------------------------ CSV with pandas-like column types

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Texts pandas reads as missing (NaN) by default (the common ones). */
const MISSING = new Set(["", "NaN", "nan", "NA", "N/A", "NULL", "null", "n/a", "#N/A", "<NA>", "-NaN", "-nan", "None"]);

export type ColType = "int" | "float" | "text";

const K_MISSING = 0;
const K_INT = 1;
const K_FLOAT = 2;
const K_TEXT = 3;

/** What a CSV token is: missing, integer, decimal or text (a char scan; regexes only for unusual tokens). */
function kindOf(t: string | undefined): number {
  if (t === undefined || t.length === 0) return K_MISSING;
  const n = t.length;
  let i = 0;
  let c = t.charCodeAt(0);
  if (c === 45 || c === 43) i = 1;
  let dot = false;
  let digits = 0;
  for (; i < n; i++) {
    c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return MISSING.has(t) ? K_MISSING : FLOAT_RE.test(t) ? K_FLOAT : K_TEXT;
  }
  if (digits === 0) return MISSING.has(t) ? K_MISSING : K_TEXT;
  return dot ? K_FLOAT : K_INT;
}

/** A float read from CSV text, with its Python repr worked out from the text. */
export class CsvFloat extends PyFloat {
  constructor(
    value: number,
    readonly repr: string,
  ) {
    super(value);
  }
}

/**
 * Python repr() of float(text): the decimal text itself with trailing zeros trimmed ("2" → "2.0", "1.50" → "1.5")
 * when it has at most 15 significant digits, no leading zero and lies in [1e-4, 1e16) (then the text is the
 * shortest round-trip form); otherwise computed from the number.
 */
export function floatRepr(t: string): string {
  const n = t.length;
  let i = t.charCodeAt(0) === 45 ? 1 : 0;
  const signEnd = i;
  let dot = -1;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0) return slowRepr(t);
      dot = i;
    } else if (c < 48 || c > 57) return slowRepr(t);
  }
  const intEnd = dot < 0 ? n : dot;
  const intLen = intEnd - signEnd;
  if (intLen === 0 || intLen > 15 || (intLen > 1 && t.charCodeAt(signEnd) === 48)) return slowRepr(t);
  if (dot < 0) return `${t}.0`;
  let end = n;
  while (end > dot + 1 && t.charCodeAt(end - 1) === 48) end--;
  if (end === dot + 1) return `${t.slice(0, dot)}.0`;
  const zeroInt = intLen === 1 && t.charCodeAt(signEnd) === 48;
  if (zeroInt) {
    let lead = dot + 1;
    while (lead < end && t.charCodeAt(lead) === 48) lead++;
    if (lead - dot - 1 >= 4 || end - lead > 15) return slowRepr(t);
  } else if (intLen + (end - dot - 1) > 15) return slowRepr(t);
  return end === n ? t : t.slice(0, end);
}

function slowRepr(t: string): string {
  const v = Number(t);
  return Number.isFinite(v) ? pyFloatRepr(v) : "null";
}

/** JSON text of an integer token (Python int(text)). */
function intText(t: string): string {
  const c = t.charCodeAt(0);
  if ((c >= 49 && c <= 57) || t === "0" || (c === 45 && t.length > 1 && t.charCodeAt(1) !== 48)) return t;
  return String(Number(t) + 0);
}

/**
 * One zone CSV with pandas-like column types (a column with any decimal is float, any text is text, an integer
 * column with a missing value is float). Fields stay byte ranges of the CSV: the JSON is written straight from them.
 */
export interface ZoneTable {
  path: string;
  columns: readonly string[];
  types: ColType[];
  /** The CSV bytes (for a quoted CSV: its parsed fields laid end to end). */
  buf: Buffer;
  rows: number;
  /** Field c of row r is buf[start[r*W+c], end[r*W+c]) with W = columns.length; an absent field has start -1. */
  start: Int32Array;
  end: Int32Array;
}

function tooManyFields(path: string, row: number, fields: number, first: string, columns: readonly string[]): TerminalError {
  return new TerminalError(`${path}: row ${row} has ${fields} fields, the v${first} format has ${columns.length} (${columns.join(", ")})`);
}

/** Field ranges of a plain CSV (no quotes: what devices write), found with a byte scan. */
function scanPlain(buf: Buffer, path: string, columns: readonly string[]): { rows: number; start: Int32Array; end: Int32Array } {
  const W = columns.length;
  const n = buf.length;
  let p = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let lines = 1;
  for (let i = buf.indexOf(10, p); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
  const start = new Int32Array(lines * W).fill(-1);
  const end = new Int32Array(lines * W);
  let r = 0;
  while (p < n) {
    let eol = buf.indexOf(10, p);
    if (eol < 0) eol = n;
    let le = eol;
    if (le > p && buf[le - 1] === 13) le--;
    if (le > p) {
      const base = r * W;
      let c = 0;
      let fs = p;
      for (let i = p; i <= le; i++) {
        if (i === le || buf[i] === 44) {
          if (c >= W) {
            let fields = 1;
            for (let j = p; j < le; j++) if (buf[j] === 44) fields++;
            throw tooManyFields(path, r + 1, fields, buf.toString("latin1", p, buf.indexOf(44, p)), columns);
          }
          start[base + c] = fs;
          end[base + c] = i;
          c++;
          fs = i + 1;
        }
      }
      r++;
    }
    p = eol + 1;
  }
  return { rows: r, start, end };
}

/** A quoted CSV (never seen from devices, but valid CSV): parsed with csv-parse, fields laid end to end. */
function scanQuoted(csv: ZoneCsv, buf: Buffer, columns: readonly string[]): { buf: Buffer; rows: number; start: Int32Array; end: Int32Array } {
  let records: string[][];
  try {
    records = parseCsv(buf, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (err) {
    throw new TerminalError(`${csv.path}: unreadable CSV (${(err as Error).message})`, { cause: err });
  }
  const W = columns.length;
  const start = new Int32Array(records.length * W).fill(-1);
  const end = new Int32Array(records.length * W);
  const parts: Buffer[] = [];
  let pos = 0;
  records.forEach((rec, r) => {
    if (rec.length > W) throw tooManyFields(csv.path, r + 1, rec.length, rec[0] ?? "", columns);
    rec.forEach((field, c) => {
      const b = Buffer.from(field, "utf8");
      start[r * W + c] = pos;
      end[r * W + c] = pos + b.length;
      pos += b.length;
      parts.push(b);
    });
  });
  return { buf: Buffer.concat(parts), rows: records.length, start, end };
}

/** What the field buf[s, e) is: missing, integer, decimal or text. */
function kindAt(buf: Buffer, s: number, e: number): number {
  if (s < 0 || s === e) return K_MISSING;
  let i = s;
  let c = buf[i]!;
  if (c === 45 || c === 43) i++;
  let dot = false;
  let digits = 0;
  for (; i < e; i++) {
    c = buf[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return kindOf(buf.toString("utf8", s, e));
  }
  if (digits === 0) return kindOf(buf.toString("utf8", s, e));
  return dot ? K_FLOAT : K_INT;
}

/** Reads a headerless zone CSV under the version's columns. Too many fields in a row is an error naming the row. */
export function readZoneTable(csv: ZoneCsv, columns: readonly string[]): ZoneTable {
  const raw = Buffer.from(csv.data.buffer, csv.data.byteOffset, csv.data.byteLength);
  const scanned = raw.includes(0x22) ? scanQuoted(csv, raw, columns) : { buf: raw, ...scanPlain(raw, csv.path, columns) };
  const { buf, rows, start, end } = scanned;
  const W = columns.length;
  const types: ColType[] = [];
  for (let c = 0; c < W; c++) {
    let t: ColType = "int";
    let missing = false;
    for (let r = 0; r < rows; r++) {
      const k = kindAt(buf, start[r * W + c]!, end[r * W + c]!);
      if (k === K_INT) continue;
      if (k === K_MISSING) missing = true;
      else if (k === K_FLOAT) t = "float";
      else {
        t = "text";
        break;
      }
    }
    if (t === "int" && missing) t = "float";
    types.push(t);
  }
  return { path: csv.path, columns, types, buf, rows, start, end };
}

function isMissing(t: string | undefined): t is undefined {
  if (t === undefined || t.length === 0) return true;
  const c = t.charCodeAt(0);
  return !(c >= 48 && c <= 57) && MISSING.has(t);
}

/** The text of field c of row r (undefined when absent). */
export function token(table: ZoneTable, r: number, c: number): string | undefined {
  const i = r * table.columns.length + c;
  const s = table.start[i]!;
  return s < 0 ? undefined : table.buf.toString(table.types[c] === "text" ? "utf8" : "latin1", s, table.end[i]);
}

/** The value of one cell as written (int, CsvFloat, text, or null). */
export function cellValue(table: ZoneTable, r: number, c: number): GsValue {
  const t = token(table, r, c);
  if (isMissing(t)) return null;
  const type = table.types[c];
  if (type === "int") return Number(t);
  if (type === "float") return new CsvFloat(Number(t), floatRepr(t));
  return t;
}

/** API version = integer value of column 0 of the first zone file that has rows (original: first file, B14). */
export function detectVersion(zones: ZoneCsv[], where: string): GsApiVersion {
  for (const z of zones) {
    const text = Buffer.from(z.data.buffer, z.data.byteOffset, Math.min(z.data.byteLength, 64)).toString("latin1");
    const first = text.replace(/^\uFEFF/, "").split(/[\r\n]/).find((l) => l.trim() !== "");
    if (first === undefined) continue;
    const v = Number.parseFloat(first.split(",")[0]!);
    if (!Number.isFinite(v) || !isApiVersion(Math.trunc(v))) {
      throw new TerminalError(
        `${where}: ${z.filename} says count format version ${JSON.stringify(first.split(",")[0])}; only versions 4, 7 and 8 are supported`,
      );
    }
    return Math.trunc(v) as GsApiVersion;
  }
  throw new TerminalError(`${where}: every zone file is empty, so the count format version is unknown; nothing to standardize`);
}

// ------------------------------------------------------------------ fast local time text

const TWO = Array.from({ length: 60 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const DAY_MS = 86_400_000;

/** Python str(datetime) of instants in a zone, with the offset looked up once per quarter hour. */
export class LocalFormatter {
  private readonly offsets = new Map<number, number>();
  private readonly days = new Map<number, string>();
  private readonly offsetTexts = new Map<number, string>();
  constructor(readonly zone: string) {}

  offsetAt(ms: number): number {
    const bucket = Math.floor(ms / 900_000);
    let off = this.offsets.get(bucket);
    if (off === undefined) {
      off = DateTime.fromMillis(bucket * 900_000, { zone: this.zone }).offset;
      this.offsets.set(bucket, off);
    }
    return off;
  }

  /** "YYYY-MM-DD HH:MM:SS[.ffffff]±HH:MM"; extraMicros adds sub-millisecond digits (0–999). */
  format(ms: number, extraMicros = 0): string {
    const off = this.offsetAt(ms);
    const local = ms + off * 60_000;
    const dayIdx = Math.floor(local / DAY_MS);
    let prefix = this.days.get(dayIdx);
    if (prefix === undefined) {
      const d = new Date(dayIdx * DAY_MS);
      prefix = `${d.getUTCFullYear()}-${TWO[d.getUTCMonth() + 1]}-${TWO[d.getUTCDate()]} `;
      this.days.set(dayIdx, prefix);
    }
    let offText = this.offsetTexts.get(off);
    if (offText === undefined) this.offsetTexts.set(off, (offText = offsetText(off)));
    const msOfDay = local - dayIdx * DAY_MS;
    const sec = Math.floor(msOfDay / 1000);
    const micros = (msOfDay - sec * 1000) * 1000 + extraMicros;
    const hms = `${TWO[Math.floor(sec / 3600)]}:${TWO[Math.floor(sec / 60) % 60]}:${TWO[sec % 60]}`;
    return micros !== 0 ? `${prefix}${hms}.${String(micros).padStart(6, "0")}${offText}` : `${prefix}${hms}${offText}`;
  }
}

// ------------------------------------------------------------------ row times

/** Python round() of a float: half to even on the exact binary value. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function numeric(v: GsValue | undefined): number {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "number") return v;
  if (typeof v === "string" && FLOAT_RE.test(v.trim())) return Number(v);
  return Number.NaN;
}

/** A row's device time: wall clock as if UTC (ms) + utc_offset (v8/v7), or a UTC instant (v4); or an error kind. */
type RowTime = { wallMs: number; offsetMin: number; micros: number } | { utcMs: number; micros: number } | { error: string };

/** v8/v7 `timestamp` HHMMSS.f on the collection day's wall clock. */
export function wallTime(dayUtcMs: number, timestamp: GsValue | undefined, utcOffset: GsValue | undefined): RowTime {
  const ts = numeric(timestamp);
  if (!Number.isFinite(ts) || ts < 0) return { error: `timestamp ${JSON.stringify(timestamp instanceof PyFloat ? timestamp.value : timestamp)} is not HHMMSS.f` };
  const off = numeric(utcOffset);
  if (!Number.isFinite(off)) return { error: "utc_offset is missing" };
  const hhmmss = Math.trunc(ts);
  let tenths = roundHalfEven((ts % 1) * 10);
  if (hhmmss >= 1_000_000) return { error: `timestamp ${ts} is not HHMMSS.f` };
  const hh = Math.floor(hhmmss / 10_000);
  const mm = Math.floor(hhmmss / 100) % 100;
  const ss = hhmmss % 100;
  if (hh > 23 || mm > 59 || ss > 59) return { error: `timestamp ${ts} is not a time of day` };
  let ms = dayUtcMs + ((hh * 60 + mm) * 60 + ss) * 1000;
  if (tenths === 10) {
    // .95–.99 rounds to 10 tenths: the next second (the original failed to parse and dropped the row, B45).
    tenths = 0;
    ms += 1000;
  }
  return { wallMs: ms + tenths * 100, offsetMin: Math.trunc(off), micros: 0 };
}

const V4_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?$/;

/** v4 `timestamp` "YYYYMMDDTHHMMSS[.ffffff]", UTC. */
export function v4Time(timestamp: GsValue | undefined): RowTime {
  if (typeof timestamp !== "string") return { error: "timestamp is not YYYYMMDDTHHMMSS text" };
  const m = V4_TIME.exec(timestamp.trim());
  if (!m) return { error: `timestamp ${JSON.stringify(timestamp)} is not YYYYMMDDTHHMMSS[.ffffff]` };
  const [, y, mo, d, h, mi, s, frac] = m.map((x) => x ?? "");
  const micros = frac ? Number(frac.padEnd(6, "0")) : 0;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(base);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || Number(mi) > 59 || Number(s) > 59) {
    return { error: `timestamp ${JSON.stringify(timestamp)} is not a valid time` };
  }
  return { utcMs: base + Math.floor(micros / 1000), micros: micros % 1000 };
}

// ------------------------------------------------------------------ one intersection-day

export interface StandardizeInput {
  zones: ZoneCsv[];
  /** Intersection base ("Burnet_Richcreek"). */
  base: string;
  /** Local midnight of the data day. */
  day: DateTime;
  zipName: string;
  processingDate: DateTime;
  /** The site file's datetime part (a day whose site clock cannot be read fails). */
  siteDateTime: Partial<GsDateTime> | undefined;
  /** The site file's key, for messages. */
  siteWhere?: string;
  /** The lake's zone (timestamp_adj and day_covered are in it). */
  zone: string;
  /** |device midnight − local midnight| up to this counts as day_covered 0 (B15). */
  toleranceMinutes: number;
  /** Archive name for messages. */
  where: string;
}

export interface ZoneOutput {
  guid: string;
  header: GsZoneHeader;
  table: ZoneTable;
  /** Indexes of the rows kept (rows whose time could not be read are dropped when times are corrected). */
  kept: number[];
  /** timestamp_adj of each kept row. */
  adj: string[];
  /** v4 with corrected times: count_version is written as an int (the original's int() cast). */
  intVersion: boolean;
}

export interface StandardizeResult {
  version: GsApiVersion;
  correction: ClockCorrection;
  dayCovered: DayCovered | undefined;
  zones: ZoneOutput[];
  /** Rows with a device-derived time (perfmet), and the earliest/latest pre-correction UTC instants. */
  perf: { count: number; minMs: number | undefined; maxMs: number | undefined };
  warnings: string[];
  /** Rows dropped, by reason. */
  dropped: Record<string, number>;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Number(buf[s, e)) for a field of digits with at most one ".", read from the bytes; NaN for any other form (the
 * caller then reads the text). Up to 15 digits the integer of all digits is exact and one division by an exact
 * power of ten rounds correctly, which is what Number() of the decimal text gives.
 */
function plainNumberAt(buf: Buffer, s: number, e: number): number {
  let m = 0;
  let digits = 0;
  let dot = -1;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0) dot = i;
    else return Number.NaN;
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  return dot < 0 ? m : m / POW10[e - dot - 1]!;
}

/** A field as the time rules read it: a number in numeric columns, text in text columns, null when missing. */
function fieldValue(table: ZoneTable, r: number, c: number): GsValue {
  if (c < 0) return null;
  if (table.types[c] !== "text") {
    // The common case, a field starting with a digit (never a missing-value word), read without making its text.
    const i = r * table.columns.length + c;
    const s = table.start[i]!;
    const e = table.end[i]!;
    if (s >= 0 && e > s && table.buf[s]! >= 48 && table.buf[s]! <= 57) {
      const v = plainNumberAt(table.buf, s, e);
      if (!Number.isNaN(v)) return v;
    }
  }
  const t = token(table, r, c);
  if (isMissing(t)) return null;
  return table.types[c] === "text" ? t : Number(t);
}

function rowTime(plan: Pick<DayPlan, "version" | "cTs" | "cOff" | "dayUtcMs">, table: ZoneTable, r: number): RowTime {
  return plan.version === 4
    ? v4Time(fieldValue(table, r, plan.cTs))
    : wallTime(plan.dayUtcMs, fieldValue(table, r, plan.cTs), fieldValue(table, r, plan.cOff));
}

/** One intersection-day being standardized: decided once (version, clock, day_covered), then zone by zone. */
export interface DayPlan {
  input: StandardizeInput;
  version: GsApiVersion;
  columns: readonly string[];
  correction: ClockCorrection;
  dayCovered: DayCovered | undefined;
  perf: StandardizeResult["perf"];
  warnings: string[];
  dropped: Record<string, number>;
  fmt: LocalFormatter;
  dayUtcMs: number;
  cTs: number;
  cOff: number;
  /** The zones read while planning (field ranges only; the bytes are the archive's). */
  tables: Map<ZoneCsv, ZoneTable>;
  /** v8/v7 times read while planning, per table: wall clock ms (NaN: unreadable, read again for its error) and offset. */
  wallTimes: Map<ZoneTable, { wallMs: Float64Array; offsetMin: Float64Array }>;
}

/**
 * Reads every zone and decides what holds for the whole intersection-day: the version, the clock correction (from
 * the site file's reading and what the rows show, clock.ts) and day_covered (once per intersection, B44: the
 * device's midnight in UTC from the utc_offset in force at the earliest vehicle of the day across every zone, or,
 * when that offset is the one of the zone the clock follows, that zone's offset at midnight; so DST-change days agree
 * across zones). A site file whose clock cannot be read fails the day: TerminalError, retried on a later run.
 */
export function planDay(input: StandardizeInput): DayPlan {
  const version = detectVersion(input.zones, input.where);
  const columns = GS_COLUMNS[version];
  const reading = readDeviceClock(input.siteDateTime);
  if ("error" in reading) {
    throw new TerminalError(
      `${input.where}: the device clock of site file ${input.siteWhere ?? "(unnamed)"} cannot be read (${reading.error}), so the day's times ` +
        "cannot be corrected; the day is left for a later run (gs-insert-lake stores a new site file with each day it fetches)",
    );
  }
  const plan: Omit<DayPlan, "correction"> & { correction?: ClockCorrection } = {
    input,
    version,
    columns,
    dayCovered: undefined,
    perf: { count: 0, minMs: undefined, maxMs: undefined },
    warnings: [],
    dropped: {},
    fmt: new LocalFormatter(input.zone),
    dayUtcMs: Date.UTC(input.day.year, input.day.month - 1, input.day.day),
    cTs: columns.indexOf("timestamp"),
    cOff: columns.indexOf("utc_offset"),
    tables: new Map(input.zones.map((z) => [z, readZoneTable(z, columns)])),
    wallTimes: new Map(),
  };
  let deviceMidnightUtc: number | undefined;
  if (version === 4) {
    plan.correction = clockCorrection(reading.ok);
    deviceMidnightUtc = plan.dayUtcMs;
  } else {
    const evidence = new OffsetEvidenceCounter(reading.ok);
    const countEvidence = evidence.useful;
    let earliest: { wallMs: number; offsetMin: number } | undefined;
    for (const table of plan.tables.values()) {
      const wallMs = new Float64Array(table.rows);
      const offsetMin = new Float64Array(table.rows);
      for (let r = 0; r < table.rows; r++) {
        const t = rowTime(plan, table, r);
        if ("wallMs" in t) {
          wallMs[r] = t.wallMs;
          offsetMin[r] = t.offsetMin;
          if (countEvidence) evidence.add(t.wallMs - t.offsetMin * 60_000, t.offsetMin);
          if (!earliest || t.wallMs < earliest.wallMs) earliest = t;
        } else wallMs[r] = Number.NaN;
      }
      plan.wallTimes.set(table, { wallMs, offsetMin });
    }
    const correction = clockCorrection(reading.ok, countEvidence ? evidence.evidence : undefined);
    plan.correction = correction;
    if (earliest) {
      // A clock whose utc_offset follows its zone was on that zone's offset at midnight too (a first vehicle after the
      // spring-forward hour must not move midnight); otherwise trust the earliest vehicle's offset.
      let offsetMin = earliest.offsetMin;
      const zoneOffset = (ms: number) => DateTime.fromMillis(ms, { zone: correction.deviceZone }).offset;
      if (zoneOffset(earliest.wallMs - earliest.offsetMin * 60_000) === earliest.offsetMin) {
        offsetMin = DateTime.fromObject({ year: input.day.year, month: input.day.month, day: input.day.day }, { zone: correction.deviceZone }).offset;
      }
      deviceMidnightUtc = plan.dayUtcMs - offsetMin * 60_000;
    }
  }
  const correction = plan.correction!;
  if (deviceMidnightUtc !== undefined) {
    const diff = deviceMidnightUtc + correction.deltaMs - input.day.toMillis();
    const tol = input.toleranceMinutes * 60_000;
    plan.dayCovered = Math.abs(diff) <= tol ? 0 : diff < 0 ? -1 : 1;
  }
  return { ...plan, correction };
}

/** One zone of a planned day: rows, timestamp_adj, header. Adds to the plan's perfmet figures and dropped counts. */
export function standardizeZone(plan: DayPlan, z: ZoneCsv): ZoneOutput {
  const { input, version, columns, correction } = plan;
  const table = plan.tables.get(z) ?? readZoneTable(z, columns);
  plan.tables.delete(z);
  const guid = z.guid;
  const header: GsZoneHeader = {
    data_type: "gridsmart",
    zip_name: input.zipName,
    origin_filename: `${guid}.csv`,
    target_filename: `${input.base}_${guid}_${input.day.toFormat("yyyy-MM-dd")}.json`,
    collection_date: pyStr(input.day),
    processing_date: pyStr(input.processingDate),
    version,
    guid,
  };
  if (plan.dayCovered !== undefined) header.day_covered = plan.dayCovered;
  const kept: number[] = [];
  const adj: string[] = [];
  const perf = plan.perf;
  const known = plan.wallTimes.get(table);
  plan.wallTimes.delete(table);
  for (let i = 0; i < table.rows; i++) {
    const w = known ? known.wallMs[i]! : Number.NaN;
    const t: RowTime = Number.isNaN(w) ? rowTime(plan, table, i) : { wallMs: w, offsetMin: known!.offsetMin[i]!, micros: 0 };
    if ("error" in t) {
      // Like the original: a row whose time cannot be read is dropped and counted.
      const kind = t.error.replace(/-?\d[\d.]*/g, "N").replace(/"[^"]*"/g, '"…"');
      plan.dropped[kind] = (plan.dropped[kind] ?? 0) + 1;
      continue;
    }
    const utcMs = "wallMs" in t ? t.wallMs - t.offsetMin * 60_000 : t.utcMs;
    kept.push(i);
    adj.push(plan.fmt.format(utcMs + correction.deltaMs, t.micros));
    perf.count++;
    if (perf.minMs === undefined || utcMs < perf.minMs) perf.minMs = utcMs;
    if (perf.maxMs === undefined || utcMs > perf.maxMs) perf.maxMs = utcMs;
  }
  return { guid, header, table, kept, adj, intVersion: version === 4 };
}

/** Warnings of a finished day (dropped rows by reason included). */
export function dayWarnings(plan: DayPlan): string[] {
  return [...plan.warnings, ...Object.entries(plan.dropped).map(([kind, n]) => `${plan.input.where}: ${n} row(s) dropped: ${kind}`)];
}

/** The whole intersection-day at once (tests, small days); the stage streams zone by zone instead. */
export function standardizeDay(input: StandardizeInput): StandardizeResult {
  const plan = planDay(input);
  const zones = input.zones.map((z) => standardizeZone(plan, z));
  return {
    version: plan.version,
    correction: plan.correction,
    dayCovered: plan.dayCovered,
    zones,
    perf: plan.perf,
    warnings: dayWarnings(plan),
    dropped: plan.dropped,
  };
}

/** The data rows of a zone output as objects. */
export function zoneRows(z: ZoneOutput): GsRow[] {
  const { table } = z;
  return z.kept.map((r, k) => {
    const row: Record<string, GsValue> = {};
    for (let c = 0; c < table.columns.length; c++) row[table.columns[c]!] = cellValue(table, r, c);
    if (z.intVersion && row.count_version !== null && row.count_version !== undefined) {
      const v = row.count_version;
      row.count_version = Math.trunc(typeof v === "number" ? v : v instanceof PyFloat ? v.value : Number(v));
    }
    const out = row as GsRow;
    out.timestamp_adj = z.adj[k]!;
    return out;
  });
}

// ------------------------------------------------------------------ serialisation

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** An ASCII byte writer that grows (the zone JSON is ASCII only: Python's json.dumps escapes the rest). */
class AsciiWriter {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, size));
  }
  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + need));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** Writes s[0, end). */
  str(s: string, end = s.length): void {
    if (this.pos + end > this.buf.length) this.grow(end);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < end; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  bytes(a: Uint8Array): void {
    if (this.pos + a.length > this.buf.length) this.grow(a.length);
    this.buf.set(a, this.pos);
    this.pos += a.length;
  }
  /** Copies src[s, e). */
  copy(src: Uint8Array, s: number, e: number): void {
    const len = e - s;
    if (this.pos + len > this.buf.length) this.grow(len);
    const b = this.buf;
    let p = this.pos;
    for (let i = s; i < e; i++) b[p++] = src[i]!;
    this.pos = p;
  }
  byte(c: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = c;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const NULL_BYTES = Buffer.from("null", "latin1");
const DOT_ZERO = Buffer.from(".0", "latin1");

/** Writes Python's repr(float(buf[s, e))) (the rule of floatRepr) by copying bytes on the fast path. */
function writeFloatAt(w: AsciiWriter, b: Buffer, s: number, e: number): void {
  let i = b[s] === 45 ? s + 1 : s;
  const signEnd = i;
  let dot = -1;
  let slow = false;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === 46) {
      if (dot >= 0) slow = true;
      dot = i;
    } else if (c < 48 || c > 57) slow = true;
  }
  const intEnd = dot < 0 ? e : dot;
  const intLen = intEnd - signEnd;
  if (!slow && (intLen === 0 || intLen > 15 || (intLen > 1 && b[signEnd] === 48))) slow = true;
  if (!slow) {
    if (dot < 0) {
      w.copy(b, s, e);
      w.bytes(DOT_ZERO);
      return;
    }
    let end = e;
    while (end > dot + 1 && b[end - 1] === 48) end--;
    if (end === dot + 1) {
      w.copy(b, s, dot);
      w.bytes(DOT_ZERO);
      return;
    }
    if (intLen === 1 && b[signEnd] === 48) {
      let lead = dot + 1;
      while (lead < end && b[lead] === 48) lead++;
      if (lead - dot - 1 >= 4 || end - lead > 15) slow = true;
    } else if (intLen + (end - dot - 1) > 15) slow = true;
    if (!slow) {
      w.copy(b, s, end);
      return;
    }
  }
  w.str(floatRepr(b.toString("latin1", s, e)));
}

/**
 * json.dumps({header, data}) of a zone output as ASCII bytes, copied straight from the CSV bytes (identical to
 * pyJson({header, data: zoneRows(z)}); no per-value strings, which matters on a day of a hundred thousand vehicles).
 */
export function zoneJsonBuffer(z: ZoneOutput): Buffer {
  const { table } = z;
  const { buf, start, end } = table;
  const W = table.columns.length;
  const kept = z.kept;
  const n = kept.length;
  const keys = table.columns.map((c, i) => Buffer.from(i === 0 ? `{${pyJson(c)}: ` : `, ${pyJson(c)}: `, "latin1"));
  const keysLen = keys.reduce((a, k) => a + k.length, 0);
  const adjKey = Buffer.from(`, "timestamp_adj": "`, "latin1");
  const w = new AsciiWriter(n * (keysLen + 128) + 512);
  w.str(`{"header": ${pyJson(z.header)}, "data": [`);
  const types = table.types.map((t) => (t === "int" ? K_INT : t === "float" ? K_FLOAT : K_TEXT));
  for (let k = 0; k < n; k++) {
    if (k > 0) {
      w.byte(44);
      w.byte(32);
    }
    const base = kept[k]! * W;
    for (let c = 0; c < W; c++) {
      w.bytes(keys[c]!);
      const s = start[base + c]!;
      const e = end[base + c]!;
      if (s < 0 || s === e) {
        w.bytes(NULL_BYTES);
        continue;
      }
      const b0 = buf[s]!;
      const type = types[c];
      // Numeric fields start with a digit; anything else may be a missing-value word (NaN, NA, ...).
      if (!(b0 >= 48 && b0 <= 57) && e - s <= 5 && MISSING.has(buf.toString("latin1", s, e))) {
        w.bytes(NULL_BYTES);
        continue;
      }
      if (c === 0 && z.intVersion) w.str(String(Math.trunc(Number(buf.toString("latin1", s, e)))));
      else if (type === K_INT) {
        if ((b0 >= 49 && b0 <= 57) || (b0 === 48 && e - s === 1) || (b0 === 45 && e - s > 1 && buf[s + 1]! >= 49 && buf[s + 1]! <= 57)) w.copy(buf, s, e);
        else w.str(intText(buf.toString("latin1", s, e)));
      } else if (type === K_FLOAT) writeFloatAt(w, buf, s, e);
      else {
        let plain = true;
        for (let i = s; i < e; i++) {
          const ch = buf[i]!;
          if (ch < 0x20 || ch > 0x7e || ch === 0x22 || ch === 0x5c) {
            plain = false;
            break;
          }
        }
        if (plain) {
          w.byte(34);
          w.copy(buf, s, e);
          w.byte(34);
        } else w.str(pyJson(buf.toString("utf8", s, e)));
      }
    }
    w.bytes(adjKey);
    w.str(z.adj[k]!);
    w.byte(34);
    w.byte(125);
  }
  w.str("]}");
  return w.result();
}

/** zoneJsonBuffer as text. */
export function zoneJson(z: ZoneOutput): string {
  return zoneJsonBuffer(z).toString("latin1");
}
