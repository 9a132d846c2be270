/**
 * GRIDSMART device clocks (original §9.3.2 "Clock correction"), pure.
 *
 * A site file records what the device's clock showed when it was read: `DateTime` (its wall clock, to the second,
 * without an offset), `TimeZoneId` (a label such as "(UTC-06:00) Central Time (US & Canada)") and `HostTimeUTC`
 * (the ingesting host's real UTC time of that request). The correction added to every device-derived UTC instant is
 *
 *     delta = HostTimeUTC − (DateTime − the device's UTC offset at that moment)
 *
 * which is only the clock's error (drift) once that offset is right. The offset is taken from what the device itself
 * shows, not from the label's zone rules (a clock may follow daylight time or stay on its standard offset all year
 * under the same label):
 *
 * 1. Candidates: the label's offset in parentheses (a clock kept on standard time all year: the original's reading)
 *    and, for a known zone name, that zone's offset at the moment (a clock following daylight time: B43). Outside
 *    daylight time both are the same and there is nothing to decide.
 * 2. The device's reading decides: the candidate nearest to DateTime − HostTimeUTC, when it is within
 *    CLEAR_READING_MINUTES of it (any clock less than a quarter hour off).
 * 3. Otherwise (a clock off by about half an hour) the rows decide: their `utc_offset`, at instants when the named
 *    zone is on daylight time, says whether the clock follows it; failing that, the nearest candidate.
 *
 * The zone the clock followed on the data day (for day_covered's device midnight) is what the day's rows show, else
 * what the reading showed, else the named zone.
 */
import { DateTime } from "luxon";
import { offsetText } from "../../util/dates.js";
import type { GsDateTime } from "./types.js";

/** IANA zones of the Windows display names GRIDSMART devices report (US zones). */
const WINDOWS_ZONES: Record<string, string> = {
  "Central Time (US & Canada)": "America/Chicago",
  "Eastern Time (US & Canada)": "America/New_York",
  "Mountain Time (US & Canada)": "America/Denver",
  "Pacific Time (US & Canada)": "America/Los_Angeles",
  Arizona: "America/Phoenix",
  Alaska: "America/Anchorage",
  Hawaii: "Pacific/Honolulu",
  "Coordinated Universal Time": "UTC",
};

/** The device API's time format ("7/10/2024 10:00:05 AM"; HostTimeUTC is written "07/10/2024 03:00:00 PM"). */
const DEVICE_TIME_FORMAT = "M/d/yyyy h:mm:ss a";

/**
 * A reading within this many minutes of a candidate offset names it; further off (a clock drifted by about half an
 * hour, as GRIDSMART clocks were before they used network time) the rows' utc_offset decide.
 */
export const CLEAR_READING_MINUTES = 15;

export interface TimeZoneLabel {
  /** The offset in parentheses, minutes east of UTC ("(UTC-06:00)" → −360; "(UTC)" → 0). */
  labelOffsetMin: number;
  /** The IANA zone of a known Windows zone name (undefined: an unknown name, read as the fixed offset). */
  namedZone: string | undefined;
}

/** Reads "(UTC-06:00) Central Time (US & Canada)"; undefined without a "(UTC±HH:MM)" token at its start. */
export function readTimeZoneLabel(timeZoneId: string): TimeZoneLabel | undefined {
  const m = /^\(UTC(?:([+-])(\d{1,2}):?(\d{2}))?\)\s*(.*)$/.exec(timeZoneId.trim());
  if (!m) return undefined;
  const labelOffsetMin = m[1] ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const named = WINDOWS_ZONES[(m[4] ?? "").trim()];
  return { labelOffsetMin, namedZone: named === "UTC" && labelOffsetMin !== 0 ? undefined : named };
}

/** The luxon zone of a fixed offset ("UTC-06:00", or "UTC"). */
export function fixedZone(offsetMin: number): string {
  return offsetMin === 0 ? "UTC" : `UTC${offsetText(offsetMin)}`;
}

/** A site file's clock reading, parsed. */
export interface DeviceClockReading extends TimeZoneLabel {
  /** HostTimeUTC: the real instant of the reading, ms. */
  hostMs: number;
  /** DateTime read as if it were UTC, ms (the device's wall clock). */
  wallMs: number;
}

