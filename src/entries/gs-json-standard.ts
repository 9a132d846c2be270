/**
 * gs-json-standard (original §9.3.2): raw day archives → one standardized JSON per zone GUID,
 * `<base>_gs_<day>_<GUID>.json` = {header, data} (format in src/sources/gs/types.ts), staged catalog rows.
 *
 * Per item (an intersection-day zip not yet standardized): the raw site file captured nearest to the day
 * (src/sources/gs/site-choice.ts; a warning when it is further than sources.gs.siteFileHorizonDays) gives the clock
 * correction; the archive is read in memory (Type A or B, untrusted names and sizes checked), standardized
 * (src/sources/gs/standardize.ts) and written zone by zone. Every raw site file used, and after the items every raw
 * site file dated in the run's window, is copied unchanged into standardized (dated its own day) unless its copy is
 * there; unit data is copied once per change (fixes B13); perfmet observations are kept per day (fixes B30). A bad
 * archive, an unknown version, empty files or a site clock that cannot be read fail that item with a message, not
 * the run (fixes B14); the item is retried on the next run. No temp files are used (B42 cannot happen).
 */
import { DateTime } from "luxon";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, inWindow, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { runIfMain } from "../support/cli-entry.js";
import { TerminalError } from "../support/errors.js";
import { keyFilename } from "../support/identifier.js";
import { storeUnitData, type UnitData } from "../support/unitdata.js";
import { parsePyStr } from "../util/dates.js";
import { readGsConfig, type GsSourceConfig } from "../sources/gs/config.js";
import { readCountsArchive } from "../sources/gs/zip.js";
import { dayWarnings, planDay, standardizeZone, zoneJsonBuffer } from "../sources/gs/standardize.js";
import { GS_EXT, zoneExt, type GsSiteFile } from "../sources/gs/types.js";
import { FarSiteFiles, nearestSiteFile, type SiteChoice } from "../sources/gs/site-choice.js";

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

