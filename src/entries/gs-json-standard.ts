/**
 * gs-json-standard (original §9.3.2): raw day archives → one standardized JSON per zone GUID,
 * `<base>_gs_<day>_<GUID>.json` = {header, data} (format in src/sources/gs/types.ts), staged catalog rows.
 *
 * Per item (an intersection-day zip not yet standardized): the site file in force (latest raw site file on or
 * before the day, else the first after it) gives the clock correction; the archive is read in memory (Type A or B,
 * untrusted names and sizes checked), standardized (src/sources/gs/standardize.ts) and written zone by zone.
 * A site file selected for the first time is copied into standardized; unit data is copied once per change
 * (fixes B13); perfmet observations are kept per day (fixes B30). A bad archive, an unknown version or empty
 * files fail that item with a message, not the run (fixes B14). No temp files are used (B42 cannot happen).
 */
import { DateTime } from "luxon";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { TerminalError } from "../support/errors.js";
import { keyFilename } from "../support/identifier.js";
import { storeUnitData, type UnitData } from "../support/unitdata.js";
import { parsePyStr } from "../util/dates.js";
import { readGsConfig, type GsSourceConfig } from "../sources/gs/config.js";
import { readCountsArchive } from "../sources/gs/zip.js";
import { dayWarnings, planDay, standardizeZone, zoneJsonBuffer } from "../sources/gs/standardize.js";
import { GS_EXT, zoneExt, type GsSiteFile } from "../sources/gs/types.js";

/** Site files of raw per base, date-ordered, with the original's getForPrevDate(forceValid) selection. */
class SiteFiles {
  private readonly byBase = new Map<string, CatalogEntry[]>();
  private readonly lastPick = new Map<string, string>();

  constructor(entries: CatalogEntry[]) {
    for (const e of entries) {
      const list = this.byBase.get(e.base) ?? [];
      list.push(e);
      this.byBase.set(e.base, list);
    }
    for (const list of this.byBase.values()) list.sort((a, b) => a.collectionDate.toMillis() - b.collectionDate.toMillis());
  }

  /** The latest on or before the day, else the first after it; isNew when it differs from the last one used. */
  pick(base: string, day: DateTime): { entry: CatalogEntry; isNew: boolean } | undefined {
    const list = this.byBase.get(base);
    if (!list?.length) return undefined;
    let entry = list[0]!;
    for (const e of list) if (e.collectionDate <= day) entry = e;
    return { entry, isNew: this.lastPick.get(base) !== entry.pointer };
  }

  /** Records that an item used this site file (only once it succeeded, so a failed item does not hide a new one). */
  used(base: string, entry: CatalogEntry): void {
    this.lastPick.set(base, entry.pointer);
  }
}

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
  private sites!: SiteFiles;
  /** Site files read so far, by key (a few per run). */
  private readonly siteCache = new Map<string, GsSiteFile>();
  private lastUnitPointer: string | undefined;
  private unitDataStore: ReturnType<ETLApp["unitDataStorage"]> | undefined;

  protected async etlActivity(): Promise<number> {
    this.cfg = readGsConfig(this.runtime.sourceConfig("gs"));
    const raw = this.storageSrc!;
    // All site files of raw (a few per intersection per day of ingest): the one in force may predate the window.
    this.sites = new SiteFiles(await this.catalog.list(raw.repository, { ext: GS_EXT.site }));
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

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const zip = item.provItem.payload as CatalogEntry;
    if (item.ext !== GS_EXT.zip) return this.skipItem(item, "not a zip");
    const picked = this.sites.pick(item.base, item.date);
    if (!picked) {
      throw new TerminalError(`No site file for ${item.base} in ${this.storageSrc!.repository}: run gs-insert-lake for that device so its site file is stored`);
    }
    let site = this.siteCache.get(picked.entry.pointer);
    if (!site) {
      site = await this.storageSrc!.retrieveJSON<GsSiteFile>(picked.entry.pointer);
      this.siteCache.set(picked.entry.pointer, site);
    }
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

    if (picked.isNew) {
      const siteEl = storage.createCatalogElement(item.base, GS_EXT.site, picked.entry.collectionDate, { processingDate: this.processingDate });
      await storage.writeJSON(site, siteEl);
    }
    this.sites.used(item.base, picked.entry);
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
