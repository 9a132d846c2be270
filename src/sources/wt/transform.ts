/**
 * Pure transforms of the Wavetronix source (original §9.2): KITS rows → raw CSV → standardized JSON → ready JSON →
 * Socrata rows. No I/O here; the entries in src/entries/wt-*.ts do the reading and writing.
 *
 * Timestamps repeat in a day: ~150 detectors share each 15-minute slot, so every timestamp conversion is memoised
 * per distinct text (a day has about a hundred), which keeps a 50,000-row day well under a second.
 */
import { DateTime } from "luxon";
import { stringify } from "csv-stringify/sync";
import { pyStr as pyStrDate, socrataTime } from "../../util/dates.js";
import { md5Concat, PyFloat, pyJson } from "../../util/pyjson.js";
import { Utf8Sink } from "../../util/utf8-sink.js";
import { forEachCsvRecord } from "../../util/csv-records.js";
import type { UnitDevice } from "../../support/drivers.js";
import { KITS_COLUMNS, type KitsRow } from "./queries.js";

/** The raw CSV header, exactly as the original wrote it. */
export const CSV_HEADER: readonly string[] = KITS_COLUMNS;

/** The integer columns, in the order standardize destructures them. */
const INT_LIST = ["detID", "intID", "volume", "occupancy", "speed", "uploadSuccess", "detCountComparison", "dailyCumulative"] as const;
const WALL_FORMAT = "yyyy-MM-dd HH:mm:ss";
const WALL_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** An integer as Python's int() reads it (surrounding blanks allowed). */
const INT_RE = /^\s*-?\d+\s*$/;

// ------------------------------------------------------------------------------------------------ raw CSV

