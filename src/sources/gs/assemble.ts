/**
 * gs-ready's assembly of one intersection-day (original §9.3.3): the rows of every IncludeInData zone of every
 * configured camera that fall in [D, D+1) local, taken from day D's zone file and from the adjacent day's file that
 * the header's day_covered names (+1: the start of D is in D−1's file; −1: the end of D is in D+1's file).
 *
 * Differences from the original, on purpose:
 * - B16: a missing adjacent file is tracked per direction (previous / next) over all zones, so one zone's missing
 *   file is not forgotten because a later zone's file was there (the original kept the last zone's day_covered).
 * - B16: a zone Id that is already dashed is used as is (dashGuid in types.ts).
 * - A zone file with a row lacking timestamp_adj (API v7, or a clock that could not be corrected) contributes no
 *   rows at all; the original appended the rows before the bad one and then skipped the rest.
 */
import type { DateTime } from "luxon";
import type { CatalogEntry } from "../../support/catalog.js";
import { TerminalError } from "../../support/errors.js";
import type { Storage } from "../../support/storage.js";
import { addDays } from "../../util/dates.js";
import { parsePyJson } from "../../util/pyjson-parse.js";
import { GS_EXT, dashGuid, type DayCovered, type GsRow, type GsSiteFile, type GsZoneFile, type GsZoneHeader } from "./types.js";

export const COUNTS_EXT = "counts.json";

const PY_STR_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2}):?(\d{2})|Z)$/;

/**
 * Epoch milliseconds of a timestamp in Python's str(datetime) form with an offset
 * ("2019-05-31 22:02:11.600000-05:00"); microseconds are truncated to milliseconds. Undefined when malformed.
 * (A hand parser: a day of one intersection holds tens of thousands of these.)
 */
export function parseTimestampMs(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = PY_STR_TIME.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? Math.floor(Number(m[7].padEnd(6, "0")) / 1000) : 0;
  const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, frac);
  if (!m[8]) return utc;
  const off = (+m[9]! * 60 + +m[10]!) * (m[8] === "-" ? -1 : 1);
  return utc - off * 60_000;
}

/** A zone that counts: Vehicle zone with IncludeInData on a configured (Fisheye.IsConfigured) camera. */
export interface CountedZone {
  /** Vehicle.Id as in the site file (rows get `zone` = this). */
  ident: string;
  /** 8-4-4-4-12 form, the zone file's ext without ".json". */
  guid: string;
  approach: unknown;
  turnType: unknown;
}

/** The zones gs-ready reads and gs-ready-agg groups by, in site order. */
export function countedZones(siteFile: GsSiteFile, what = "site file"): CountedZone[] {
  const cams = siteFile?.site?.CameraDevices;
  if (!Array.isArray(cams)) throw new TerminalError(`${what}: site.CameraDevices is missing or not a list`);
  const out: CountedZone[] = [];
  cams.forEach((cam, c) => {
    const fish = cam?.Fisheye;
    if (!fish) throw new TerminalError(`${what}: site.CameraDevices[${c}].Fisheye is missing`);
    if (!fish.IsConfigured) return;
    const masks = fish.CameraMasks?.ZoneMasks;
    if (!Array.isArray(masks)) throw new TerminalError(`${what}: site.CameraDevices[${c}].Fisheye.CameraMasks.ZoneMasks is missing`);
    masks.forEach((mask, z) => {
      const v = mask?.Vehicle;
      if (!v || !v.IncludeInData) return;
      if (typeof v.Id !== "string" || v.Id === "") {
        throw new TerminalError(`${what}: site.CameraDevices[${c}]...ZoneMasks[${z}].Vehicle.Id is missing`);
      }
      out.push({ ident: v.Id, guid: dashGuid(v.Id), approach: v.ApproachType, turnType: v.TurnType });
    });
  });
  return out;
}

/** The day whose file completes day D for a zone file's day_covered (+1 → D−1, −1 → D+1, 0/absent → none). */
export function adjacentDay(day: DateTime, dayCovered: DayCovered | undefined | null): DateTime | undefined {
  if (dayCovered === 1) return addDays(day, -1);
  if (dayCovered === -1) return addDays(day, 1);
  return undefined;
}

/**
 * The rows of a zone file inside [startMs, endMs), each with `zone` = ident added (a new object: the file is not
 * mutated). A row without a readable timestamp_adj makes the whole file unusable: TerminalError naming the row.
 */
export function rowsInDay(file: GsZoneFile, ident: string, startMs: number, endMs: number, what: string): GsRow[] {
  const data = file?.data;
  if (!Array.isArray(data)) throw new TerminalError(`${what}: "data" is missing or not a list`);
  const out: GsRow[] = [];
  for (let i = 0; i < data.length; i++) {
    const row = data[i]!;
    const ms = parseTimestampMs(row.timestamp_adj);
    if (ms === undefined) {
      throw new TerminalError(
        `${what}: data[${i}].timestamp_adj is ${row.timestamp_adj === undefined ? "missing" : `unreadable ("${String(row.timestamp_adj)}")`}` +
          " (API v7 files and files whose clock could not be corrected have none); the zone is left out",
      );
    }
    if (ms >= startMs && ms < endMs) out.push({ ...row, zone: ident });
  }
  return out;
}

