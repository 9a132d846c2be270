/**
 * GRIDSMART (original §9.3): camera counts from each intersection's field device → raw day archives and site files
 * → standardized JSON per zone → ready counts per intersection and day (device-matching cascade) → N-minute
 * aggregates → the "Camera Traffic Counts" dataset.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import type { CatalogEntry } from "../../support/catalog.js";
import { TerminalError, UsageError, errorMessage } from "../../support/errors.js";
import { validateIdPart } from "../../support/identifier.js";
import { defineSource, defineStage, type StageContext, type StageOutput } from "../../support/kit.js";
import type { ProvItem } from "../../support/last-update.js";
import { limiter } from "../../support/resilience.js";
import type { UnitData } from "../../support/unitdata.js";
import { parsePyStr, pyStr } from "../../util/dates.js";
import { parseSplit } from "../../util/pyjson-parse.js";
import { aggExt, aggFile, aggregate, type Movement } from "./aggregate.js";
import { COUNTS_EXT, SiteFiles, assembleDay, countedZones, countsFileBytes, openZoneFile, type ZoneFileLoader } from "./assemble.js";
import { deviceBaseUrl, gsSourceSchema, type GsSourceConfig } from "./config.js";
import { DeviceApi, hostTimeUtc } from "./device-api.js";
import { selectDevices, type DeviceCandidate } from "./devices.js";
import { describeMatch, matchDevice, matchTables, type MatchTables } from "./match.js";
import { GS_DATASET_KEY, GS_ROW_ID, hasDevice, shapeRow, type WarningCounts } from "./publish.js";
import { dayWarnings, planDay, standardizeZone, zoneJson } from "./standardize.js";
import { GS_EXT, GS_UNIT_DEVICE_KEYS, siteBase, zoneExt, type GsDateTime, type GsSite, type GsSiteFile } from "./types.js";
import { readCountsArchive } from "./zip.js";
import { FarSiteFiles, nearestSiteFile, type SiteChoice } from "./site-choice.js";
import { readDeviceClock } from "./clock.js";

export const SKIP_NO_SITE = "no site file for the intersection";
export const SKIP_PREV_MISSING = "previous day's zone file missing (-p/--ignore-prev to write the day anyway)";
export const SKIP_NEXT_MISSING = "next day's zone file missing (-n/--ignore-next to write the day anyway)";
export const SKIP_NO_COUNTS = "no counts in the day";
export const SKIP_NO_DEVICE = "no matched device";

// ------------------------------------------------------------------------------------------------ insert-lake

/** A device that answered: what the site file is made of and the days it has. */
export interface ReachedDevice {
  candidate: DeviceCandidate;
  api: DeviceApi;
  base: string;
  site: GsSite;
  datetime: GsDateTime;
  hardwareInfo: Record<string, unknown>;
  days: string[];
}

function parseFilter(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new UsageError(`-f/--name-filter ${JSON.stringify(value)} is not a valid regular expression: ${errorMessage(err)}`);
  }
}

/**
 * Contacts one device: site, clock, hardware info, days with counts. The device's clock is recorded beside this
 * host's real UTC time when it answered (ctx.realTime(), not the run's clock: a replay with LAKE_CLOCK reads the
 * devices now, so comparing them with the replayed clock would shift every vehicle by the replay's distance). A
 * clock answer that cannot be read fails the device: its days are not stored and are retried on the next run
 * (standardized without a readable clock they would lose their times).
 */
async function reach(ctx: StageContext<GsSourceConfig>, c: DeviceCandidate): Promise<ReachedDevice> {
  const cfg = ctx.config;
  const api = new DeviceApi(deviceBaseUrl(cfg.deviceUrl, c.ip), { timeoutMs: cfg.timeoutMs, downloadTimeoutMs: cfg.downloadTimeoutMs, retry: ctx.retry });
  const site = await api.site();
  const dt = await api.datetime();
  const datetime: GsDateTime = { DateTime: dt?.DateTime, TimeZoneId: dt?.TimeZoneId, HostTimeUTC: hostTimeUtc(ctx.realTime()) };
  const readable = readDeviceClock(datetime);
  if ("error" in readable) {
    throw new TerminalError(`GRIDSMART device ${api.baseUrl}datetime.json: ${readable.error}; the device's days are not ingested (retried on the next run)`);
  }
  const hardwareInfo = await api.hardwareInfo();
  const days = await api.countDays();
  const loc = site?.Location;
  if (!loc || typeof loc.Street1 !== "string") throw new Error(`site.json has no Location.Street1`);
  const cams = site.CameraDevices ?? [];
  if (cams.length > 1) ctx.log.warn(`${c.ip}: ${cams.length} camera devices; all are read from the archives`);
  const base = validateIdPart("base", siteBase(loc.Street1, loc.Street2));
  return { candidate: c, api, base, site, datetime, hardwareInfo, days };
}

