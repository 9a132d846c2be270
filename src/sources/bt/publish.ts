/**
 * Bluetooth publish rows (original §9.1.4): ready rows → the three datasets' row shapes with MD5 record ids, and the
 * daily device-address counter.
 *
 * Counter (fixes B1/B29): the device_address of a dev_addr is its 1-based rank among the day's distinct dev_addr
 * values, taken in this order: the day's unmatched ready file in its row order (host_timestamp, reader_id), then the
 * addresses only seen in the day's matched ready file in its row order (start_time, origin, destination). It depends
 * only on the day's two ready files, never on which days or file types share a run, so reprocessing gives the same
 * record ids. Null dev_addr gets a null device_address.
 */
import type { PublishRow } from "../../support/drivers.js";
import { hash } from "node:crypto";
import { pyStr } from "../../util/pyjson.js";
import { IntList, JsonRow, readJsonRows, ValueIds, type JsonInput } from "../../util/json-rows.js";
import type { BtFileType } from "./files.js";
import { socrataWallTime, weekdayName } from "./times.js";

export const DATASET_KEYS: Record<BtFileType, string> = {
  traf_match_summary: "bt.traf_match_summary",
  matched: "bt.matched",
  unmatched: "bt.unmatched",
};
export const ROW_ID_FIELD = "record_id";

/**
 * A string that does not share memory with a larger one. Values cut out of a big text (regex matches, slices) keep
 * the whole text alive while they are kept; a day's address table would otherwise pin every chunk it was read from.
 */
export function ownCopy(s: string): string {
  return (s + " ").slice(0, -1);
}

/** Builds the day's numbering; feed unmatched rows first, then matched rows. */
export class DailyAddressCounter {
  private readonly numbers = new Map<string, number>();
  /** Numbers an address at its first appearance; returns its number (null for a null address). */
  add(devAddr: unknown): number | null {
    if (typeof devAddr !== "string") return null;
    let n = this.numbers.get(devAddr);
    if (n === undefined) this.numbers.set(ownCopy(devAddr), (n = this.numbers.size + 1));
    return n;
  }
  get(devAddr: unknown): number | null {
    return typeof devAddr === "string" ? (this.numbers.get(devAddr) ?? null) : null;
  }
  get size(): number {
    return this.numbers.size;
  }
}

/** Why a ready row could not be published (counted per reason). */
export type RowSkip = { skip: string };

type Row = Record<string, unknown>;
type DeviceNames = Map<string, string>;

function deviceName(devices: DeviceNames, id: unknown, which: string): string | RowSkip {
  const name = typeof id === "string" ? devices.get(id) : undefined;
  return name ?? { skip: `${which} device id not among the file's devices` };
}

function time(v: unknown, column: string): string | RowSkip {
  return socrataWallTime(v) ?? { skip: `${column} missing or not a time` };
}

export function isSkip(v: unknown): v is RowSkip {
  return typeof v === "object" && v !== null && "skip" in v;
}

/** record_id: as md5Concat (Python str() of each field, concatenated), with the one-shot hash (many rows). */
function withId(entry: PublishRow, fields: readonly string[]): PublishRow {
  let text = "";
  for (const f of fields) text += pyStr(entry[f]);
  entry.record_id = hash("md5", text, "hex");
  return entry;
}

const SUMMARY_ID = ["timestamp", "origin_reader_identifier", "destination_reader_identifier", "segment_length_miles"] as const;
const MATCHED_ID = ["start_time", "end_time", "origin_reader_identifier", "destination_reader_identifier", "device_address"] as const;
const UNMATCHED_ID = ["host_read_time", "reader_identifier", "device_address"] as const;

const s = (v: unknown) => (v === undefined ? null : (v as string | null));

export function summaryRow(line: Row, devices: DeviceNames): PublishRow | RowSkip {
  const origin = deviceName(devices, line.origin_device_id, "origin");
  if (isSkip(origin)) return origin;
  const dest = deviceName(devices, line.dest_device_id, "destination");
  if (isSkip(dest)) return dest;
  const ts = time(line.timestamp, "timestamp");
  if (isSkip(ts)) return ts;
  return withId(
    {
      origin_reader_identifier: origin,
      destination_reader_identifier: dest,
      origin_roadway: s(line.origin_road),
      origin_cross_street: s(line.origin_cross_st),
      origin_direction: s(line.origin_dir),
      destination_roadway: s(line.dest_road),
      destination_cross_street: s(line.dest_cross_st),
      destination_direction: s(line.dest_dir),
      segment_length_miles: s(line.seg_length),
      timestamp: ts,
      average_travel_time_seconds: s(line.avg_travel_time),
      average_speed_mph: s(line.avg_speed),
      summary_interval_minutes: s(line.interval),
      number_samples: s(line.samples),
      standard_deviation: s(line.std_dev),
    },
    SUMMARY_ID,
  );
}

