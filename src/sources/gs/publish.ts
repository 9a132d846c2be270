/**
 * gs-agg-extract-soc's row shaping (original §9.3.5): one aggregate row → one row of the "Camera Traffic Counts"
 * dataset (Socrata sh59-i6y9), with record_id = MD5 over intersection_name + read_date + heavy_vehicle ("True" /
 * "False") + direction + movement, each as Python str(), concatenated.
 *
 * Known limitation kept for id stability: read_date is local wall-clock time without an offset, so on the fall-back
 * day the two 01:00–02:00 hours give the same read_date and therefore the same record_id for the same direction,
 * movement and heavy flag; the later bin replaces the earlier one at the destination (as in the original).
 */
import { DateTime } from "luxon";
import { TerminalError } from "../../support/errors.js";
import type { PublishRow } from "../../support/drivers.js";
import { socrataTime } from "../../util/dates.js";
import { md5Concat } from "../../util/pyjson.js";
import { numericValue } from "../../util/pyjson-parse.js";

/** Publisher dataset key of the GRIDSMART aggregates (src/config/defaults.ts). */
export const GS_DATASET_KEY = "gs";
export const GS_ROW_ID = "record_id";

const DIRECTIONS: Record<string, string> = {
  Southbound: "SOUTHBOUND",
  Northbound: "NORTHBOUND",
  Eastbound: "EASTBOUND",
  Westbound: "WESTBOUND",
};

const MOVEMENTS: Record<string, string> = { S: "THRU", L: "LEFT TURN", R: "RIGHT TURN", U: "U-TURN" };

/** Device fields the published rows use. */
export interface PublishDevice {
  atd_device_id?: unknown;
  primary_st?: unknown;
  cross_st?: unknown;
}

export interface ShapeOptions {
  minutes: number;
  /** -u: leave "Unassigned" approaches out instead of publishing them as UNASSIGNED. */
  noUnassigned: boolean;
  zone: string;
}

/** Counted warnings of one file ("Approach is Unassigned. Including." ×12), as the original summarised them. */
export type WarningCounts = Map<string, number>;

const bump = (w: WarningCounts, msg: string) => w.set(msg, (w.get(msg) ?? 0) + 1);

/** "<primary_st> / <cross_st>", trimmed (Knack names; `reversed` is not used, as in the original). */
export function intersectionName(device: PublishDevice): string {
  const t = (v: unknown) => (v === null || v === undefined ? "" : String(v).trim());
  return `${t(device.primary_st)} / ${t(device.cross_st)}`;
}

interface LocalFields {
  readDate: string;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** Sunday = 0 (Python: (weekday() + 1) % 7). */
  dayOfWeek: number;
}

const AGG_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([+-]\d{2}:?\d{2}|Z)$/;

/**
 * The local wall-clock fields of an aggregate timestamp "YYYY-MM-DD HH:MM:SS±HH:MM". Python's arrow.get keeps the
 * written offset, so the fields are the written ones (no zone conversion); a timestamp without an offset is read as
 * local time in the lake's zone.
 */
export function localFields(text: unknown, zone: string, where: string): LocalFields {
  const m = typeof text === "string" ? AGG_TIME.exec(text) : null;
  if (m) {
    const [year, month, day, hour, minute] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!];
    const dayOfWeek = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
    return { readDate: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`, year, month, day, hour, minute, dayOfWeek };
  }
  const dt = typeof text === "string" ? DateTime.fromISO(text.replace(" ", "T"), { zone }) : DateTime.invalid("not text");
  if (!dt.isValid) throw new TerminalError(`${where}: timestamp "${String(text)}" is not a date-time (YYYY-MM-DD HH:MM:SS±HH:MM)`);
  return { readDate: socrataTime(dt), year: dt.year, month: dt.month, day: dt.day, hour: dt.hour, minute: dt.minute, dayOfWeek: dt.weekday % 7 };
}

const num = (v: unknown): number | null => {
  const n = numericValue(v);
  return n === undefined || Number.isNaN(n) ? null : n;
};

/**
 * The published row of one aggregate row, or undefined when the approach is not published (a warning is counted).
 * Keys in the original's order, record_id last.
 */
export function shapeRow(line: Record<string, unknown>, device: PublishDevice, opts: ShapeOptions, warnings: WarningCounts, where = "data"): PublishRow | undefined {
  const approachIn = String(line.zone_approach);
  let direction = DIRECTIONS[approachIn];
  if (!direction) {
    if (approachIn === "Unassigned" && !opts.noUnassigned) {
      direction = "UNASSIGNED";
      bump(warnings, "Approach is UNASSIGNED. Including.");
    } else {
      bump(warnings, `Approach is ${approachIn}. Skipping.`);
      return undefined;
    }
  }
  const turn = String(line.turn);
  let movement = MOVEMENTS[turn];
  if (!movement) {
    movement = turn;
    bump(warnings, `Movement is ${turn}`);
  }
  const ts = localFields(line.timestamp, opts.zone, where);
  const readDate = ts.readDate;
  const name = intersectionName(device);
  const heavy = num(line.heavy_vehicle) !== 0;
  const row: PublishRow = {
    atd_device_id: (device.atd_device_id ?? null) as PublishRow[string],
    read_date: readDate,
    intersection_name: name,
    direction,
    movement,
    heavy_vehicle: heavy,
    volume: num(line.volume),
    speed_average: num(line.speed_avg),
    speed_stddev: num(line.speed_std),
    seconds_in_zone_average: num(line.seconds_in_zone_avg),
    seconds_in_zone_stddev: num(line.seconds_in_zone_std),
    month: ts.month,
    day: ts.day,
    year: ts.year,
    hour: ts.hour,
    minute: ts.minute,
    day_of_week: ts.dayOfWeek,
    bin_duration: opts.minutes * 60,
  };
  row.record_id = recordId(name, readDate, heavy, direction, movement);
  return row;
}

/** MD5 of intersection_name + read_date + heavy_vehicle (True/False) + direction + movement. */
export function recordId(intersection: string, readDate: string, heavy: boolean, direction: string, movement: string): string {
  return md5Concat(intersection, readDate, heavy, direction, movement);
}

/** True when an aggregate file names no matched device (the original skipped such files). */
export function hasDevice(device: unknown): device is PublishDevice {
  if (!device || typeof device !== "object" || Array.isArray(device)) return false;
  return Object.keys(device).length > 0;
}