interface IngestState {
  reached: ReachedDevice[];
  sitesStored: Set<string>;
}

const insertLake = defineStage<GsSourceConfig, IngestState>({
  kind: "ingest",
  name: "insert-lake",
  description: "GRIDSMART: field devices → raw day archives, site files and unit data",
  perfmet: "Ingest",
  to: "raw",
  compareOn: "base",
  options: [{ flags: "-f, --name_filter <regex>", description: 'only devices whose "primary_cross" street text matches (search)', default: ".*" }],
  schedule: { at: "01:30", args: ["-r", "0", "-s", "60"] },
  /**
   * Every inventory device that passes the filters (not removed, with a location, first of its IP, -f regex on
   * "primary_cross") is contacted, a few at a time (sources.gs.concurrency); every request has a timeout (B17). A
   * device that cannot be reached is reported and the run goes on.
   */
  async setup(ctx) {
    const filter = parseFilter(String(ctx.options.name_filter ?? ".*"));
    const sel = selectDevices((await ctx.inventory()).devices, filter);
    for (const w of sel.warnings) ctx.log.warn(w);
    ctx.log.info(`${sel.selected.length} GRIDSMART device(s) to contact, ${sel.skipped.length} left out`);
    const limit = limiter(ctx.config.concurrency);
    const results = await Promise.all(
      sel.selected.map((c) =>
        limit(async () => {
          try {
            return await reach(ctx, c);
          } catch (err) {
            ctx.fail(`device ${c.ip} (${c.streets})`, err);
            return undefined;
          }
        }),
      ),
    );
    const reached: ReachedDevice[] = [];
    const bases = new Map<string, string>();
    for (const r of results) {
      if (!r) continue;
      const other = bases.get(r.base);
      if (other) {
        ctx.fail(`device ${r.candidate.ip}`, new Error(`its site names the same intersection ${r.base} as device ${other}; skipped`));
        continue;
      }
      bases.set(r.base, r.candidate.ip);
      reached.push(r);
    }
    ctx.log.info(`Devices reached: ${reached.length}; failures: ${sel.selected.length - reached.length}`);
    return { reached, sitesStored: new Set() };
  },
  /** Each device's days with counts, in date order, then device order (original LastUpdGSProv). */
  items: (ctx, { reached }) =>
    ctx.providers.list(() => {
      const items: ProvItem<ReachedDevice>[] = [];
      for (const r of reached) {
        for (const day of r.days) {
          const date = DateTime.fromISO(day, { zone: ctx.zone });
          if (!date.isValid) continue;
          items.push({ base: r.base, ext: GS_EXT.zip, date, payload: r, label: `${day}_${r.base}.zip` });
        }
      }
      const order = new Map(reached.map((r, i) => [r, i]));
      return items.sort((a, b) => a.date.toMillis() - b.date.toMillis() || order.get(a.payload)! - order.get(b.payload)!);
    }),
  /**
   * The day's archive `<base>_gs_<day>.zip` (base = site Street1_Street2, "/" → "&"); unit data into raw at the
   * first stored item; once per base per run the site file `<base>_gs_<today>_site.json`, after the day's counts
   * were stored (fixes B41). The temp file is always removed (B42).
   */
  async *process(item, ctx, state) {
    const dev = item.provItem.payload as ReachedDevice;
    const day = item.date.toFormat("yyyy-MM-dd");
    const file = path.join(await ctx.tempDir(), `${day}_${item.base}.zip`);
    try {
      const bytes = await dev.api.downloadDay(day, file);
      await ctx.storeInventory();
      yield { ext: GS_EXT.zip, file, rows: 1, contentType: "application/zip" };
      ctx.log.info(`${item.label} -> ${ctx.to.repository} (${bytes} bytes)`);
    } finally {
      await rm(file, { force: true });
    }
    if (!state.sitesStored.has(item.base)) {
      yield siteFileOutput(ctx, dev);
      state.sitesStored.add(item.base);
    }
  },
});