const CSV_OPTIONS = { record_delimiter: "\r\n", quoted_match: /[\r\n]/ } as const;
/** A field csv-stringify would quote (delimiter, quote, line break); any other field is written as is. */
const CSV_NEEDS_QUOTES = /[",\r\n]/;

/**
 * A KITS value as the raw CSV keeps it: text as the database gave it (the retrieval selects numbers as text), null
 * empty. Nothing is cut or rounded: a number that reaches here (a driver that gives numbers) is written in full,
 * 12.5 as 12.5 (the original's int() made it 12; the raw layer is the source's data, as given).
 */
function csvValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** One CSV line: plain fields joined directly; a row with a field that needs quoting goes through csv-stringify. */
function csvLine(row: KitsRow): string {
  let line = "";
  for (let i = 0; i < KITS_COLUMNS.length; i++) {
    const v = csvValue(row[KITS_COLUMNS[i]!]);
    if (CSV_NEEDS_QUOTES.test(v)) return stringify([KITS_COLUMNS.map((c) => csvValue(row[c]))], CSV_OPTIONS);
    line = i === 0 ? v : `${line},${v}`;
  }
  return `${line}\r\n`;
}

/**
 * The raw CSV of one day: the original header, one line per KITS row, "\r\n" line ends, minimal quoting (fields
 * with a comma, quote or line break are quoted, as Python's csv module does). Values are kept as the database gave
 * them: the raw layer is untouched source data, and the standardize stage reports what it cannot read.
 * Lines whose fields need no quoting (nearly all) are joined here; the others are written by csv-stringify.
 */
export function kitsCsv(rows: Iterable<KitsRow>): { text: string; rows: number } {
  const { body, rows: n } = kitsCsvBytes(rows);
  return { text: body.toString("utf8"), rows: n };
}

/** kitsCsv as UTF-8 bytes, written a line at a time (no string of the whole day). */
export function kitsCsvBytes(rows: Iterable<KitsRow>, sizeHint = 0): { body: Buffer; rows: number } {
  const sink = new Utf8Sink(sizeHint * 110);
  sink.write(stringify([CSV_HEADER as string[]], CSV_OPTIONS));
  let n = 0;
  for (const row of rows) {
    sink.write(csvLine(row));
    n++;
  }
  return { body: sink.toBuffer(), rows: n };
}

// ------------------------------------------------------------------------------------------------ standardized

export interface StdRow {
  detID: number;
  intID: number;
  /** Python str(datetime) with the local offset. */
  curDateTime: string;
  intName: string;
  detName: string;
  volume: number;
  occupancy: number;
  speed: number;
  status: string;
  uploadSuccess: number;
  detCountComparison: number;
  dailyCumulative: number;
}

export interface WtHeader {
  data_type: string;
  origin_filename: string;
  target_filename: string;
  collection_date: string;
  processing_date: string;
}

export interface StdJson {
  header: WtHeader;
  data: StdRow[];
}

export interface BadRow {
  /** 1-based data row (the header is line 1, so data row N is line N + 1). */
  row: number;
  field: string;
  message: string;
}

export interface SensorVolume {
  volume: number;
  min: DateTime | undefined;
  max: DateTime | undefined;
}

/**
 * Local wall-clock text → Python str() with the right offset. On the fall-back day a wall time of the repeated hour
 * is ambiguous: the first reading of a detector at that time is daylight time, the second standard time (the
 * original gave both the standard offset, so two readings claimed one instant).
 */
export class WallClock {
  private readonly memo = new Map<string, { first: DateTime; second?: DateTime; firstText: string; secondText?: string } | null>();
  constructor(readonly zone: string) {}

  private resolve(wall: string) {
    let hit = this.memo.get(wall);
    if (hit !== undefined) return hit;
    hit = null;
    if (WALL_RE.test(wall)) {
      const d = DateTime.fromFormat(wall, WALL_FORMAT, { zone: this.zone });
      if (d.isValid) {
        const earlier = d.minus({ hours: 1 });
        if (earlier.toFormat(WALL_FORMAT) === wall) {
          hit = { first: earlier, second: d, firstText: pyStrDate(earlier), secondText: pyStrDate(d) };
        } else {
          hit = { first: d, firstText: pyStrDate(d) };
        }
      }
    }
    this.memo.set(wall, hit);
    return hit;
  }

  /** The instant and its text for the n-th (0-based) reading at this wall time; undefined when unparseable. */
  at(wall: string, occurrence: number): { dt: DateTime; text: string } | undefined {
    const r = this.resolve(wall);
    if (!r) return undefined;
    if (occurrence > 0 && r.second) return { dt: r.second, text: r.secondText! };
    return { dt: r.first, text: r.firstText };
  }

  isAmbiguous(wall: string): boolean {
    return Boolean(this.resolve(wall)?.second);
  }
}

/**
 * Raw CSV → standardized rows (original §9.2.2), handed to `onRow` in file order. A row that cannot be read
 * (wrong column count, a non-integer number, a missing or malformed time) is skipped and reported with its row
 * number (data rows, the header not counted) and field; the rest of the day goes on.
 */
/** The source's row rules bound to the CSV's header (ctx.rules("kits", header) in the stage). */
export type KitsRowRules = (columns: readonly string[]) => { accept(value: (c: number) => unknown, where: { line?: number; file?: string; text?: () => string }): boolean };

export interface StandardizeOptions {
  file: string;
  zone: string;
  /** Rows that break the source's rules are left out (the checker quarantines them). */
  rules?: KitsRowRules;
}

export function standardizeRows(
  csvText: string | Buffer,
  opts: StandardizeOptions,
  onRow: (row: StdRow) => void,
): { rows: number; badRows: BadRow[]; perf: Map<string, SensorVolume> } {
  let header: string[] | undefined;
  let ix!: Record<string, number>;
  let intIx!: number[];
  const badRows: BadRow[] = [];
  const perf = new Map<string, SensorVolume>();
  const clock = new WallClock(opts.zone);
  const seen = new Map<string, number>();
  const ints = new Array<number>(INT_LIST.length);
  let rows = 0;
  let checker: ReturnType<KitsRowRules> | undefined;
  const bad = (row: number, field: string, message: string) =>
    badRows.push({ row, field, message: `${opts.file} row ${row}: ${message}; row skipped` });

  /** Records read so far (the header is record 0, so data row N is record N). */
  let r = -1;
  const each = (rec: string[], line: number) => {
    r++;
    if (!header) {
      header = rec.map((h) => h.trim());
      const missing = CSV_HEADER.filter((c) => !header!.includes(c));
      if (missing.length) {
        throw new Error(`${opts.file}: header line lacks column(s) ${missing.join(", ")}; expected ${CSV_HEADER.join(",")}`);
      }
      ix = Object.fromEntries(CSV_HEADER.map((c) => [c, header!.indexOf(c)])) as Record<string, number>;
      intIx = INT_LIST.map((c) => ix[c]!);
      checker = opts.rules?.(header);
      return;
    }
    if (rec.length !== header.length) {
      bad(r, "(row)", `${rec.length} fields where the header has ${header.length}`);
      return;
    }
    // Values outside the source's declared ranges, or a time outside the file's day: quarantined with the file's line.
    if (checker && !checker.accept((c) => rec[c], { file: opts.file, line, text: () => rec.join(",") })) return;
    for (let i = 0; i < INT_LIST.length; i++) {
      const text = rec[intIx[i]!]!;
      if (!INT_RE.test(text)) {
        const name = INT_LIST[i]!;
        bad(r, name, `field "${name}" is ${text === "" ? "empty" : JSON.stringify(text)}, not an integer`);
        return;
      }
      ints[i] = +text;
    }
    const [detID, intID, volume, occupancy, speed, uploadSuccess, detCountComparison, dailyCumulative] = ints as [
      number, number, number, number, number, number, number, number,
    ];
    const wall = rec[ix.curDateTime!]!.trim();
    let occurrence = 0;
    if (wall !== "" && clock.isAmbiguous(wall)) {
      const key = `${detID}\u0000${wall}`;
      occurrence = seen.get(key) ?? 0;
      seen.set(key, occurrence + 1);
    }
    const t = wall === "" ? undefined : clock.at(wall, occurrence);
    if (!t) {
      bad(r, "curDateTime", wall === "" ? `field "curDateTime" is empty` : `field "curDateTime" is ${JSON.stringify(wall)}, not a local time YYYY-MM-DD HH:MM:SS`);
      return;
    }
    const intName = rec[ix.intName!]!;
    onRow({
      detID,
      intID,
      curDateTime: t.text,
      intName,
      detName: rec[ix.detName!]!,
      volume,
      occupancy,
      speed,
      status: rec[ix.status!]!,
      uploadSuccess,
      detCountComparison,
      dailyCumulative,
    });
    rows++;
    // Per-intersection volume for perfmet (fixes B11: empty names are skipped, times compared as instants).
    if (intName !== "" && intName.toLowerCase() !== "nan") {
      let p = perf.get(intName);
      if (!p) perf.set(intName, (p = { volume: 0, min: undefined, max: undefined }));
      p.volume += volume;
      if (!p.min || t.dt < p.min) p.min = t.dt;
      if (!p.max || t.dt > p.max) p.max = t.dt;
    }
  };
  forEachCsvRecord(csvText, each, (line, message) => bad(++r, "(row)", `line ${line} ${message}`));
  if (!header) throw new Error(`${opts.file}: the file is empty (no header line); expected ${CSV_HEADER.join(",")}`);
  return { rows, badRows, perf };
}

/** Raw CSV → standardized JSON rows (original §9.2.2); see standardizeRows. */
export function standardize(
  csvText: string | Buffer,
  opts: StandardizeOptions,
): { data: StdRow[]; badRows: BadRow[]; perf: Map<string, SensorVolume> } {
  const data: StdRow[] = [];
  const { badRows, perf } = standardizeRows(csvText, opts, (row) => data.push(row));
  return { data, badRows, perf };
}

/** A JSON number as pyJson writes it (integers, the common case, directly). */
function numJson(v: unknown): string {
  return typeof v === "number" && Number.isInteger(v) ? String(v) : pyJson(v);
}

const STD_KEYS = ["detID", "intID", "curDateTime", "intName", "detName", "volume", "occupancy", "speed", "status", "uploadSuccess", "detCountComparison", "dailyCumulative"] as const;
const READY_KEYS = [...STD_KEYS, "device_id"] as const;

/** pyJson(row) of a row with the STD_KEYS, without its closing brace (a ready row adds its device_id). */
function stdRowOpen(row: StdRow): string {
  return (
    `{"detID": ${numJson(row.detID)}, "intID": ${numJson(row.intID)}, "curDateTime": ${pyJson(row.curDateTime)}, ` +
    `"intName": ${pyJson(row.intName)}, "detName": ${pyJson(row.detName)}, "volume": ${numJson(row.volume)}, ` +
    `"occupancy": ${numJson(row.occupancy)}, "speed": ${numJson(row.speed)}, "status": ${pyJson(row.status)}, ` +
    `"uploadSuccess": ${numJson(row.uploadSuccess)}, "detCountComparison": ${numJson(row.detCountComparison)}, ` +
    `"dailyCumulative": ${numJson(row.dailyCumulative)}`
  );
}

/**
 * Raw CSV → the standardized JSON text `{"header": …, "data": […]}`, byte for byte pyJson of the standardize
 * result under `header`, written a row at a time (no list of row objects for the whole day).
 */
export function standardizeJson(
  csvText: string | Buffer,
  opts: StandardizeOptions,
  header: WtHeader,
): { body: Buffer; rows: number; badRows: BadRow[]; perf: Map<string, SensorVolume> } {
  const sink = new Utf8Sink(csvText.length * 3.5);
  sink.write(`{"header": ${pyJson(header)}, "data": [`);
  let first = true;
  const result = standardizeRows(csvText, opts, (row) => {
    sink.write(first ? `${stdRowOpen(row)}}` : `, ${stdRowOpen(row)}}`);
    first = false;
  });
  sink.write("]}");
  return { body: sink.toBuffer(), ...result };
}

// ------------------------------------------------------------------------------------------------ ready

/** Keys of a device that hold integers (written as integers even when another device lacks them: fixes B46). */
const DEVICE_INT_KEYS = new Set(["atd_device_id", "coa_intersection_id", "primary_st_segment_id", "cross_st_segment_id", "kits_id"]);
const DEVICE_FLOAT_KEYS = new Set(["lat", "lon"]);

function asInt(v: unknown): number | null {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : null;
}

function asFloat(v: unknown): number | null {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/**
 * The original's device hash: MD5 of str(device_type) + str(device_name) + str(device_ip) + str(lat) + str(lon).
 * lat/lon are floats in a pandas column: 30.0 prints "30.0", a missing one "nan" (or "None" when no device has a
 * coordinate, the column then being of objects).
 */
export function deviceId(device: UnitDevice, coordColumns: { lat: boolean; lon: boolean } = { lat: true, lon: true }): string {
  const coord = (key: "lat" | "lon") => {
    const v = asFloat(device[key]);
    if (v !== null) return new PyFloat(v);
    return coordColumns[key] ? new PyFloat(Number.NaN) : null;
  };
  return md5Concat(device.device_type ?? null, device.device_name ?? null, device.device_ip ?? null, coord("lat"), coord("lon"));
}

export interface ReadyRow extends StdRow {
  device_id: string;
}

export interface ReadyResult {
  json: { header: WtHeader; data: ReadyRow[]; devices: Record<string, unknown>[] };
  /** Rows dropped because no inventory device has their intID as kits_id, per intersection. */
  dropped: Map<number, { intName: string; rows: number }>;
}

/** Parses a str(datetime) to epoch ms (memoised by the caller). */
function instantOf(text: string): number {
  const ms = Date.parse(text.replace(" ", "T"));
  if (Number.isNaN(ms)) throw new Error(`Cannot read timestamp "${text}"`);
  return ms;
}

/**
 * Standardized JSON + unit data → ready JSON (original §9.2.3): rows inner-joined on intID == kits_id with the
 * device's hash id (several devices with one kits_id give one row each), sorted by time then detID; devices = the
 * referenced ones with their id. Rows of intersections missing from the inventory are dropped and counted.
 * The rows of `std` are extended in place (it is read for this call only).
 */
export function ready(std: StdJson, devices: UnitDevice[], processingDate: DateTime): ReadyResult {
  const j = joinReady(std, devices, processingDate);
  return { json: { header: j.header, data: j.rows, devices: j.devices }, dropped: j.dropped };
}

/**
 * ready() as UTF-8 JSON bytes: byte for byte pyJson(ready(...).json), rows written from their known keys (a row
 * with other keys, from a file not written by wt-json-standard, is written by pyJson). Empties std.data.
 */
export function readyJson(std: StdJson, devices: UnitDevice[], processingDate: DateTime): { body: Buffer; rows: number; dropped: ReadyResult["dropped"] } {
  const j = joinReady(std, devices, processingDate);
  std.data = []; // the joined rows are let go one by one as they are written
  const rows = j.rows;
  const sink = new Utf8Sink(rows.length * 320);
  sink.write(`{"header": ${pyJson(j.header)}, "data": [`);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const text = hasKeys(row, READY_KEYS) ? `${stdRowOpen(row)}, "device_id": ${pyJson(row.device_id)}}` : pyJson(row);
    sink.write(i > 0 ? `, ${text}` : text);
    rows[i] = undefined as unknown as ReadyRow;
  }
  sink.write(`], "devices": ${pyJson(j.devices)}}`);
  return { body: sink.toBuffer(), rows: rows.length, dropped: j.dropped };
}

function hasKeys(row: object, keys: readonly string[]): boolean {
  const own = Object.keys(row);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) if (own[i] !== keys[i]) return false;
  return true;
}

