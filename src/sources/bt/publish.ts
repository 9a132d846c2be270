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


/** device_id → device_name of a ready file's devices (last one wins, as the original's dict). */
export function deviceNames(devices: unknown): DeviceNames {
  const out: DeviceNames = new Map();
  if (!Array.isArray(devices)) return out;
  for (const d of devices as Row[]) if (typeof d.device_id === "string" && typeof d.device_name === "string") out.set(d.device_id, d.device_name);
  return out;
}
