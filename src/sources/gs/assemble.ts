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
import type { LayerAccess } from "../../support/kit.js";
import { addDays, pyStrEpochMs } from "../../util/dates.js";
import { pyJson } from "../../util/pyjson.js";
import { Utf8Sink } from "../../util/utf8-sink.js";
import { forEachItemWithMember, objectMembers, parsePyJson, skipValue } from "../../util/pyjson-parse.js";
import { GS_EXT, dashGuid, type DayCovered, type GsSiteFile, type GsZoneHeader } from "./types.js";
import { nearestSiteFile, type SiteChoice } from "./site-choice.js";

export const COUNTS_EXT = "counts.json";

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

/** A standardized zone file kept as text: its header parsed, its rows cut out only when needed. */
export interface ZoneFileText {
  text: string;
  header: GsZoneHeader;
  /** [start, end) of the "data" array's text. */
  data: [number, number];
  label: string;
}

/** Reads the top level of a zone file's text (header parsed, data located). TerminalError when it is not one. */
export function openZoneFile(text: string, label: string): ZoneFileText {
  // json.dumps layout {"header": {...}, "data": [...]}: only the small header is walked; the data array is walked
  // once, later, by rowsInDay (its end is where its "]" is found).
  const HEAD = '{"header": ';
  const DATA = ', "data": ';
  if (text.startsWith(HEAD)) {
    let headerEnd = -1;
    try {
      headerEnd = skipValue(text, HEAD.length, label);
    } catch {
      // not this layout: the full walk below reports the problem
    }
    if (headerEnd > 0 && text.startsWith(DATA, headerEnd)) {
      return { text, header: zoneHeader(text.slice(HEAD.length, headerEnd), label), data: [headerEnd + DATA.length, text.length], label };
    }
  }
  let members: Map<string, [number, number]>;
  try {
    members = objectMembers(text, 0, label);
  } catch (err) {
    throw new TerminalError(`${label}: not a JSON object (${(err as Error).message})`);
  }
  const h = members.get("header");
  const d = members.get("data");
  if (!h || !d) throw new TerminalError(`${label}: "header" and "data" expected in a standardized zone file`);
  return { text, header: zoneHeader(text.slice(h[0], h[1]), label), data: d, label };
}

function zoneHeader(text: string, label: string): GsZoneHeader {
  const header = parsePyJson(text, label) as GsZoneHeader;
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new TerminalError(`${label}: "header" is not an object`);
  return header;
}

/** A zone file whose rows lack a readable timestamp_adj: the zone is left out (a warning), not the day. */
export class NoTimestampError extends TerminalError {}

/** One vehicle row on its way into a counts file: its text with `"zone": ident` appended, and its timestamp_adj. */
export interface RowText {
  ts: string;
  /** The row's text without its closing "}" (a slice of the file's text). */
  body: string;
  /** `, "zone": "<ident>"}`: appended when written. */
  zone: string;
  /** The digits of ts's "YYYY-MM-DD HH:MM:SS" as one number (orders like the text's first 19 characters), or NaN. */
  key?: number;
}

/**
 * YYYYMMDDHHMMSS of a text starting "YYYY-MM-DD HH:MM:SS", else NaN. Two such texts whose numbers differ are in
 * the order of their numbers; equal numbers mean equal first 19 characters (the rest of the text decides).
 */