/** Parses the site file's datetime part; an error says which field cannot be read. */
export function readDeviceClock(dt: Partial<GsDateTime> | undefined): { ok: DeviceClockReading } | { error: string } {
  if (!dt || typeof dt !== "object") return { error: "there is no datetime (DateTime, TimeZoneId, HostTimeUTC)" };
  for (const key of ["DateTime", "TimeZoneId", "HostTimeUTC"] as const) {
    if (typeof dt[key] !== "string") return { error: `datetime.${key} is ${dt[key] === undefined ? "missing" : `not text (${JSON.stringify(dt[key])})`}` };
  }
  const host = DateTime.fromFormat(dt.HostTimeUTC!.trim(), DEVICE_TIME_FORMAT, { zone: "UTC" });
  if (!host.isValid) return { error: `datetime.HostTimeUTC ${JSON.stringify(dt.HostTimeUTC)} is not "MM/DD/YYYY hh:mm:ss AM"` };
  const wall = DateTime.fromFormat(dt.DateTime!.trim(), DEVICE_TIME_FORMAT, { zone: "UTC" });
  if (!wall.isValid) return { error: `datetime.DateTime ${JSON.stringify(dt.DateTime)} is not a device time ("M/D/YYYY h:mm:ss AM")` };
  const label = readTimeZoneLabel(dt.TimeZoneId!);
  if (!label) return { error: `datetime.TimeZoneId ${JSON.stringify(dt.TimeZoneId)} does not start with "(UTC±HH:MM)"` };
  return { ok: { hostMs: host.toMillis(), wallMs: wall.toMillis(), ...label } };
}

/** What a day's rows show about the device's clock: rows on the named zone's daylight offset, rows on the label's. */
export interface OffsetEvidence {
  daylight: number;
  fixed: number;
}

/**
 * Counts, over rows given as (device UTC instant, utc_offset), those at instants when the named zone is on daylight
 * time (its offset is not the label's), by whether the row's offset is the zone's or the label's. Rows outside
 * daylight time say nothing: both kinds of clock agree then.
 */
export class OffsetEvidenceCounter {
  readonly evidence: OffsetEvidence = { daylight: 0, fixed: 0 };
  private readonly offsets = new Map<number, number>();
  constructor(private readonly label: TimeZoneLabel) {}

  /** Whether the label's named zone ever differs from its fixed offset (else there is nothing to count). */
  get useful(): boolean {
    return this.label.namedZone !== undefined && this.label.namedZone !== fixedZone(this.label.labelOffsetMin);
  }

  add(utcMs: number, offsetMin: number): void {
    // The named zone's offset, looked up once per quarter hour (offsets change on quarter hours).
    const bucket = Math.floor(utcMs / 900_000);
    let zoneOffset = this.offsets.get(bucket);
    if (zoneOffset === undefined) {
      zoneOffset = DateTime.fromMillis(bucket * 900_000, { zone: this.label.namedZone! }).offset;
      this.offsets.set(bucket, zoneOffset);
    }
    if (zoneOffset === this.label.labelOffsetMin) return;
    if (offsetMin === zoneOffset) this.evidence.daylight++;
    else if (offsetMin === this.label.labelOffsetMin) this.evidence.fixed++;
  }
}

export type ClockKind = "daylight" | "fixed";

function kindOf(e: OffsetEvidence | undefined): ClockKind | undefined {
  if (!e || e.daylight === e.fixed) return undefined;
  return e.daylight > e.fixed ? "daylight" : "fixed";
}

export interface ClockCorrection {
  /** HostTimeUTC − the device's clock, ms: add to device-derived UTC instants. */
  deltaMs: number;
  /** The device's UTC offset when it was read, minutes. */
  captureOffsetMin: number;
  /** The zone the device's clock followed on the data day: its named zone, or its fixed label offset ("UTC-06:00"). */
  deviceZone: string;
  /** What decided the offset at the reading: one candidate only, the reading itself, or the rows. */
  decidedBy: "label" | "reading" | "rows";
}

/** The correction of a reading, with what the data day's rows show (undefined: no rows with an offset, e.g. v4). */
export function clockCorrection(reading: DeviceClockReading, rows?: OffsetEvidence): ClockCorrection {
  const { hostMs, wallMs, labelOffsetMin, namedZone } = reading;
  const fixed = labelOffsetMin;
  const daylight = namedZone ? DateTime.fromMillis(hostMs, { zone: namedZone }).offset : fixed;
  const rowKind = kindOf(rows);
  let captureOffsetMin = fixed;
  let decidedBy: ClockCorrection["decidedBy"] = "label";
  let readingKind: ClockKind | undefined;
  if (daylight !== fixed) {
    // DateTime − HostTimeUTC = offset + drift.
    const shown = (wallMs - hostMs) / 60_000;
    const nearest: ClockKind = Math.abs(shown - daylight) <= Math.abs(shown - fixed) ? "daylight" : "fixed";
    const clear = Math.abs(shown - (nearest === "daylight" ? daylight : fixed)) <= CLEAR_READING_MINUTES;
    readingKind = clear || !rowKind ? nearest : rowKind;
    decidedBy = clear || !rowKind ? "reading" : "rows";
    captureOffsetMin = readingKind === "daylight" ? daylight : fixed;
  }
  const dayKind = rowKind ?? readingKind ?? "daylight";
  const deviceZone = dayKind === "daylight" && namedZone ? namedZone : fixedZone(fixed);
  return { deltaMs: hostMs - (wallMs - captureOffsetMin * 60_000), captureOffsetMin, deviceZone, decidedBy };
}