function joinReady(std: StdJson, devices: UnitDevice[], processingDate: DateTime) {
  const coordColumns = {
    lat: devices.some((d) => asFloat(d.lat) !== null),
    lon: devices.some((d) => asFloat(d.lon) !== null),
  };
  const ids = devices.map((d) => deviceId(d, coordColumns));
  const byKits = new Map<number, string[]>();
  devices.forEach((d, i) => {
    const k = asInt(d.kits_id);
    if (k === null) return;
    const list = byKits.get(k) ?? [];
    list.push(ids[i]!);
    byKits.set(k, list);
  });

  const joined: ReadyRow[] = [];
  const times: number[] = [];
  const dropped = new Map<number, { intName: string; rows: number }>();
  const instants = new Map<string, number>();
  for (const row of std.data) {
    const matches = byKits.get(row.intID);
    if (!matches) {
      const d = dropped.get(row.intID) ?? { intName: row.intName, rows: 0 };
      d.rows++;
      dropped.set(row.intID, d);
      continue;
    }
    let t = instants.get(row.curDateTime);
    if (t === undefined) instants.set(row.curDateTime, (t = instantOf(row.curDateTime)));
    if (matches.length === 1) {
      // The common case: extend the parsed row in place rather than copying a day of rows.
      const extended = row as ReadyRow;
      extended.device_id = matches[0]!;
      joined.push(extended);
      times.push(t);
    } else {
      for (const id of matches) {
        joined.push({ ...row, device_id: id });
        times.push(t);
      }
    }
  }
  // Stable sort by instant then detID (the original sorted the text; instants also order the fall-back hour).
  const order = Array.from(joined, (_, i) => i);
  order.sort((a, b) => times[a]! - times[b]! || joined[a]!.detID - joined[b]!.detID || a - b);
  const rows = order.map((i) => joined[i]!);

  const used = new Set(rows.map((r) => r.device_id));
  const outDevices: Record<string, unknown>[] = [];
  devices.forEach((d, i) => {
    if (!used.has(ids[i]!)) return;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d)) {
      if (DEVICE_INT_KEYS.has(k)) out[k] = asInt(v);
      else if (DEVICE_FLOAT_KEYS.has(k)) {
        const f = asFloat(v);
        out[k] = f === null ? null : new PyFloat(f);
      } else out[k] = v;
    }
    out.device_id = ids[i];
    outDevices.push(out);
  });

  return { header: { ...std.header, processing_date: pyStrDate(processingDate) }, rows, devices: outDevices, dropped };
}