/** Loads the standardized zone file of (day, guid) for the intersection being assembled; undefined when absent. */
export type ZoneFileLoader = (day: DateTime, guid: string) => Promise<{ file: GsZoneFile; label: string } | undefined>;

export interface AssembledDay {
  /** Rows of the day, sorted by timestamp_adj text (as the original). */
  rows: GsRow[];
  /** Header of the first zone file of day D found (the original's representative header). */
  header: GsZoneHeader | undefined;
  zonesRead: number;
  /** GUIDs whose previous-day file (day_covered +1) was needed and missing. */
  missingPrev: string[];
  /** GUIDs whose next-day file (day_covered −1) was needed and missing. */
  missingNext: string[];
  /** GUIDs with no file for day D. */
  missingCurrent: string[];
  warnings: string[];
}

/**
 * Assembles one intersection-day. Holds one zone file at a time plus the day's selected rows (at most one
 * intersection-day in memory).
 */
export async function assembleDay(day: DateTime, zones: readonly CountedZone[], load: ZoneFileLoader): Promise<AssembledDay> {
  const startMs = day.toMillis();
  const endMs = addDays(day, 1).toMillis();
  const result: AssembledDay = { rows: [], header: undefined, zonesRead: 0, missingPrev: [], missingNext: [], missingCurrent: [], warnings: [] };
  for (const zone of zones) {
    const cur = await load(day, zone.guid);
    if (!cur) {
      result.missingCurrent.push(zone.guid);
      result.warnings.push(`zone ${zone.guid}: no file for ${day.toISODate()}`);
      continue;
    }
    const header = cur.file.header;
    let rows: GsRow[];
    try {
      rows = rowsInDay(cur.file, zone.ident, startMs, endMs, cur.label);
    } catch (err) {
      result.warnings.push((err as Error).message);
      continue;
    }
    const dayCovered = header?.day_covered;
    if (dayCovered === undefined || dayCovered === null) {
      result.warnings.push(`zone ${zone.guid}: day_covered is missing from the header; rows of the adjacent day may be missing`);
    }
    const aux = adjacentDay(day, dayCovered);
    if (aux) {
      const other = await load(aux, zone.guid);
      let auxRows: GsRow[] | undefined;
      if (other) {
        try {
          auxRows = rowsInDay(other.file, zone.ident, startMs, endMs, other.label);
        } catch (err) {
          result.warnings.push((err as Error).message);
        }
      } else {
        result.warnings.push(`zone ${zone.guid}: no file for ${aux.toISODate()}, which holds part of ${day.toISODate()} (day_covered ${dayCovered})`);
      }
      // An unreadable adjacent file counts as a missing one: the day is incomplete either way (-p / -n gate it).
      if (auxRows) for (const r of auxRows) rows.push(r);
      else (dayCovered === 1 ? result.missingPrev : result.missingNext).push(zone.guid);
    }
    for (const r of rows) result.rows.push(r);
    result.zonesRead++;
    if (!result.header) result.header = header;
  }
  result.rows.sort((a, b) => {
    const x = a.timestamp_adj as string;
    const y = b.timestamp_adj as string;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return result;
}

/** The ready counts file (original §9.3.3 step 5), keys in the original's order. */
export function countsFile(header: GsZoneHeader, processingDate: string, rows: GsRow[], site: GsSiteFile, device: unknown) {
  return {
    header: {
      data_type: "gridsmart",
      zip_name: header.zip_name,
      collection_date: header.collection_date,
      processing_date: processingDate,
      version: header.version,
    },
    counts: rows,
    site,
    device: device ?? [],
  };
}

/**
 * Site files of a layer, per intersection: the newest dated on or before a day, else the first one after it (the
 * original's getForPrevDate with forceValid and its look-ahead). Unlike the original it also finds site files
 * dated before the run's window. The parsed file is kept per intersection while its selection does not change.
 */
export class SiteFiles {
  private readonly cache = new Map<string, { pointer: string; json: GsSiteFile }>();
  constructor(private readonly storage: Storage) {}

  async entryFor(base: string, day: DateTime): Promise<CatalogEntry | undefined> {
    const { catalog, repository } = this.storage;
    const q = { base, ext: GS_EXT.site };
    return (await catalog.latest(repository, { ...q, late: addDays(day, 1) })) ?? (await catalog.earliest(repository, { ...q, early: day }));
  }

  async forDay(base: string, day: DateTime): Promise<{ pointer: string; json: GsSiteFile; entry: CatalogEntry } | undefined> {
    const entry = await this.entryFor(base, day);
    if (!entry) return undefined;
    let hit = this.cache.get(base);
    if (!hit || hit.pointer !== entry.pointer) {
      const json = parsePyJson((await this.storage.retrieveBuffer(entry.pointer)).toString("utf8"), entry.pointer) as GsSiteFile;
      hit = { pointer: entry.pointer, json };
      this.cache.set(base, hit);
    }
    return { ...hit, entry };
  }
}