/** `{header, site, datetime, hardware_info}` dated today (the day it was read). */
function siteFileOutput(ctx: StageContext<GsSourceConfig>, dev: ReachedDevice): StageOutput {
  const today = ctx.today();
  const siteFile: GsSiteFile = {
    header: {
      data_type: "gs_site",
      target_filename: `${dev.base}_site_${today.toFormat("yyyy-MM-dd")}.json`,
      collection_date: pyStr(today),
      device_net_addr: dev.candidate.ip,
    },
    site: dev.site,
    datetime: dev.datetime,
    hardware_info: dev.hardwareInfo,
  };
  return { base: dev.base, ext: GS_EXT.site, date: today, json: siteFile };
}

// ------------------------------------------------------------------------------------------------ json-standard

/** The raw site files of every base (listed once per run), and the choice of site-choice.ts. */
class RawSiteFiles {
  private readonly byBase = new Map<string, CatalogEntry[]>();

  constructor(readonly entries: CatalogEntry[]) {
    for (const e of entries) {
      const list = this.byBase.get(e.base) ?? [];
      list.push(e);
      this.byBase.set(e.base, list);
    }
  }

  /** The site file captured nearest to the day (the later one on a tie). */
  pick(base: string, day: DateTime): SiteChoice<CatalogEntry> | undefined {
    return nearestSiteFile(this.byBase.get(base) ?? [], day, (e) => e.collectionDate);
  }
}

const siteKey = (e: Pick<CatalogEntry, "base" | "collectionDate">) => `${e.base}|${e.collectionDate.toISODate()}`;

interface StandardizeState {
  sites: RawSiteFiles;
  /** Site files that have their copy in standardized, by base and day. */
  copied: Set<string>;
  /** Site files read so far, by key (a few per run): the bytes (copied as they are) and the parsed file. */
  siteCache: Map<string, { bytes: Buffer; json: GsSiteFile }>;
  far: FarSiteFiles;
  lastUnitPointer?: string;
}

/** A raw site file, read once per run. */
async function loadSite(ctx: StageContext<GsSourceConfig>, state: StandardizeState, entry: CatalogEntry): Promise<{ bytes: Buffer; json: GsSiteFile }> {
  let hit = state.siteCache.get(entry.pointer);
  if (!hit) {
    const bytes = await ctx.from.read(entry.pointer);
    let json: GsSiteFile;
    try {
      json = JSON.parse(bytes.toString("utf8")) as GsSiteFile;
    } catch (err) {
      throw new TerminalError(`${ctx.from.repository}/${entry.pointer}: the site file is not JSON (${errorMessage(err)})`);
    }
    hit = { bytes, json };
    state.siteCache.set(entry.pointer, hit);
  }
  return hit;
}

/**
 * The copy of a raw site file into standardized (unchanged, dated its own day), unless that day's copy is there (a
 * site file captured again the same day by a second ingest run describes the same configuration).
 */
async function siteCopy(ctx: StageContext<GsSourceConfig>, state: StandardizeState, entry: CatalogEntry): Promise<StageOutput | undefined> {
  if (state.copied.has(siteKey(entry))) return undefined;
  const { bytes } = await loadSite(ctx, state, entry);
  state.copied.add(siteKey(entry));
  return { base: entry.base, ext: GS_EXT.site, date: entry.collectionDate, body: bytes, contentType: "application/json" };
}

/** Copies the unit data in force for the day into standardized when it is not the one copied last (B13). */
async function copyUnitData(ctx: StageContext<GsSourceConfig>, state: StandardizeState, day: DateTime): Promise<void> {
  const entry = await ctx.from.unitEntry(day);
  if (!entry) {
    ctx.log.warn(`No unit data dated after ${day.toISODate()} in ${ctx.from.repository}; run gs-insert-lake, then gs-ready can match devices`);
    return;
  }
  if (entry.pointer === state.lastUnitPointer) return;
  const ud: UnitData = await ctx.from.units(day);
  const collected = parsePyStr(ud.header.collection_date, ctx.zone).startOf("day");
  const processed = ud.header.processing_date ? parsePyStr(ud.header.processing_date, ctx.zone) : ctx.processingDate;
  await ctx.storeUnitData(ud, "standardized", collected, processed);
  state.lastUnitPointer = entry.pointer;
}

