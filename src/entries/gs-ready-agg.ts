/**
 * gs-ready-agg (original §9.3.4): ready counts (base, "counts.json", D) → N-minute aggregates
 * (base, "agg<N>.json", D) = {header, data, site, device}; -a/--agg N minutes (default 15).
 *
 * Differences from the original, on purpose (B36):
 * - header.processing_date comes from the run's clock (injectable), the same instant as the catalog row's;
 * - counts are joined only with the zones gs-ready reads (IncludeInData zones of configured cameras). The counts
 *   file holds rows of those zones only, so this changes nothing for files gs-ready wrote; it keeps a zone that is
 *   listed twice (or a stale zone of an unconfigured camera with the same Id) from duplicating vehicles.
 * One intersection-day is read, aggregated and written at a time.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { TerminalError, UsageError } from "../support/errors.js";
import { pyStr } from "../util/dates.js";
import { parseSplit } from "../util/pyjson-parse.js";
import { COUNTS_EXT, countedZones } from "../sources/gs/assemble.js";
import { aggExt, aggFile, aggregate, type Movement } from "../sources/gs/aggregate.js";
import type { GsSiteFile } from "../sources/gs/types.js";

/** -a/--agg: whole minutes, 1 to 1440. */
export function parseAggMinutes(value: unknown): number {
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < 1 || n > 1440) throw new UsageError(`-a/--agg "${String(value)}": give the aggregation interval in whole minutes, 1 to 1440`);
  return n;
}

interface CountsJson {
  header: Record<string, unknown>;
  counts: Record<string, unknown>[];
  site: GsSiteFile;
  device: unknown;
}

export class GsReadyAgg extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "gs-ready-agg",
    description: "GRIDSMART: ready counts → N-minute aggregates by approach, turn and heavy vehicle",
    dataSource: "gs",
    stage: "Aggregate",
    purposeSrc: "ready",
    purposeTgt: "ready",
  };
  static readonly options: CustomOption[] = [
    { flags: "-a, --agg <minutes>", description: "aggregation interval in minutes", default: 15, parse: parseAggMinutes },
  ];

  get minutes(): number {
    return parseAggMinutes(this.options.agg ?? 15);
  }

  protected async etlActivity(): Promise<number> {
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, { ext: COUNTS_EXT }, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, { ext: aggExt(this.minutes) }, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: false });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const entry = item.provItem.payload as CatalogEntry;
    // The counts are only computed with (JSON.parse, fast); header, site and device are copied (floats kept).
    const json = parseSplit((await this.storageSrc!.retrieveBuffer(entry.pointer)).toString("utf8"), ["counts"], entry.pointer) as unknown as CountsJson;
    if (!json || !Array.isArray(json.counts) || !json.header) throw new TerminalError(`${entry.pointer}: not a counts file ("header" and "counts" expected)`);
    const movements: Movement[] = countedZones(json.site, `${entry.pointer} site`).map((z) => ({ zone: z.ident, zone_approach: z.approach, turn_type: z.turnType }));
    const minutes = this.minutes;
    const data = aggregate(json.counts, movements, minutes, this.zone, entry.pointer);
    const out = aggFile(json, data, pyStr(this.processingDate), minutes);
    const element = this.storageTgt!.createCatalogElement(item.base, aggExt(minutes), item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeJSON(out, element);
    this.addRecords(data.length);
    this.log("info", `${entry.pointer}: ${json.counts.length} vehicles -> ${data.length} ${minutes}-minute rows -> ${element.pointer}`);
    return 1;
  }
}

export const App = GsReadyAgg;
export const main = makeMain(App);