// ------------------------------------------------------------------------------------------------ Socrata

export interface SocrataRow {
  [key: string]: string | number;
  detid: number;
  int_id: number;
  curdatetime: string;
  intname: string;
  detname: string;
  volume: number;
  occupancy: number;
  speed: number;
  month: number;
  day: number;
  year: number;
  hour: number;
  minute: number;
  day_of_week: number;
  timebin: string;
  direction: string;
  row_id: string;
}

/**
 * The 15-minute bin of a time: minutes rounded to the nearest quarter hour. Minutes 53–59 round to the next hour
 * (10:53 → "11:00", 23:55 → "00:00"), where the original wrote "10:60" (fixes B18).
 */
export function timebin(hour: number, minute: number): string {
  let m = Math.round(minute / 15) * 15; // integer minutes never sit exactly on a half, so no half-even question
  let h = hour;
  if (m === 60) {
    m = 0;
    h = (h + 1) % 24;
  }
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

const STR_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?([+-]\d{2}:\d{2}|Z)?$/;

interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  socrata: string;
  dayOfWeek: number;
  /** Text hashed into row_id: the Socrata time, plus the offset for the second pass through a repeated hour. */
  hashTime: string;
  timebin: string;
}

/** Same wall clock to the second (what comparing their "yyyy-MM-dd HH:mm:ss" texts tells, without formatting). */
function sameWall(a: DateTime, b: DateTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;
}