const jsonStandard = defineStage<GsSourceConfig, StandardizeState>({
  kind: "transform",
  name: "json-standard",
  description: "GRIDSMART: raw day archives → standardized JSON per zone",
  perfmet: "Standardize",
  from: "raw",
  to: "standardized",
  compareOn: "base",
  select: { ext: GS_EXT.zip },
  schedule: { at: "04:00", args: ["-r", "0", "-s", "30"] },
  // All site files of raw (a few per intersection per day of ingest): the nearest may lie outside the window.
  setup: async (ctx) => ({
    sites: new RawSiteFiles(await ctx.from.list({ ext: GS_EXT.site })),
    copied: new Set((await ctx.to.list({ ext: GS_EXT.site })).map(siteKey)),
    siteCache: new Map(),
    far: new FarSiteFiles(ctx.config.siteFileHorizonDays),
  }),
  /**
   * Per item (an intersection-day zip not yet standardized): the raw site file captured nearest to the day
   * (site-choice.ts; a warning beyond sources.gs.siteFileHorizonDays) gives the clock correction (clock.ts); the
   * archive is read in memory (Type A or B, untrusted names and sizes checked), standardized and written zone by
   * zone. The site file used is copied into standardized unless its copy is there; unit data is copied once per
   * change (B13); perfmet observations are kept per day (B30). A bad archive, an unknown version, empty files or a
   * site clock that cannot be read fail that item with a message, not the run (B14); it is retried on the next run.
   */
  async *process({ item, entry: zip, body }, ctx, state) {
    const picked = state.sites.pick(item.base, item.date);
    if (!picked) {
      throw new TerminalError(`No site file for ${item.base} in ${ctx.from.repository}: run gs-insert-lake for that device so its site file is stored`);
    }
    const siteEntry = picked.file;
    state.far.note(item.base, item.date, siteEntry.collectionDate, picked.daysFromDay);
    const site = (await loadSite(ctx, state, siteEntry)).json;
    await copyUnitData(ctx, state, item.date);

    const where = `${ctx.from.repository}/${zip.pointer}`;
    const cfg = ctx.config;
    const archive = readCountsArchive(body, where, { maxTotalBytes: cfg.zipMaxBytes, maxEntries: cfg.zipMaxEntries, maxRatio: cfg.zipMaxRatio });
    // Zone files' lines that are not UTF-8 or too long are quarantined and left out (the rest keep their lines).
    // Each zone file is named by the archive and its path inside it in every message (and quarantined row).
    const zones = archive.zones.map((z) => ({ ...z, path: `${where}:${z.path}`, data: ctx.readableLines(z.data, `${where}:${z.path}`) }));
    const plan = planDay({
      zones,
      base: item.base,
      day: item.date,
      zipName: ctx.from.basename(zip.pointer),
      processingDate: ctx.processingDate,
      siteDateTime: site.datetime,
      siteWhere: `${ctx.from.repository}/${siteEntry.pointer}`,
      zone: ctx.zone,
      toleranceMinutes: cfg.dayCoveredToleranceMinutes,
      where,
      rules: (columns) => ctx.rules("counts", columns),
    });
    // Zone by zone: only one zone's rows are alive at a time (a day is about a hundred thousand vehicles).
    let rows = 0;
    for (const zoneCsv of zones) {
      const z = standardizeZone(plan, zoneCsv);
      yield { ext: zoneExt(z.guid), body: zoneJson(z), rows: z.kept.length, contentType: "application/json" };
      rows += z.kept.length;
    }
    for (const w of dayWarnings(plan)) ctx.log.warn(w);
    const copy = await siteCopy(ctx, state, siteEntry);
    if (copy) yield copy;
    const fromMs = (ms: number | undefined) => (ms === undefined ? null : DateTime.fromMillis(ms, { zone: ctx.zone }));
    ctx.observe(item.base, "Vehicle Counts", {
      observation: plan.perf.count,
      collectionDate: item.date,
      minTimestamp: fromMs(plan.perf.minMs),
      maxTimestamp: fromMs(plan.perf.maxMs),
    });
    ctx.log.info(
      `${ctx.from.basename(zip.pointer)}: v${plan.version} type ${archive.layout}, ${archive.zones.length} zones, ${rows} vehicles` +
        (plan.dayCovered !== undefined ? `, day_covered ${plan.dayCovered}` : "") +
        `, clock delta ${(plan.correction.deltaMs / 1000).toFixed(0)} s`,
    );
  },
  /**
   * After the items: every other raw site file dated in the run's window reaches standardized, chosen for a day or
   * not (gs-ready chooses among the copies with the same rule, so it must see them all); far site files reported.
   */
  async finish(ctx, state) {
    let copied = 0;
    for (const entry of state.sites.entries) {
      if ((ctx.window.start && entry.collectionDate < ctx.window.start) || (ctx.window.end && entry.collectionDate >= ctx.window.end)) continue;
      try {
        const copy = await siteCopy(ctx, state, entry);
        if (!copy) continue;
        await ctx.to.write({ ...copy, base: entry.base, date: entry.collectionDate });
        copied++;
      } catch (err) {
        ctx.fail(`${entry.base}/${GS_EXT.site}/${entry.collectionDate.toISODate()}`, err);
      }
    }
    if (copied) ctx.log.info(`${copied} site file(s) not chosen for a day of this run copied to ${ctx.to.repository}`);
    for (const w of state.far.warnings()) ctx.log.warn(w);
  },
});

