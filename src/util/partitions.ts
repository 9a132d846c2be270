/**
 * Partitions: the time blocks a partitioned source works in (atd-mds's schedule blocks, a usage pipeline's days).
 * A partition is a half-open interval [start, end) of local time in the lake's zone, enumerated with calendar
 * arithmetic, so the 2024-03-10 day in America/Chicago has 23 hourly partitions and 2024-11-03 has 25 (its 01:00
 * hour exists twice, told apart by the offset in the key). Nothing here reads the host zone or clock.
 *
 * Keys: a daily partition is "YYYY-MM-DD" (the key of the day blocks the other sources already use); an hourly one is
 * its local start with its offset, "YYYY-MM-DDTHH:mm±HH:MM". Keys of one zone sort in time order. A block of an
 * entity (a provider) appends "#<entity>" to the partition key.
 */
import { DateTime } from "luxon";
import { UsageError } from "../support/errors.js";
import { daysBack, todayMidnight, type Clock } from "./dates.js";

export type Grain = "hour" | "day";

export interface Partition {
  key: string;
  grain: Grain;
  /** Inclusive local start. */
  start: DateTime;
  /** Exclusive local end. */
  end: DateTime;
}

const STEP: Record<Grain, { hours: number } | { days: number }> = { hour: { hours: 1 }, day: { days: 1 } };

export function partitionKey(start: DateTime, grain: Grain): string {
  return grain === "day" ? start.toFormat("yyyy-MM-dd") : start.toFormat("yyyy-MM-dd'T'HH:mmZZ");
}

/** The partition of a grain that holds the instant t (in the zone). */
export function partitionAt(t: DateTime, grain: Grain, zone: string): Partition {
  const local = t.setZone(zone);
  const start = grain === "day" ? local.startOf("day") : local.startOf("hour");
  const end = start.plus(STEP[grain]);
  return { key: partitionKey(start, grain), grain, start, end };
}

/** Every partition whose start s has from <= s < to (half-open; DST-safe: hours step in absolute time). */
export function* partitionsBetween(from: DateTime, to: DateTime, grain: Grain, zone: string): Generator<Partition> {
  let p = partitionAt(from, grain, zone);
  if (p.start < from.setZone(zone)) p = partitionAt(p.end, grain, zone);
  while (p.start < to) {
    yield p;
    p = partitionAt(p.end, grain, zone);
  }
}

const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;
const HOUR_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[+-]\d{2}:\d{2}$/;

/** A partition key (with or without "#entity") back to its partition and entity. */
export function parsePartitionKey(key: string, zone: string): { partition: Partition; entity: string | undefined } {
  const hash = key.indexOf("#");
  const text = hash < 0 ? key : key.slice(0, hash);
  const entity = hash < 0 ? undefined : key.slice(hash + 1);
  let grain: Grain;
  let start: DateTime;
  if (DAY_KEY.test(text)) {
    grain = "day";
    start = DateTime.fromISO(text, { zone });
  } else if (HOUR_KEY.test(text)) {
    grain = "hour";
    start = DateTime.fromISO(text, { setZone: true }).setZone(zone);
  } else {
    throw new UsageError(`Malformed partition "${key}": use YYYY-MM-DD or YYYY-MM-DDTHH:mm±HH:MM (then #entity)`);
  }
  if (!start.isValid) throw new UsageError(`Malformed partition "${key}": ${start.invalidExplanation ?? "invalid"}`);
  const partition = partitionAt(start, grain, zone);
  if (partition.key !== text) throw new UsageError(`Partition "${key}" does not start a ${grain} in ${zone} (that ${grain} is ${partition.key})`);
  return { partition, entity };
}

/** "<partition>#<entity>" (just the partition when there is no entity). */
export function blockPartKey(partition: string, entity: string | undefined): string {
  return entity ? `${partition}#${entity}` : partition;
}

/**
 * A window flag of a range command: "N" (days before today's midnight: daily), "YYYY-MM-DD", "YYYY-MM-DD-HH"
 * (atd-mds's form: a local hour) or an ISO date-time (with an offset: that instant).
 */
export function parseWindowFlag(text: string, zone: string, clock: Clock, flag: string): DateTime {
  const t = text.trim();
  const back = daysBack(t, flag);
  if (back !== undefined) return todayMidnight(zone, clock).minus({ days: back });
  const hourForm = /^(\d{4}-\d{2}-\d{2})-(\d{2})$/.exec(t);
  const dt = hourForm ? DateTime.fromISO(`${hourForm[1]}T${hourForm[2]}:00`, { zone }) : DateTime.fromISO(t.replace(" ", "T"), { zone });
  if (!dt.isValid) throw new UsageError(`Malformed ${flag} "${text}": use YYYY-MM-DD, YYYY-MM-DD-HH (a local hour) or an ISO date-time`);
  return dt.setZone(zone);
}

/** "6h", "2d", "7" (days, or hours for hourly partitions) → a luxon duration. */
export function parseIntervalFlag(text: string, grain: Grain): { hours: number } | { days: number } {
  const m = /^(\d+)\s*([hd]?)$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new UsageError(`Malformed --interval "${text}": use a number of hours or days such as 6h or 2d`);
  const unit = m[2]?.toLowerCase() || (grain === "hour" ? "h" : "d");
  return unit === "h" ? { hours: Number(m[1]) } : { days: Number(m[1]) };
}

/**
 * The partitions of a range command (start inclusive, end exclusive). --time-max defaults to the start of the
 * current partition minus the settle lag; without --time-min the range is --interval back from --time-max
 * (default one partition). Equal min and max mean that one partition.
 */
export function rangePartitions(
  opts: { timeMin?: string; timeMax?: string; interval?: string; settleHours?: number },
  grain: Grain,
  zone: string,
  clock: Clock,
): Partition[] {
  const now = DateTime.fromMillis(clock(), { zone }).minus({ hours: opts.settleHours ?? 0 });
  const max = opts.timeMax ? parseWindowFlag(opts.timeMax, zone, clock, "--time-max") : partitionAt(now, grain, zone).start;
  const min = opts.timeMin ? parseWindowFlag(opts.timeMin, zone, clock, "--time-min") : max.minus(opts.interval ? parseIntervalFlag(opts.interval, grain) : STEP[grain]);
  if (max < min) throw new UsageError(`--time-max ${max.toISO()} is before --time-min ${min.toISO()}; the end is exclusive and must not precede the start`);
  const end = max.toMillis() === min.toMillis() ? partitionAt(min, grain, zone).end : max;
  return [...partitionsBetween(min, end, grain, zone)];
}
