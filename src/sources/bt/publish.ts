/**
 * Bluetooth publish rows (original §9.1.4): ready rows → the three datasets' row shapes with MD5 record ids, and the
 * daily device-address numbering.
 *
 * Numbering (fixes B1/B29): the device_address of a dev_addr is its 1-based rank among the day's distinct dev_addr
 * values, taken in this order: the day's unmatched ready file in its row order (host_timestamp, reader_id), then the
 * addresses only seen in the day's matched ready file in its row order (start_time, origin, destination). It depends
 * only on the day's two ready files, never on which days or file types share a run, so reprocessing gives the same
 * record ids. Null dev_addr gets a null device_address.
 *
 * A ready file is read once into HeldRows (the fields publishing needs, compactly), then publishRows() builds the
 * rows with each distinct time and device resolved once.
 */
import type { PublishRow } from "../../support/drivers.js";
import { hash } from "node:crypto";
import { pyStr } from "../../util/pyjson.js";
import { IntList, JsonRow, readJsonRows, ValueIds, type JsonInput } from "../../util/json-rows.js";
import type { BtFileType } from "./files.js";
import { socrataWallTime, socrataWallTimeOfBytes, weekdayName } from "./times.js";

export const DATASET_KEYS: Record<BtFileType, string> = {
  traf_match_summary: "bt.traf_match_summary",
  matched: "bt.matched",
  unmatched: "bt.unmatched",
};
export const ROW_ID_FIELD = "record_id";

/**
 * A string that does not share memory with a larger one. Values cut out of a big text (regex matches, slices) keep
 * the whole text alive while they are kept; a table of them would otherwise pin every chunk it was read from.
 */
export function ownCopy(s: string): string {
  return (s + " ").slice(0, -1);
}

type DeviceNames = Map<string, string>;

/** device_id → device_name of a ready file's devices (last one wins, as the original's dict). */
export function deviceNames(devices: unknown): DeviceNames {
  const out: DeviceNames = new Map();
  if (!Array.isArray(devices)) return out;
  for (const d of devices as Record<string, unknown>[]) if (typeof d.device_id === "string" && typeof d.device_name === "string") out.set(d.device_id, d.device_name);
  return out;
}

/** The ready fields each dataset's rows are built from (publishRows()). */
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

/** Fields held as value ids: device ids and dev_addr (the others as their values, times as their wall time). */
const ID_FIELDS = new Set(["dev_addr", "device_id", "origin_device_id", "dest_device_id"]);
const TIME_FIELDS = new Set(["host_timestamp", "field_timestamp", "start_time", "end_time", "timestamp"]);
const asIs = (v: unknown) => v;

/**
 * The rows of a ready file as bt-extract-soc needs them, held compactly, per publish field: device ids and dev_addr
 * as value ids (ValueIds: each distinct value once; the dev_addr ids of the day's files are shared, so they follow
 * first appearance over the day: the numbering), time fields as their Socrata wall time (socrataWallTime(): null
 * when missing or not a time), the other fields as their values (one string per run of equal values).
 */
export class HeldRows {
  readonly fields: readonly string[];
  readonly ids: ValueIds[];
  readonly rowIds: IntList[];
  readonly values: unknown[][];
  private readonly idField: boolean[];
  private readonly convert: ((v: unknown) => unknown)[];
  private readonly convertBytes: (((buf: Uint8Array, start: number, end: number) => unknown) | undefined)[];
  length = 0;

  /** `devAddrIds`: the day's dev_addr ids, shared by the day's files. */
  constructor(
    readonly fileType: BtFileType,
    devAddrIds?: ValueIds,
  ) {
    this.fields = PUBLISH_FIELDS[fileType];
    this.idField = this.fields.map((f) => ID_FIELDS.has(f));
    this.convert = this.fields.map((f) => (TIME_FIELDS.has(f) ? socrataWallTime : asIs));
    this.convertBytes = this.fields.map((f) => (TIME_FIELDS.has(f) ? socrataWallTimeOfBytes : undefined));
    this.ids = this.fields.map((f) => (f === "dev_addr" && devAddrIds ? devAddrIds : new ValueIds()));
    this.rowIds = this.fields.map(() => new IntList());
    this.values = this.fields.map(() => []);
  }

  /** Column of a field, or -1. */
  column(field: string): number {
    return this.fields.indexOf(field);
  }

