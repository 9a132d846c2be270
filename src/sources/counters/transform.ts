/**
 * The counter feed's own code: a day's CSV of per-minute counts (`counter_id,time,count`, ISO times with their UTC
 * offset) → 15-minute bins per counter. Pure: text in, rows out.
 */
import { createHash } from "node:crypto";
import { parse } from "csv-parse/sync";
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";

export const BIN_MINUTES = 15;
const BIN_MS = BIN_MINUTES * 60_000;
/** YYYY-MM-DDTHH:MM[:SS[.fff]] with Z or ±HH:MM: an instant, whatever zone wrote it. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

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
  const startMs = day.toMillis();
  const endMs = day.plus({ days: 1 }).toMillis();
  const bins = new Map<string, CounterBin>();
  // Bin starts repeat (96 a day per counter): each is formatted once. Every offset of a real zone is a whole number
  // of 15 minutes, so a local 15-minute bin starts at an instant that is a multiple of 15 minutes.
  const binText = new Map<number, string>();
  const bad: BinResult["bad"] = [];
  rows.forEach((r, i) => {
    const line = i + 2;
    if (r.length !== 3) return void bad.push({ line, reason: `expected 3 fields, found ${r.length}` });
    const [id, time, countText] = r as [string, string, string];
    const ms = ISO_WITH_OFFSET.test(time) ? Date.parse(time) : Number.NaN;
    const count = Number(countText);
    if (!id) return void bad.push({ line, reason: "counter_id is empty" });
    if (Number.isNaN(ms)) return void bad.push({ line, reason: `time "${time}" is not an ISO date-time with its offset` });
    if (ms < startMs || ms >= endMs) return void bad.push({ line, reason: `time ${time} is outside the file's day ${day.toISODate()}` });
    if (!Number.isInteger(count) || count < 0) return void bad.push({ line, reason: `count "${countText}" is not a whole number ≥ 0` });
    const binMs = ms - ((ms % BIN_MS) + BIN_MS) % BIN_MS;
    let bin_start = binText.get(binMs);
    if (bin_start === undefined) {
      bin_start = DateTime.fromMillis(binMs, { zone: day.zone }).toISO({ suppressMilliseconds: true })!;
      binText.set(binMs, bin_start);
    }
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