export function matchedRow(line: Row, devices: DeviceNames, deviceAddress: number | null): PublishRow | RowSkip {
  const origin = deviceName(devices, line.origin_device_id, "origin");
  if (isSkip(origin)) return origin;
  const dest = deviceName(devices, line.dest_device_id, "destination");
  if (isSkip(dest)) return dest;
  const start = time(line.start_time, "start_time");
  if (isSkip(start)) return start;
  const end = time(line.end_time, "end_time");
  if (isSkip(end)) return end;
  return withId(
    {
      device_address: deviceAddress,
      origin_reader_identifier: origin,
      destination_reader_identifier: dest,
      travel_time_seconds: s(line.travel_time_secs),
      speed_miles_per_hour: s(line.speed),
      match_validity: s(line.match_validity),
      filter_identifier: s(line.filter_id),
      start_time: start,
      end_time: end,
      day_of_week: weekdayName(start),
    },
    MATCHED_ID,
  );
}

export function unmatchedRow(line: Row, devices: DeviceNames, deviceAddress: number | null): PublishRow | RowSkip {
  const host = time(line.host_timestamp, "host_timestamp");
  if (isSkip(host)) return host;
  const field = time(line.field_timestamp, "field_timestamp");
  if (isSkip(field)) return field;
  const reader = deviceName(devices, line.device_id, "reader");
  if (isSkip(reader)) return reader;
  return withId(
    {
      host_read_time: host,
      field_device_read_time: field,
      reader_identifier: reader,
      device_address: deviceAddress,
    },
    UNMATCHED_ID,
  );
}

/** The publish row of a ready row; deviceAddress is the row's daily number (unused for summaries). */
export function publishRow(fileType: BtFileType, line: Row, devices: DeviceNames, deviceAddress: number | null): PublishRow | RowSkip {
  switch (fileType) {
    case "traf_match_summary":
      return summaryRow(line, devices);
    case "matched":
      return matchedRow(line, devices, deviceAddress);
    case "unmatched":
      return unmatchedRow(line, devices, deviceAddress);
  }
}


/** The fields each publish row is built from (the row functions above). */
export const PUBLISH_FIELDS: Record<BtFileType, readonly string[]> = {
  unmatched: ["host_timestamp", "field_timestamp", "device_id", "dev_addr"],
  matched: ["origin_device_id", "dest_device_id", "start_time", "end_time", "travel_time_secs", "speed", "match_validity", "filter_id", "dev_addr"],
  traf_match_summary: [
    "origin_device_id",
    "dest_device_id",
    "timestamp",
    "origin_road",
    "origin_cross_st",
    "origin_dir",
    "dest_road",
    "dest_cross_st",
    "dest_dir",
    "seg_length",
    "avg_travel_time",
    "avg_speed",
    "interval",
    "samples",
    "std_dev",
  ],
};

/**
 * The rows of a ready file as bt-extract-soc needs them, held compactly: per publish field, each row's value id
 * (ValueIds: each distinct value once, a value read in place never made into text unless asked for). The dev_addr
 * ids of the day's files are shared, so they follow first appearance over the day: the device_address numbering.
 */
export class HeldRows {
  readonly fields: readonly string[];
  readonly ids: ValueIds[];
  readonly rowIds: IntList[];
  length = 0;

  /** `devAddrIds`: the day's dev_addr ids, shared by the day's files. */
  constructor(
    readonly fileType: BtFileType,
    devAddrIds?: ValueIds,
  ) {
    this.fields = PUBLISH_FIELDS[fileType];
    this.ids = this.fields.map((f) => (f === "dev_addr" && devAddrIds ? devAddrIds : new ValueIds()));
    this.rowIds = this.fields.map(() => new IntList());
  }

  /** Column of a field, or -1. */
  column(field: string): number {
    return this.fields.indexOf(field);
  }

  /** Holds a row read through JsonRow(this.fields). */
  take(row: JsonRow): void {
    for (let k = 0; k < this.fields.length; k++) this.rowIds[k]!.push(row.id(k, this.ids[k]!));
    this.length++;
  }

  /** Value of field column k in row i, as JSON.parse gives it. */
  value(k: number, i: number): unknown {
    return this.ids[k]!.value(this.rowIds[k]!.get(i));
  }
}

/** One pass over a ready file: its rows held for publishing, and the devices it lists. */
export async function readReadyFile(
  body: JsonInput,
  fileType: BtFileType,
  devAddrIds: ValueIds | undefined,
  what: string,
): Promise<{ rows: HeldRows; devices: DeviceNames }> {
  const rows = new HeldRows(fileType, devAddrIds);
  const rest = await readJsonRows(body, "data", new JsonRow(rows.fields), (row) => rows.take(row), what);
  return { rows, devices: deviceNames(rest.devices) };
}

/** device_id → device_name of a ready file's devices (last one wins, as the original's dict). */
export function deviceNames(devices: unknown): DeviceNames {
  const out: DeviceNames = new Map();
  if (!Array.isArray(devices)) return out;
  for (const d of devices as Row[]) if (typeof d.device_id === "string" && typeof d.device_name === "string") out.set(d.device_id, d.device_name);
  return out;
}

/**
 * device_address of each dev_addr id of the day (ids are given in first-appearance order over the day's unmatched
 * then matched rows, see HeldRows): the 1-based rank among the string ids; 0 for null or any non-string value.
 */