  /** Holds a row read through JsonRow(this.fields). */
  take(row: JsonRow): void {
    for (let k = 0; k < this.fields.length; k++) {
      if (this.idField[k]) this.rowIds[k]!.push(row.id(k, this.ids[k]!));
      else this.values[k]!.push(row.mapped(k, this.convert[k]!, this.convertBytes[k]));
    }
    this.length++;
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

/** Why a ready row could not be published (counted per reason). */
export type RowSkip = { skip: string };

export function isSkip(v: unknown): v is RowSkip {
  return typeof v === "object" && v !== null && "skip" in v;
}

/** Per value id, a result computed once (device ids repeat over many rows). */
function perId<T>(ids: ValueIds, fn: (v: unknown) => T): (id: number) => T {
  const cache: T[] = [];
  const known: boolean[] = [];
  return (id) => {
    if (known[id]) return cache[id]!;
    known[id] = true;
    return (cache[id] = fn(ids.value(id)));
  };
}

/** record_id = MD5 of the Python str() of each field, concatenated (as md5Concat, with the one-shot hash). */
function withId(entry: PublishRow, fields: readonly string[]): PublishRow {
  let text = "";
  for (const f of fields) text += pyStr(entry[f]);
  entry.record_id = hash("md5", text, "hex");
  return entry;
}

const SUMMARY_ID = ["timestamp", "origin_reader_identifier", "destination_reader_identifier", "segment_length_miles"] as const;
const MATCHED_ID = ["start_time", "end_time", "origin_reader_identifier", "destination_reader_identifier", "device_address"] as const;

/** Rows per batch handed over. */
const BATCH = 1000;

/**
 * The publish rows of a ready file's held rows, in file order and in batches, with their record ids; a row with a
 * missing or unparseable time, or a device id not among the file's devices, is skipped (onSkip gets the reason).
 * Reader identifiers are the device names of the row's device ids. `numbers`: addressNumbers() of the day (unused
 * for summaries).
 */
export function* publishRows(
  rows: HeldRows,
  devices: DeviceNames,
  numbers: Int32Array | undefined,
  onSkip: (reason: string) => void,
): Generator<PublishRow[]> {
  const col = (f: string) => rows.column(f);
  const valueOf = (f: string) => {
    const values = rows.values[col(f)]!;
    return (i: number) => (values[i] === undefined ? null : (values[i] as string | null));
  };
  const timeOf = (f: string) => {
    const walls = rows.values[col(f)]! as (string | null)[];
    const skipped: RowSkip = { skip: `${f} missing or not a time` };
    return (i: number): string | RowSkip => walls[i] ?? skipped;
  };
  const nameOf = (f: string, which: string) => {
    const data = rows.rowIds[col(f)]!.data;
    const skipped: RowSkip = { skip: `${which} device id not among the file's devices` };
    const name = perId(rows.ids[col(f)]!, (id) => (typeof id === "string" ? devices.get(id) : undefined) ?? skipped);
    return (i: number) => name(data[i]!);
  };
  const addressOf = () => {
    const data = rows.rowIds[col("dev_addr")]!.data;
    return (i: number): number | null => (numbers && numbers[data[i]!]) || null;
  };
  // Each case: the fields' accessors, then per row the checks in the original's order and the row.
  let next: (i: number) => PublishRow | RowSkip;
  switch (rows.fileType) {
    case "unmatched": {
      const host = timeOf("host_timestamp");
      const field = timeOf("field_timestamp");
      const reader = nameOf("device_id", "reader");
      const address = addressOf();
      next = (i) => {
        const h = host(i);
        if (isSkip(h)) return h;
        const f = field(i);
        if (isSkip(f)) return f;
        const r = reader(i);
        if (isSkip(r)) return r;
        const a = address(i);
        // record_id: str() of host_read_time, reader_identifier, device_address.
        return { host_read_time: h, field_device_read_time: f, reader_identifier: r, device_address: a, record_id: hash("md5", h + r + (a === null ? "None" : String(a)), "hex") };
      };
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
      const address = addressOf();
      let lastStart = "";
      let lastDay = "";
      const weekday = (wall: string) => (wall === lastStart ? lastDay : (lastDay = weekdayName((lastStart = wall))));
      next = (i) => {
        const o = origin(i);
        if (isSkip(o)) return o;
        const d = dest(i);
        if (isSkip(d)) return d;
        const st = start(i);
        if (isSkip(st)) return st;
        const en = end(i);
        if (isSkip(en)) return en;
        return withId(
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
        );
      };
      break;
    }
    case "traf_match_summary": {
      const origin = nameOf("origin_device_id", "origin");
      const dest = nameOf("dest_device_id", "destination");
      const ts = timeOf("timestamp");
      const v = (f: string) => valueOf(f);
      const [oRoad, oCross, oDir, dRoad, dCross, dDir, len, avgTime, avgSpeed, interval, samples, std] = [
        "origin_road", "origin_cross_st", "origin_dir", "dest_road", "dest_cross_st", "dest_dir", "seg_length", "avg_travel_time", "avg_speed", "interval", "samples", "std_dev",
      ].map(v) as ((i: number) => string | null)[];
      next = (i) => {
        const o = origin(i);
        if (isSkip(o)) return o;
        const d = dest(i);
        if (isSkip(d)) return d;
        const t = ts(i);
        if (isSkip(t)) return t;
        return withId(
          {
            origin_reader_identifier: o,
            destination_reader_identifier: d,
            origin_roadway: oRoad!(i),
            origin_cross_street: oCross!(i),
            origin_direction: oDir!(i),
            destination_roadway: dRoad!(i),
            destination_cross_street: dCross!(i),
            destination_direction: dDir!(i),
            segment_length_miles: len!(i),
            timestamp: t,
            average_travel_time_seconds: avgTime!(i),
            average_speed_mph: avgSpeed!(i),
            summary_interval_minutes: interval!(i),
            number_samples: samples!(i),
            standard_deviation: std!(i),
          },
          SUMMARY_ID,
        );
      };
      break;
    }
  }
  // Rows are handed over in batches (one await per batch rather than per row).
  let batch: PublishRow[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = next(i);
    if (isSkip(row)) onSkip(row.skip);
    else batch.push(row);
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
