/**
 * gs-ready (original §9.3.3): standardized zone JSON files → one ready counts file per intersection per day,
 * `{header, counts, site, device}` as (base, "counts.json", D).
 *
 * Like the original it collects then processes: the compare loop only gathers the intersections seen for a day;
 * when the loop reaches a later day (and once more after the last item) the gathered day is assembled, one
 * intersection at a time, so at most one intersection-day is in memory. Per intersection-day:
 *   1. unit data = the first inventory stored after the day (closest future; a clear failure when there is none);
 *      site file = the newest standardized site file dated on or before the day, else the next one after it;
 *   2. the unit-data device is found by the match cascade (src/sources/gs/match.ts);
 *   3. the IncludeInData zones of configured cameras are stitched from day D's files and the adjacent day's that
 *      day_covered names (src/sources/gs/assemble.ts);
 *   4. a missing previous-day file skips the intersection-day unless -p, a missing next-day file unless -n
 *      (it is retried on the next run, when that file exists).
 * Fixes: B34 (nothing is processed when the loop saw no item), B16 (see match.ts, assemble.ts).
 */
import type { DateTime } from "luxon";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import { ConfigError, TerminalError } from "../support/errors.js";
import { UNIT_DATA_EXT, type UnitData, type UnitDataStorage } from "../support/unitdata.js";
import { pyStr } from "../util/dates.js";
import { GS_EXT, zoneExt } from "../sources/gs/types.js";
import { COUNTS_EXT, SiteFiles, assembleDay, countedZones, countsFileBytes, openZoneFile, type ZoneFileLoader } from "../sources/gs/assemble.js";
import { describeMatch, matchDevice, matchTables, type MatchTables } from "../sources/gs/match.js";

export const SKIP_NO_SITE = "no site file for the intersection";
export const SKIP_PREV_MISSING = "previous day's zone file missing (-p/--ignore_prev to write the day anyway)";
export const SKIP_NEXT_MISSING = "next day's zone file missing (-n/--ignore_next to write the day anyway)";
export const SKIP_NO_COUNTS = "no counts in the day";

export class GsReady extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "gs-ready",
    description: "GRIDSMART: standardized zone files → ready counts per intersection and day (device matching)",
    dataSource: "gs",
    stage: "Ready",
    purposeSrc: "standardized",
    purposeTgt: "ready",
  };
  static readonly options: CustomOption[] = [
    { flags: "-p, --ignore_prev", description: "write a day even when a previous day's zone file it needs is missing", default: false },
    { flags: "-n, --ignore_next", description: "write a day even when a next day's zone file it needs is missing", default: false },
  ];

  private units!: UnitDataStorage;
  private sites!: SiteFiles;
  private tables!: MatchTables;
  private curDate: DateTime | undefined;
  private readonly bases = new Set<string>();
  private written = 0;

  protected async etlActivity(): Promise<number> {
    this.tables = matchTables(this.runtime.sourceConfig("gs"));
    this.units = this.unitDataStorage(this.storageSrc!);
    this.sites = new SiteFiles(this.storageSrc!);
    this.curDate = undefined;
    this.bases.clear();
    this.written = 0;
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, { ext: "%.json" }, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: false });
  }

  /** Only collects: the day is processed when the loop moves past it (the original's cadence). */
  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const ext = item.ext.toLowerCase();
    if (ext === GS_EXT.site || ext === UNIT_DATA_EXT) return 0; // read separately, per day
    if (this.curDate && item.date > this.curDate) {
      await this.processDay(this.curDate);
      this.curDate = undefined;
    }
    this.curDate ??= item.date;
    this.bases.add(item.base);
    return 0;
  }

  /** The last collected day (none when no item was seen: fixes B34). Returns the counts files written. */
  protected override async afterLoop(): Promise<number> {
    if (this.curDate) await this.processDay(this.curDate);
    this.curDate = undefined;
    return this.written;
  }

  private async processDay(day: DateTime): Promise<void> {
    const bases = [...this.bases].sort();
    this.bases.clear();
    this.processingDate = this.now();
    let unitData: UnitData | undefined;
    let unitError: unknown;
    try {
      unitData = await this.units.retrieve(day);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      unitError = err;
    }
    for (const base of bases) {
      const label = `${base}/${COUNTS_EXT}/${day.toISODate()}`;
      const t0 = Date.now();
      this.runtime.events.emit("item.start", { app: this.def.name, item: label });
      const recordsBefore = this.records;
      try {
        if (!unitData) throw unitError;
        const wrote = await this.processIntersection(base, day, unitData, label);
        this.runtime.events.emit("item.done", { app: this.def.name, item: label, count: wrote, records: this.records - recordsBefore, ms: Date.now() - t0 });
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        this.recordFailure(label, err);
      }
    }
  }

  private async processIntersection(base: string, day: DateTime, unitData: UnitData, label: string): Promise<number> {
    const src = this.storageSrc!;
    const found = await this.sites.forDay(base, day);
    if (!found) return this.skipItem(label, SKIP_NO_SITE);
    const site = found.json;
    const loc = site?.site?.Location;
    if (!loc || typeof loc !== "object") throw new TerminalError(`${found.pointer}: site.Location is missing`);

    const match = matchDevice(
      { street1: String(loc.Street1 ?? ""), street2: String(loc.Street2 ?? ""), latitude: loc.Latitude, longitude: loc.Longitude, netAddr: site.header?.device_net_addr },
      unitData.devices,
      this.tables,
    );
    for (const w of match.warnings) this.log("warn", `${label}: ${w}`);
    this.log("info", `${label}: ${describeMatch(match)}`);

    const zones = countedZones(site, found.pointer);
    const load: ZoneFileLoader = async (d, guid) => {
      const entry = await src.catalogLookup(base, zoneExt(guid), d);
      if (!entry) return undefined;
      return openZoneFile((await src.retrieveBuffer(entry.pointer)).toString("utf8"), entry.pointer);
    };
    const day_ = await assembleDay(day, zones, load);
    for (const w of day_.warnings) this.log("warn", `${label}: ${w}`);
    if (day_.missingPrev.length && !this.options.ignore_prev) return this.skipItem(label, SKIP_PREV_MISSING);
    if (day_.missingNext.length && !this.options.ignore_next) return this.skipItem(label, SKIP_NEXT_MISSING);
    if (!day_.rows.length || !day_.header) return this.skipItem(label, SKIP_NO_COUNTS);

    const body = countsFileBytes(day_.header, pyStr(this.processingDate), day_.rows, site, match.device);
    const element = this.storageTgt!.createCatalogElement(base, COUNTS_EXT, day, { processingDate: this.processingDate });
    await this.storageTgt!.writeBuffer(body, element, { contentType: "application/json" });
    this.addRecords(day_.rows.length);
    this.perfmet?.recordCollect(day, true);
    this.written++;
    this.log("info", `${label}: ${day_.rows.length} vehicles from ${day_.zonesRead} zones -> ${element.pointer}`);
    return 1;
  }
}

export const App = GsReady;
export const main = makeMain(App);