export class GsJsonStandard extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "gs-json-standard",
    description: "GRIDSMART: raw day archives → standardized JSON per zone",
    dataSource: "gs",
    stage: "Standardize",
    purposeSrc: "raw",
    purposeTgt: "standardized",
  };
  static readonly options: CustomOption[] = [];

  private cfg!: GsSourceConfig;
  private sites!: RawSiteFiles;
  /** Site files that have their copy in standardized, by base and day. */
  private readonly siteCopies = new Set<string>();
  /** Site files read so far, by key (a few per run): the bytes (copied as they are) and the parsed file. */
  private readonly siteCache = new Map<string, { bytes: Buffer; json: GsSiteFile }>();
  private far!: FarSiteFiles;
  private lastUnitPointer: string | undefined;
  private unitDataStore: ReturnType<ETLApp["unitDataStorage"]> | undefined;

  protected async etlActivity(): Promise<number> {
    this.cfg = readGsConfig(this.runtime.sourceConfig("gs"));
    this.far = new FarSiteFiles(this.cfg.siteFileHorizonDays);
    const raw = this.storageSrc!;
    // All site files of raw (a few per intersection per day of ingest): the one in force may predate the window.
    this.sites = new RawSiteFiles(await this.catalog.list(raw.repository, { ext: GS_EXT.site }));
    for (const e of await this.catalog.list(this.storageTgt!.repository, { ext: GS_EXT.site })) this.siteCopies.add(siteKey(e));
    const source = new CatalogProvider(this.catalog, raw.repository, { ext: GS_EXT.zip }, this.providerOptions());
    const target = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: false });
  }

  /** Copies the unit data in force for the day into standardized when it is not the one copied last (B13). */
  private async copyUnitData(day: DateTime): Promise<void> {
    const uds = (this.unitDataStore ??= this.unitDataStorage(this.storageSrc!));
    const entry = await uds.entryFor(day);
    if (!entry) {
      this.log("warn", `No unit data dated after ${day.toISODate()} in ${this.storageSrc!.repository}; run gs-insert-lake, then gs-ready can match devices`);
      return;
    }
    if (entry.pointer === this.lastUnitPointer) return;
    const ud: UnitData = await uds.retrieve(day);
    const collected = parsePyStr(ud.header.collection_date, this.zone).startOf("day");
    const processed = ud.header.processing_date ? parsePyStr(ud.header.processing_date, this.zone) : this.processingDate;
    await storeUnitData(this.storageTgt!, ud, this.runtime.config.areaBase, collected, processed);
    this.lastUnitPointer = entry.pointer;
  }

  /** A raw site file, read once per run. */
  private async loadSite(entry: CatalogEntry): Promise<{ bytes: Buffer; json: GsSiteFile }> {
    let hit = this.siteCache.get(entry.pointer);
    if (!hit) {
      const bytes = await this.storageSrc!.retrieveBuffer(entry.pointer);
      let json: GsSiteFile;
      try {
        json = JSON.parse(bytes.toString("utf8")) as GsSiteFile;
      } catch (err) {
        throw new TerminalError(`${this.storageSrc!.repository}/${entry.pointer}: the site file is not JSON (${(err as Error).message})`);
      }
      hit = { bytes, json };
      this.siteCache.set(entry.pointer, hit);
    }
    return hit;
  }

  /**
   * Copies a raw site file into standardized, unchanged and dated its own day, unless that day's copy is there (a
   * site file captured again the same day by a second ingest run describes the same configuration).
   */
  private async copySiteFile(entry: CatalogEntry): Promise<boolean> {
    if (this.siteCopies.has(siteKey(entry))) return false;
    const { bytes } = await this.loadSite(entry);
    const element = this.storageTgt!.createCatalogElement(entry.base, GS_EXT.site, entry.collectionDate, { processingDate: this.processingDate });
    await this.storageTgt!.writeBuffer(bytes, element, { contentType: "application/json" });
    this.siteCopies.add(siteKey(entry));
    return true;
  }

  /**
   * After the items: every raw site file dated in the run's window reaches standardized, chosen for a day or not
   * (gs-ready chooses among the copies with the same rule, so it must see them all).
   */
  protected override async afterLoop(): Promise<number> {
    let copied = 0;
    for (const entry of this.sites.entries) {
      if (!inWindow(entry.collectionDate, this.window)) continue;
      try {
        if (await this.copySiteFile(entry)) copied++;
      } catch (err) {
        this.recordFailure(`${entry.base}/${GS_EXT.site}/${entry.collectionDate.toISODate()}`, err);
      }
    }
    if (copied) this.log("info", `${copied} site file(s) not chosen for a day of this run copied to ${this.storageTgt!.repository}`);
    for (const w of this.far.warnings()) this.log("warn", w);
    return 0;
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const zip = item.provItem.payload as CatalogEntry;
    if (item.ext !== GS_EXT.zip) return this.skipItem(item, "not a zip");
    const picked = this.sites.pick(item.base, item.date);
    if (!picked) {
      throw new TerminalError(`No site file for ${item.base} in ${this.storageSrc!.repository}: run gs-insert-lake for that device so its site file is stored`);
    }
    const siteEntry = picked.file;
    this.far.note(item.base, item.date, siteEntry.collectionDate, picked.daysFromDay);
    const site = (await this.loadSite(siteEntry)).json;
    await this.copyUnitData(item.date);

    const where = `${this.storageSrc!.repository}/${zip.pointer}`;
    const archive = readCountsArchive(await this.storageSrc!.retrieveBuffer(zip.pointer), where, {
      maxTotalBytes: this.cfg.zipMaxBytes,
      maxEntries: this.cfg.zipMaxEntries,
      maxRatio: this.cfg.zipMaxRatio,
    });
    const plan = planDay({
      zones: archive.zones,
      base: item.base,
      day: item.date,
      zipName: keyFilename(zip.pointer),
      processingDate: this.processingDate,
      siteDateTime: site.datetime,
      siteWhere: `${this.storageSrc!.repository}/${siteEntry.pointer}`,
      zone: this.zone,
      toleranceMinutes: this.cfg.dayCoveredToleranceMinutes,
      where,
    });
    // Zone by zone: only one zone's rows are alive at a time (a day is about a hundred thousand vehicles).
    const storage = this.storageTgt!;
    let rows = 0;
    for (const zoneCsv of archive.zones) {
      const z = standardizeZone(plan, zoneCsv);
      const element = storage.createCatalogElement(item.base, zoneExt(z.guid), item.date, { processingDate: this.processingDate });
      await storage.writeBuffer(zoneJsonBuffer(z), element, { cache: true, contentType: "application/json" });
      rows += z.kept.length;
    }
    for (const w of dayWarnings(plan)) this.log("warn", w);
    const result = { version: plan.version, dayCovered: plan.dayCovered, correction: plan.correction, perf: plan.perf, zoneCount: archive.zones.length };
    this.addRecords(rows);

    await this.copySiteFile(siteEntry);
    const fromMs = (ms: number | undefined) => (ms === undefined ? null : DateTime.fromMillis(ms, { zone: this.zone }));
    this.perfmet?.recordSensorObs(item.base, "Vehicle Counts", {
      observation: result.perf.count,
      collectionDate: item.date,
      minTimestamp: fromMs(result.perf.minMs),
      maxTimestamp: fromMs(result.perf.maxMs),
    });
    this.log(
      "info",
      `${keyFilename(zip.pointer)}: v${result.version} type ${archive.layout}, ${result.zoneCount} zones, ${rows} vehicles` +
        (result.dayCovered !== undefined ? `, day_covered ${result.dayCovered}` : "") +
        (result.correction ? `, clock delta ${(result.correction.deltaMs / 1000).toFixed(0)} s` : ""),
    );
    return 1;
  }
}

export const App = GsJsonStandard;
export const main = makeMain(App);
runIfMain(import.meta.url, main);