export function wallKey(ts: string): number {
  if (ts.length < 19) return Number.NaN;
  if (ts.charCodeAt(4) !== 45 || ts.charCodeAt(7) !== 45 || ts.charCodeAt(10) !== 32 || ts.charCodeAt(13) !== 58 || ts.charCodeAt(16) !== 58) {
    return Number.NaN;
  }
  let n = 0;
  for (let i = 0; i < 19; i++) {
    if (i === 4 || i === 7 || i === 10 || i === 13 || i === 16) continue;
    const d = ts.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

const byText = (a: RowText, b: RowText) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);
const byKeyThenText = (a: RowText, b: RowText) => a.key! - b.key! || byText(a, b);

/**
 * The rows of a zone file inside [startMs, endMs), as text with `zone` = ident appended (the original added the
 * key to each row dict, so it comes last). Rows are copied as written: every number keeps its exact form. A row
 * without a readable timestamp_adj makes the whole file unusable: TerminalError naming the row.
 */
export function rowsInDay(file: ZoneFileText, ident: string, startMs: number, endMs: number): RowText[] {
  const { text, label } = file;
  const out: RowText[] = [];
  const zoneMember = `, "zone": ${pyJson(ident)}}`;
  let index = 0;
  forEachItemWithMember(
    text,
    file.data[0],
    file.data[1],
    "timestamp_adj",
    (s, e, raw) => {
      let ts: unknown;
      if (raw !== undefined) ts = raw.startsWith('"') && !raw.includes("\\") ? raw.slice(1, -1) : parsePyJson(raw, label);
      const ms = pyStrEpochMs(ts);
      if (ms === undefined) {
        throw new NoTimestampError(
          `${label}: data[${index}].timestamp_adj is ${raw === undefined ? "missing" : `unreadable (${raw})`}` +
            " (API v7 files and files whose clock could not be corrected have none); the zone is left out",
        );
      }
      if (ms >= startMs && ms < endMs) {
        // The row's text up to its closing "}", then the zone member (the row has members: timestamp_adj at least).
        let close = e - 1;
        while (close > s && text.charCodeAt(close - 1) <= 0x20) close--;
        out.push({ ts: ts as string, body: text.slice(s, close), zone: zoneMember, key: wallKey(ts as string) });
      }
      index++;
    },
    label,
  );
  return out;
}

/** Loads the standardized zone file of (day, guid) for the intersection being assembled; undefined when absent. */
export type ZoneFileLoader = (day: DateTime, guid: string) => Promise<ZoneFileText | undefined>;

export interface AssembledDay {
  /** Rows of the day, sorted by timestamp_adj text (as the original). */
  rows: RowText[];
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
 * Assembles one intersection-day. Reads the zone files one after another (the next one is requested while the
 * current one is scanned) and keeps only the selected rows' text (at most one intersection-day in memory).
 */
export async function assembleDay(day: DateTime, zones: readonly CountedZone[], load: ZoneFileLoader): Promise<AssembledDay> {
  const startMs = day.toMillis();
  const endMs = addDays(day, 1).toMillis();
  const result: AssembledDay = { rows: [], header: undefined, zonesRead: 0, missingPrev: [], missingNext: [], missingCurrent: [], warnings: [] };
  // The next zone's file is requested while this one is read (its bytes arrive meanwhile); two files at most.
  const request = (k: number) => {
    const p = load(day, zones[k]!.guid);
    p.catch(() => undefined); // awaited in its turn; an earlier failure must not leave it unhandled
    return p;
  };
  let next = zones.length ? request(0) : undefined;
  for (let k = 0; k < zones.length; k++) {
    const zone = zones[k]!;
    const pending = next!;
    next = k + 1 < zones.length ? request(k + 1) : undefined;
    const cur = await pending;
    if (!cur) {
      result.missingCurrent.push(zone.guid);
      result.warnings.push(`zone ${zone.guid}: no file for ${day.toISODate()}`);
      continue;
    }
    const header = cur.header;
    let rows: RowText[];
    try {
      rows = rowsInDay(cur, zone.ident, startMs, endMs);
    } catch (err) {
      if (!(err instanceof NoTimestampError)) throw err; // a broken file fails the intersection-day
      result.warnings.push(err.message);
      continue;
    }
    const dayCovered = header.day_covered;
    if (dayCovered === undefined || dayCovered === null) {
      result.warnings.push(`zone ${zone.guid}: day_covered is missing from the header; rows of the adjacent day may be missing`);
    }
    const aux = adjacentDay(day, dayCovered);
    if (aux) {
      const other = await load(aux, zone.guid);
      let auxRows: RowText[] | undefined;
      if (other) {
        try {
          auxRows = rowsInDay(other, zone.ident, startMs, endMs);
        } catch (err) {
          if (!(err instanceof NoTimestampError)) throw err;
          result.warnings.push(err.message);
        }
      } else {
        result.warnings.push(`zone ${zone.guid}: no file for ${aux.toISODate()}, which holds part of ${day.toISODate()} (day_covered ${dayCovered})`);
      }
      // An adjacent file without timestamps counts as a missing one: the day is incomplete either way (-p / -n gate it).
      if (auxRows) for (const r of auxRows) rows.push(r);
      else (dayCovered === 1 ? result.missingPrev : result.missingNext).push(zone.guid);
    }
    for (const r of rows) result.rows.push(r);
    result.zonesRead++;
    if (!result.header) result.header = header;
  }
  // Stable sort on the timestamp text, as the original's list.sort(key=timestamp_adj); by the texts' wall-clock
  // numbers first when every row has one (the same order, without comparing most of the texts).
  result.rows.sort(result.rows.every((r) => r.key !== undefined && !Number.isNaN(r.key)) ? byKeyThenText : byText);
  return result;
}

/**
 * The ready counts file (original §9.3.3 step 5) as the text json.dumps would write, keys in the original's order:
 * {header: {data_type, zip_name, collection_date, processing_date, version}, counts, site, device}.
 */
export function countsFileText(header: GsZoneHeader, processingDate: string, rows: readonly RowText[], site: GsSiteFile, device: unknown): string {
  return countsFileBytes(header, processingDate, rows, site, device).toString("utf8");
}

/** countsFileText as UTF-8 bytes, written row by row (no string of the whole file). */
export function countsFileBytes(header: GsZoneHeader, processingDate: string, rows: readonly RowText[], site: GsSiteFile, device: unknown): Buffer {
  const head = {
    data_type: "gridsmart",
    zip_name: header.zip_name,
    collection_date: header.collection_date,
    processing_date: processingDate,
    version: header.version,
  };
  // Sized from the rows' text (ASCII as json.dumps writes it), so the buffer is not regrown and copied.
  let size = 65_536;
  for (let i = 0; i < rows.length; i++) size += rows[i]!.body.length + rows[i]!.zone.length + 2;
  const sink = new Utf8Sink(size);
  sink.write(`{"header": ${pyJson(head)}, "counts": [`);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    sink.write(i ? `, ${r.body}${r.zone}` : `${r.body}${r.zone}`);
  }
  sink.write(`], "site": ${pyJson(site)}, "device": ${pyJson(device ?? [])}}`);
  return sink.toBuffer();
}

/**
 * Site files of a layer, per intersection: the one captured nearest to a day, the later one on a tie (site-choice.ts,
 * the rule gs-json-standard applies to raw; every raw site file is copied to standardized, so both stages use the
 * same capture for a day). Unlike the original it also finds site files dated outside the run's window. The parsed
 * file is kept per intersection while its selection does not change.
 */
export class SiteFiles {
  private readonly cache = new Map<string, { pointer: string; json: GsSiteFile }>();
  constructor(private readonly layer: Pick<LayerAccess, "list" | "read">) {}

  async entryFor(base: string, day: DateTime): Promise<SiteChoice<CatalogEntry> | undefined> {
    const q = { base, ext: GS_EXT.site };
    const [onOrBefore] = await this.layer.list({ ...q, late: addDays(day, 1), order: "desc", limit: 1 });
    const [after] = await this.layer.list({ ...q, early: addDays(day, 1), order: "asc", limit: 1 });
    return nearestSiteFile([onOrBefore, after].filter((e): e is CatalogEntry => e !== undefined), day, (e) => e.collectionDate);
  }

  async forDay(base: string, day: DateTime): Promise<{ pointer: string; json: GsSiteFile; entry: CatalogEntry; daysFromDay: number } | undefined> {
    const choice = await this.entryFor(base, day);
    if (!choice) return undefined;
    const entry = choice.file;
    let hit = this.cache.get(base);
    if (!hit || hit.pointer !== entry.pointer) {
      const json = parsePyJson((await this.layer.read(entry.pointer)).toString("utf8"), entry.pointer) as GsSiteFile;
      hit = { pointer: entry.pointer, json };
      this.cache.set(base, hit);
    }
    return { ...hit, entry, daysFromDay: choice.daysFromDay };
  }
}