export function addressNumbers(devAddrIds: ValueIds): Int32Array {
  const out = new Int32Array(devAddrIds.size);
  let n = 0;
  for (let id = 0; id < out.length; id++) if (devAddrIds.isString(id)) out[id] = ++n;
  return out;
}

/** Per value id, a result computed once (time texts and device ids repeat over many rows). */
function perId<T>(ids: ValueIds, fn: (v: unknown) => T): (id: number) => T {
  const cache: T[] = [];
  const known: boolean[] = [];
  return (id) => {
    if (known[id]) return cache[id]!;
    known[id] = true;
    return (cache[id] = fn(ids.value(id)));
  };
}

/**
 * The publish rows of held ready rows, in file order and in batches: the same rows, skips and record ids as
 * publishRow() on each parsed row, with each distinct time text and device id resolved once. `numbers`:
 * addressNumbers() of the day.
 */
export function* publishHeld(
  rows: HeldRows,
  devices: DeviceNames,
  numbers: Int32Array | undefined,
  onSkip: (reason: string) => void,
): Generator<PublishRow[]> {
  const col = (f: string) => rows.column(f);
  const idsOf = (f: string) => rows.rowIds[col(f)]!.data;
  const valueOf = (f: string) => {
    const data = idsOf(f);
    const v = perId(rows.ids[col(f)]!, s);
    return (i: number) => v(data[i]!);
  };
  const timeOf = (f: string) => {
    const data = idsOf(f);
    const skipped: RowSkip = { skip: `${f} missing or not a time` };
    const wall = perId(rows.ids[col(f)]!, (v) => socrataWallTime(v) ?? skipped);
    return (i: number): string | RowSkip => wall(data[i]!);
  };
  const nameOf = (f: string, which: string) => {
    const data = idsOf(f);
    const d = perId(rows.ids[col(f)]!, (v) => deviceName(devices, v, which));
    return (i: number) => d(data[i]!);
  };
  const addressOf = () => {
    const data = idsOf("dev_addr");
    return (i: number): number | null => (numbers && numbers[data[i]!]) || null;
  };
  const skip = (r: RowSkip) => onSkip(r.skip);
  // Rows are handed over in batches (one await per batch rather than per row).
  let batch: PublishRow[] = [];
  const emit = (row: PublishRow) => void batch.push(row);
  switch (rows.fileType) {
    case "unmatched": {
      const host = timeOf("host_timestamp");
      const field = timeOf("field_timestamp");
      const reader = nameOf("device_id", "reader");
      const address = addressOf();
      for (let i = 0; i < rows.length; i++) {
        const h = host(i);
        if (isSkip(h)) {
          skip(h);
          continue;
        }
        const f = field(i);
        if (isSkip(f)) {
          skip(f);
          continue;
        }
        const r = reader(i);
        if (isSkip(r)) {
          skip(r);
          continue;
        }
        const a = address(i);
        // record_id as withId(row, UNMATCHED_ID): str() of host_read_time, reader_identifier, device_address.
        emit({
          host_read_time: h,
          field_device_read_time: f,
          reader_identifier: r,
          device_address: a,
          record_id: hash("md5", h + r + (a === null ? "None" : String(a)), "hex"),
        });
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
      break;
    }
    case "matched": {
      const origin = nameOf("origin_device_id", "origin");
      const dest = nameOf("dest_device_id", "destination");
      const start = timeOf("start_time");
      const end = timeOf("end_time");
      const travel = valueOf("travel_time_secs");
      const speed = valueOf("speed");
      const validity = valueOf("match_validity");
      const filter = valueOf("filter_id");
      let lastStart = "";
      let lastDay = "";
      const weekday = (wall: string) => (wall === lastStart ? lastDay : (lastDay = weekdayName((lastStart = wall))));
      const address = addressOf();
      for (let i = 0; i < rows.length; i++) {
        const o = origin(i);
        if (isSkip(o)) {
          skip(o);
          continue;
        }
        const d = dest(i);
        if (isSkip(d)) {
          skip(d);
          continue;
        }
        const st = start(i);
        if (isSkip(st)) {
          skip(st);
          continue;
        }
        const en = end(i);
        if (isSkip(en)) {
          skip(en);
          continue;
        }
        emit(
          withId(
            {
              device_address: address(i),
              origin_reader_identifier: o,
              destination_reader_identifier: d,
              travel_time_seconds: travel(i),
              speed_miles_per_hour: speed(i),
              match_validity: validity(i),
              filter_identifier: filter(i),
              start_time: st,
              end_time: en,
              day_of_week: weekday(st),
            },
            MATCHED_ID,
          ),
        );
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
      break;
    }
    case "traf_match_summary": {
      // A few thousand rows a day: each row's fields back into an object, built by summaryRow().
      for (let i = 0; i < rows.length; i++) {
        const line: Row = {};
        rows.fields.forEach((f, k) => (line[f] = rows.value(k, i)));
        const row = summaryRow(line, devices);
        if (isSkip(row)) skip(row);
        else emit(row);
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
      break;
    }
  }
  if (batch.length) yield batch;
}

/** Rows per batch handed over. */
const BATCH = 1000;
