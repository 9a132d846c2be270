/**
 * bt-json-standard (original §9.1.2): raw AWAM text → standardized JSON per file type and day
 * (`Austin_bt_YYYY-MM-DD_<type>.json` = {header, data}), streamed end to end. The BLUETOOTH device inventory is
 * stored once per run, at the first item (Austin, unit_data.json, dated today).
 *
 * Compared on (base, file type): the standardized "<type>.json" of a day stands for the raw "<type>.txt", so a file
 * type that arrives later than the others of its day is still standardized (the original compared on base alone).
 * Perfmet (unmatched files): per reader the row count and earliest/latest host_timestamp ("Unmatched Entries").
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { parsePyStr, pyStr } from "../util/dates.js";
import { fileTypeOf } from "../sources/bt/files.js";
import { MappedProvider } from "../sources/bt/providers.js";
import { newStats, standardizeBluetooth, type StandardHeader, type StandardizeStats } from "../sources/bt/standardize.js";

export const SKIP_DROPPED = "raw row dropped (cut short or not CSV; see log)";
export const SKIP_EXTRA = "raw row had extra values (dropped; see log)";
export const SKIP_TIME = "timestamp not parseable (written null; see log)";

export class BtJsonStandard extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "bt-json-standard",
    description: "Bluetooth: raw AWAM text → standardized JSON",
    dataSource: "bt",
    stage: "Standardize",
    purposeSrc: "raw",
    purposeTgt: "standardized",
  };
  static readonly options: CustomOption[] = [];

  protected async etlActivity(): Promise<number> {
    const source = new CatalogProvider(this.catalog, this.storageSrc!.repository, {}, this.providerOptions());
    const target = new MappedProvider(new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions()), (t) => {
      const fileType = fileTypeOf(t.ext, "json");
      return fileType ? { ...t, ext: `${fileType}.txt` } : undefined;
    });
    return this.doCompareLoop(source, target, { baseExtKey: true });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const fileType = fileTypeOf(item.ext, "txt");
    if (!fileType) return this.skipItem(item, `not a Bluetooth file type (${item.ext})`);
    await this.storeUnitDataOnce(this.storageTgt!);
    const entry = item.provItem.payload as CatalogEntry;
    const src = this.storageSrc!;
    const tgt = this.storageTgt!;
    const originFilename = src.extractFilename(entry.pointer);
    const header: StandardHeader = {
      data_type: "bluetooth",
      file_type: fileType,
      origin_filename: originFilename,
      target_filename: tgt.makeFilename(item.base, `${fileType}.json`, item.date),
      collection_date: pyStr(item.date),
      processing_date: pyStr(this.processingDate),
    };
    const stats = newStats();
    const input = await src.retrieveStream(entry.pointer);
    const element = tgt.createCatalogElement(item.base, `${fileType}.json`, item.date, { processingDate: this.processingDate });
    await tgt.writeStream(standardizeBluetooth(input, fileType, header, this.zone, stats), element, { contentType: "application/json" });
    this.addRecords(stats.rows);
    this.reportProblems(`${src.repository}/${entry.pointer}`, stats);
    if (fileType === "unmatched") this.recordReaders(item, stats);
    return 1;
  }

  private count(reason: string, n: number): void {
    if (n > 0) this.skipReasons[reason] = (this.skipReasons[reason] ?? 0) + n;
  }

  private reportProblems(where: string, stats: StandardizeStats): void {
    for (const p of stats.problems) this.log("warn", `${where} line ${p.line}: ${p.problem}`);
    const total = stats.dropped + stats.extraColumns + stats.unparseableTimes;
    if (total > stats.problems.length) this.log("warn", `${where}: ${total - stats.problems.length} more problems (counted in the summary)`);
    this.count(SKIP_DROPPED, stats.dropped);
    this.count(SKIP_EXTRA, stats.extraColumns);
    this.count(SKIP_TIME, stats.unparseableTimes);
  }

  /** One observation per reader; min/max only from parsed host timestamps (fixes B11). */
  private recordReaders(item: UpdateItem, stats: StandardizeStats): void {
    for (const [reader, r] of stats.perReader) {
      this.perfmet?.recordSensorObs(reader, "Unmatched Entries", {
        observation: r.count,
        expected: null,
        collectionDate: item.date,
        minTimestamp: r.min ? parsePyStr(r.min, this.zone) : null,
        maxTimestamp: r.max ? parsePyStr(r.max, this.zone) : null,
      });
    }
  }
}

export const App = BtJsonStandard;
export const main = makeMain(App);
