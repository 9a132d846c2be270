/**
 * The counter feed's own code: a day's CSV of per-minute counts (`counter_id,time,count`, ISO times with their UTC
 * offset) → 15-minute bins per counter. Pure: text in, rows out.
 */
import { createHash } from "node:crypto";
import { parse } from "csv-parse/sync";
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";

export const BIN_MINUTES = 15;

export interface CounterBin {
  counter_id: string;
  /** Local start of the bin, ISO with offset (the fall-back day has two 01:00 bins, told apart by it). */
  bin_start: string;
  count: number;
  readings: number;
}

export interface BinResult {
  bins: CounterBin[];
  /** Rows that could not be read, with line and reason. */
  bad: { line: number; reason: string }[];
}

/** Bins a day's readings; a reading outside [day, day + 1) local is bad input, not another day's count. */
export function binCounts(csv: string, day: DateTime, where: string): BinResult {
  let records: string[][];
  try {
    records = parse(csv, { relax_column_count: true, skip_empty_lines: true, bom: true });
  } catch (err) {
    throw new TerminalError(`${where}: not CSV (${(err as Error).message})`, { cause: err });
  }
  const [header, ...rows] = records;
  if (!header || header.join(",") !== "counter_id,time,count") {
    throw new TerminalError(`${where}: line 1 must be the header "counter_id,time,count", found ${JSON.stringify(header?.join(",") ?? "")}`);
  }
  const end = day.plus({ days: 1 });
  const bins = new Map<string, CounterBin>();
  const bad: BinResult["bad"] = [];
  rows.forEach((r, i) => {
    const line = i + 2;
    if (r.length !== 3) return void bad.push({ line, reason: `expected 3 fields, found ${r.length}` });
    const [id, time, countText] = r as [string, string, string];
    const t = DateTime.fromISO(time, { zone: day.zone, setZone: false });
    const count = Number(countText);
    if (!id) return void bad.push({ line, reason: "counter_id is empty" });
    if (!t.isValid) return void bad.push({ line, reason: `time "${time}" is not an ISO date-time` });
    if (t < day || t >= end) return void bad.push({ line, reason: `time ${time} is outside the file's day ${day.toISODate()}` });
    if (!Number.isInteger(count) || count < 0) return void bad.push({ line, reason: `count "${countText}" is not a whole number ≥ 0` });
    const local = t.setZone(day.zone);
    const start = local.set({ minute: local.minute - (local.minute % BIN_MINUTES), second: 0, millisecond: 0 });
    const bin_start = start.toISO({ suppressMilliseconds: true })!;
    const key = `${id}\u0000${bin_start}`;
    const bin = bins.get(key) ?? { counter_id: id, bin_start, count: 0, readings: 0 };
    bin.count += count;
    bin.readings += 1;
    bins.set(key, bin);
  });
  const sorted = [...bins.values()].sort((a, b) => (a.counter_id < b.counter_id ? -1 : a.counter_id > b.counter_id ? 1 : Date.parse(a.bin_start) - Date.parse(b.bin_start)));
  return { bins: sorted, bad };
}

/** The published row of a bin: its id is the counter and the bin's instant, so a rerun replaces it. */
export function binRow(bin: CounterBin): Record<string, string | number> {
  const record_id = createHash("md5").update(`${bin.counter_id}|${Date.parse(bin.bin_start)}`).digest("hex");
  return { record_id, ...bin };
}