// ------------------------------------------------------------------------------------------------ ready

interface ReadyState {
  sites: SiteFiles;
  tables: MatchTables;
  far: FarSiteFiles;
}

const ready = defineStage<GsSourceConfig, ReadyState>({
  kind: "transform",
  name: "ready",
  description: "GRIDSMART: standardized zone files → ready counts per intersection and day (device matching)",
  perfmet: "Ready",
  from: "standardized",
  to: "ready",
  compareOn: "base",
  // Zone files only: site files and unit data are read separately, per day.
  select: { ext: { like: "*.json" }, accept: (e) => e.ext.toLowerCase() !== GS_EXT.site && e.ext.toLowerCase() !== GS_EXT.unitData },
  groupBy: "base",
  options: [
    { flags: "-p, --ignore_prev", description: "write a day even when a previous day's zone file it needs is missing", default: false },
    { flags: "-n, --ignore_next", description: "write a day even when a next day's zone file it needs is missing", default: false },
  ],
  schedule: { at: "05:30", args: ["-r", "0", "-s", "30"] },
  setup: (ctx) => ({ sites: new SiteFiles(ctx.from), tables: matchTables(ctx.config as Record<string, unknown>), far: new FarSiteFiles(ctx.config.siteFileHorizonDays) }),
  /**
   * One intersection-day (its zone files, and the adjacent days' that day_covered names):
   *   1. unit data = the first inventory stored after the day (closest future; a clear failure when there is none);
   *      site file = the standardized site file captured nearest to the day, the later one on a tie (the rule and
   *      the capture of json-standard; a warning beyond sources.gs.siteFileHorizonDays);
   *   2. the unit-data device is found by the match cascade (match.ts);
   *   3. the IncludeInData zones of configured cameras are stitched from day D's files and the adjacent day's
   *      (assemble.ts);
   *   4. a missing previous-day file skips the intersection-day unless -p, a missing next-day file unless -n (it is
   *      retried on the next run, when that file exists).
   * Fixes: B34 (nothing is processed when the loop saw no item), B16 (see match.ts, assemble.ts).
   */
  async processGroup({ base, date: day, label }, ctx, { sites, tables, far }) {
    const unitData = await ctx.from.units(day);
    const found = await sites.forDay(base, day);
    if (!found) return ctx.skip(SKIP_NO_SITE);
    far.note(base, day, found.entry.collectionDate, found.daysFromDay);
    const site = found.json;
    const loc = site?.site?.Location;
    if (!loc || typeof loc !== "object") throw new TerminalError(`${found.pointer}: site.Location is missing`);

    const match = matchDevice(
      { street1: String(loc.Street1 ?? ""), street2: String(loc.Street2 ?? ""), latitude: loc.Latitude, longitude: loc.Longitude, netAddr: site.header?.device_net_addr },
      unitData.devices,
      tables,
    );
    for (const w of match.warnings) ctx.log.warn(`${label}: ${w}`);
    ctx.log.info(`${label}: ${describeMatch(match)}`);

    const zones = countedZones(site, found.pointer);
    const load: ZoneFileLoader = async (d, guid) => {
      const entry = await ctx.from.lookup(base, zoneExt(guid), d);
      if (!entry) return undefined;
      return openZoneFile((await ctx.from.read(entry.pointer)).toString("utf8"), entry.pointer);
    };
    const assembled = await assembleDay(day, zones, load);
    for (const w of assembled.warnings) ctx.log.warn(`${label}: ${w}`);
    if (assembled.missingPrev.length && !ctx.options.ignore_prev) return ctx.skip(SKIP_PREV_MISSING);
    if (assembled.missingNext.length && !ctx.options.ignore_next) return ctx.skip(SKIP_NEXT_MISSING);
    if (!assembled.rows.length || !assembled.header) return ctx.skip(SKIP_NO_COUNTS);

    const body = countsFileBytes(assembled.header, pyStr(ctx.processingDate), assembled.rows, site, match.device);
    ctx.log.info(`${label}: ${assembled.rows.length} vehicles from ${assembled.zonesRead} zones -> ${ctx.to.filename(base, COUNTS_EXT, day)}`);
    return { ext: COUNTS_EXT, body, rows: assembled.rows.length, contentType: "application/json" };
  },
  finish(ctx, { far }) {
    for (const w of far.warnings()) ctx.log.warn(w);
  },
});