/** Reads the local wall clock of a ready row's timestamp (the offset it carries), memoised per text. */
export class SocrataTimes {
  private readonly memo = new Map<string, TimeParts>();
  constructor(readonly zone: string) {}

  parts(text: string): TimeParts {
    let p = this.memo.get(text);
    if (p) return p;
    const m = STR_RE.exec(text);
    // The timestamp's own offset, as the original's arrow.get() kept it (the lake writes the local one); a time
    // without an offset is local wall clock in the lake's zone, never the host's.
    const dt = m ? DateTime.fromISO(text.replace(" ", "T"), { zone: this.zone, setZone: true }) : undefined;
    if (!dt?.isValid) throw new Error(`timestamp "${text}" is not YYYY-MM-DD HH:MM:SS±HH:MM`);
    const socrata = socrataTime(dt);
    let hashTime = socrata;
    if (m![8]) {
      const local = dt.setZone(this.zone);
      // The second pass through the fall-back hour shows the same wall clock as one hour earlier: give it its own id.
      if (sameWall(local, dt) && sameWall(dt.minus({ hours: 1 }).setZone(this.zone), local)) {
        hashTime = `${socrata}${m![8]}`;
      }
    }
    // Sunday = 0: the original's (weekday() + 1) % 7 with Monday = 0; luxon's weekday is Monday = 1 … Sunday = 7.
    p = { year: dt.year, month: dt.month, day: dt.day, hour: dt.hour, minute: dt.minute, socrata, dayOfWeek: dt.weekday % 7, hashTime, timebin: timebin(dt.hour, dt.minute) };
    this.memo.set(text, p);
    return p;
  }
}

/** The text before the first "_" of a detector name (its direction: "NB_in" → "NB"). */
function directionOf(detName: string): string {
  const i = detName.indexOf("_");
  return i < 0 ? detName : detName.slice(0, i);
}

/** One ready row → one Socrata row of "Radar Traffic Counts" (original §9.2.4), with row_id. */
export function socrataRow(row: StdRow, times: SocrataTimes): SocrataRow {
  const t = times.parts(row.curDateTime);
  const detName = row.detName ?? "";
  const out: SocrataRow = {
    detid: row.detID,
    int_id: row.intID,
    curdatetime: t.socrata,
    intname: row.intName,
    detname: detName,
    volume: row.volume,
    occupancy: row.occupancy,
    speed: row.speed,
    month: t.month,
    day: t.day,
    year: t.year,
    hour: t.hour,
    minute: t.minute,
    day_of_week: t.dayOfWeek,
    timebin: t.timebin,
    direction: directionOf(detName),
    row_id: "",
  };
  out.row_id = md5Concat(row.intName, t.hashTime, row.detID);
  return out;
}
