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
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";
import { fieldNumber, fieldValue, isMissingField, pandasNumber, pandasTypes, scanCsv, writeFieldJson, type CsvFields, type JsonColumnType, type PandasType } from "../../util/csv-scan.js";
import { PyFloat, pyJson } from "../../util/pyjson.js";
import { PyStrFormatter, pyStr } from "../../util/dates.js";
import { Utf8Sink } from "../../util/utf8-sink.js";
import type { ZoneCsv } from "./zip.js";
import { clockCorrection, OffsetEvidenceCounter, readDeviceClock, type ClockCorrection } from "./clock.js";
import type { DayCovered, GsApiVersion, GsDateTime, GsValue, GsZoneHeader } from "./types.js";

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

// ------------------------------------------------------------------ zone CSV (util/csv-scan.ts: byte ranges, pandas types)

/** One zone CSV: its fields as byte ranges of the archive's bytes, the version's columns and their pandas types. */
export interface ZoneTable extends CsvFields {
  path: string;
  columns: readonly string[];
  types: PandasType[];
}

/** Reads a headerless zone CSV under the version's columns. Too many fields in a row is an error naming the row. */
export function readZoneTable(csv: ZoneCsv, columns: readonly string[]): ZoneTable {
  const fields = scanCsv(csv.data, columns.length, {
    where: csv.path,
    tooManyFields: (line, n, first) => new TerminalError(`${csv.path}: line ${line} has ${n} fields, the v${first} format has ${columns.length} (${columns.join(", ")})`),
  });
  return { ...fields, path: csv.path, columns, types: pandasTypes(fields) };
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
  if (typeof v === "string") return pandasNumber(v.trim());
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
  /** The source's row rules bound to the version's columns (ctx.rules): rows that break them are quarantined. */
  rules?: (columns: readonly string[]) => { readonly active: boolean; accept(value: (c: number) => unknown, where: { line?: number; file?: string; text?: () => string }): boolean };
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

/** A field as the time rules read it: a number in numeric columns, text in text columns, null when missing. */
function timeField(table: ZoneTable, r: number, c: number): GsValue {
  return c < 0 ? null : fieldValue(table, r * table.width + c, table.types[c]!);
}

function rowTime(plan: Pick<DayPlan, "version" | "cTs" | "cOff" | "dayUtcMs">, table: ZoneTable, r: number): RowTime {
  return plan.version === 4
    ? v4Time(timeField(table, r, plan.cTs))
    : wallTime(plan.dayUtcMs, timeField(table, r, plan.cTs), timeField(table, r, plan.cOff));
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
  fmt: PyStrFormatter;
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
    fmt: new PyStrFormatter(input.zone),
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
  const rules = input.rules?.(columns);
  const W = table.width;
  const file = z.path;
  for (let i = 0; i < table.rows; i++) {
    if (rules?.active) {
      const value = (c: number) => (isMissingField(table, i * W + c) ? undefined : table.types[c] === "text" ? fieldValue(table, i * W + c, "text") : fieldNumber(table, i * W + c));
      const text = () => columns.map((_, c) => fieldValue(table, i * W + c, table.types[c]!) ?? "").join(",");
      if (!rules.accept(value, { file, line: table.line[i]!, text })) continue;
    }
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

// ------------------------------------------------------------------ serialisation

/**
 * json.dumps({header, data}) of a zone output, each kept row the CSV's fields as pandas reads them (util/csv-scan.ts,
 * copied from the CSV bytes) then its timestamp_adj. v4 with corrected times writes count_version as int (the
 * original's int() cast).
 */
export function zoneJson(z: ZoneOutput): Buffer {
  const { table, kept, adj } = z;
  const W = table.width;
  const types: JsonColumnType[] = z.intVersion ? ["int-cast", ...table.types.slice(1)] : table.types;
  const keys = table.columns.map((c, i) => Buffer.from(`${i === 0 ? "{" : ", "}${pyJson(c)}: `, "latin1"));
  const sink = new Utf8Sink(kept.length * (keys.reduce((a, k) => a + k.length, 0) + 128) + 512);
  sink.write(`{"header": ${pyJson(z.header)}, "data": [`);
  for (let k = 0; k < kept.length; k++) {
    if (k > 0) sink.bytes(ROW_SEPARATOR);
    const base = kept[k]! * W;
    for (let c = 0; c < W; c++) {
      sink.bytes(keys[c]!);
      writeFieldJson(sink, table, base + c, types[c]!);
    }
    sink.bytes(ADJ_KEY);
    sink.write(adj[k]!);
    sink.bytes(ROW_END);
  }
  sink.write("]}");
  return sink.toBuffer();
}

const ROW_SEPARATOR = Buffer.from(", ", "latin1");
const ADJ_KEY = Buffer.from(', "timestamp_adj": "', "latin1");
const ROW_END = Buffer.from('"}', "latin1");