// ------------------------------------------------------------------------------------------------ ready-agg

/** -a/--agg: whole minutes, 1 to 1440. */
export function parseAggMinutes(value: unknown): number {
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < 1 || n > 1440) throw new UsageError(`-a/--agg "${String(value)}": give the aggregation interval in whole minutes, 1 to 1440`);
  return n;
}

const aggOption = (what: string) => ({ flags: "-a, --agg <minutes>", description: what, default: 15, parse: parseAggMinutes });
const minutesOf = (ctx: Pick<StageContext<never>, "options">) => parseAggMinutes(ctx.options.agg ?? 15);

interface CountsJson {
  header: Record<string, unknown>;
  counts: Record<string, unknown>[];
  site: GsSiteFile;
  device: unknown;
}

const readyAgg = defineStage<GsSourceConfig>({
  kind: "transform",
  name: "ready-agg",
  description: "GRIDSMART: ready counts → N-minute aggregates by approach, turn and heavy vehicle",
  perfmet: "Aggregate",
  from: "ready",
  to: "ready",
  compareOn: "base",
  select: { ext: COUNTS_EXT },
  target: { ext: (ctx) => aggExt(minutesOf(ctx)) },
  options: [aggOption("aggregation interval in minutes")],
  schedule: { at: "06:00", args: ["-r", "0", "-s", "30"] },
  /**
   * Differences from the original, on purpose (B36): header.processing_date comes from the run's clock, the same
   * instant as the catalog row's; counts are joined only with the zones gs-ready reads (IncludeInData zones of
   * configured cameras), so a zone listed twice cannot duplicate vehicles.
   */
  process({ item, entry, body }, ctx) {
    // The counts are only computed with (JSON.parse, fast); header, site and device are copied (floats kept).
    const json = parseSplit(body.toString("utf8"), ["counts"], entry.pointer) as unknown as CountsJson;
    if (!json || !Array.isArray(json.counts) || !json.header) throw new TerminalError(`${entry.pointer}: not a counts file ("header" and "counts" expected)`);
    const movements: Movement[] = countedZones(json.site, `${entry.pointer} site`).map((z) => ({ zone: z.ident, zone_approach: z.approach, turn_type: z.turnType }));
    const minutes = minutesOf(ctx);
    const data = aggregate(json.counts, movements, minutes, ctx.zone, entry.pointer);
    ctx.log.info(`${entry.pointer}: ${json.counts.length} vehicles -> ${data.length} ${minutes}-minute rows -> ${ctx.to.filename(item.base, aggExt(minutes), item.date)}`);
    return { ext: aggExt(minutes), json: aggFile(json, data, pyStr(ctx.processingDate), minutes), rows: data.length };
  },
});

// ------------------------------------------------------------------------------------------------ agg-extract-soc

interface AggJson {
  header: Record<string, unknown>;
  data: Record<string, unknown>[];
  site?: { site?: { Location?: { Street1?: unknown; Street2?: unknown } } };
  device?: unknown;
}

/** Rows handed to the publisher at once. */
const PUBLISH_BATCH_ROWS = 1_000;

const aggExtractSoc = defineStage<GsSourceConfig>({
  kind: "publish",
  name: "agg-extract-soc",
  description: "GRIDSMART: ready aggregates → Camera Traffic Counts dataset",
  perfmet: "Publish",
  from: "ready",
  // Compared on base and ext, so the aggregates of another -a interval publish separately (B28).
  compareOn: "base+ext",
  select: { ext: (ctx) => aggExt(minutesOf(ctx)) },
  target: {
    ext: (ctx) => aggExt(minutesOf(ctx)),
    // --retry_skipped reopens the files recorded as skipped (no matched device).
    include: (entry, ctx) => !(ctx.options.retry_skipped && entry.metadata && "skipped" in entry.metadata),
  },
  dataset: GS_DATASET_KEY,
  options: [
    aggOption("aggregation interval in minutes of the files to publish"),
    { flags: "-u, --no_unassigned", description: 'leave "Unassigned" approaches out', default: false },
    { flags: "--retry_skipped", description: "publish again the files recorded as skipped (no matched device)", default: false },
  ],
  schedule: { at: "08:30", args: ["-r", "0", "-s", "30"] },
  /**
   * B27: a file with no matched device is not retried silently every night: it is reported as skipped and recorded
   * in the catalog under the public repository with metadata {"skipped": "no matched device", ...}. Once the device
   * match is repaired (unit data, or sources.gs.lookups, then gs-ready -F and gs-ready-agg -F for those days), `-F`
   * or `--retry_skipped` publishes it and the catalog row loses its skip marker.
   */
  *rows({ entry, body }, ctx) {
    const json = parseSplit(body.toString("utf8"), ["data", "site"], entry.pointer) as unknown as AggJson;
    if (!json || !Array.isArray(json.data)) throw new TerminalError(`${entry.pointer}: not an aggregate file ("data" list expected)`);
    if (!hasDevice(json.device)) {
      const loc = json.site?.site?.Location;
      const where = `${String(loc?.Street1 ?? "?")} / ${String(loc?.Street2 ?? "?")}`;
      ctx.log.warn(`${entry.pointer}: the intersection ${where} has no matched unit-data device; not published`);
      ctx.skip(SKIP_NO_DEVICE, { record: { site_streets: where, source: entry.pointer } });
      return;
    }
    const warnings: WarningCounts = new Map();
    const opts = { minutes: minutesOf(ctx), noUnassigned: Boolean(ctx.options.no_unassigned), zone: ctx.zone };
    let batch = [];
    for (let i = 0; i < json.data.length; i++) {
      const row = shapeRow(json.data[i]!, json.device, opts, warnings, `${entry.pointer} data[${i}]`);
      if (row) batch.push(row);
      if (batch.length === PUBLISH_BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    yield batch;
    for (const [msg, n] of warnings) ctx.log.warn(`${entry.pointer}: ${msg} (x${n})`);
  },
});

export default defineSource<GsSourceConfig>({
  code: "gs",
  name: "GRIDSMART",
  description: "GRIDSMART camera counts per intersection, 15-minute aggregates by approach and turn",
  config: gsSourceSchema,
  datasets: { [GS_DATASET_KEY]: { production: "sh59-i6y9", debug: "sh59-i6y9-test", rowId: GS_ROW_ID } },
  devices: { type: "GRIDSMART", keys: GS_UNIT_DEVICE_KEYS },
  coverage: { aggregateExt: /^agg\d*\.json$/i },
  // A vehicle of a zone CSV (every API version's columns by name): values a camera cannot measure are quarantined by
  // gs-json-standard; the bounds are far beyond any real vehicle (docs/sources/gridsmart.md).
  rules: {
    counts: {
      ranges: {
        vehicle_length: { min: 0, max: 500 },
        speed: { min: 0, max: 300 },
        seconds_in_zone: { min: 0, max: 86_400 },
        vehicles_in_zone: { min: 0, max: 10_000 },
        utc_offset: { min: -1_440, max: 1_440 },
      },
    },
  },
  metadataExts: [GS_EXT.site],
  stages: [insertLake, jsonStandard, ready, readyAgg, aggExtractSoc],
  demo: () => import("./simulate.js"),
});
