/**
 * wt-json-standard (original §9.2.2): raw CSV → standardized JSON `{header, data}` per day, plus the day's RADAR
 * device inventory stored once per run (Austin, unit_data.json, today). Perfmet: per intersection the day's total
 * volume with the first and last reading time ("Vehicle Counts").
 *
 * A row that cannot be read is skipped with a message naming the file, row and field; the day goes on and the
 * summary counts the skipped rows.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { TerminalError } from "../support/errors.js";
import { pyStr } from "../util/dates.js";
import { standardizeJson, type WtHeader } from "../sources/wt/transform.js";

/** Bad-row messages printed per file before the rest are only counted. */
const BAD_ROW_MESSAGES_PER_FILE = 20;
export const BAD_ROW_REASON = "unreadable row skipped (see log)";

export class WtJsonStandard extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "wt-json-standard",
    description: "Wavetronix: raw CSV → standardized JSON",
    dataSource: "wt",
    stage: "Standardize",
    purposeSrc: "raw",
    purposeTgt: "standardized",
  };
  static readonly options: CustomOption[] = [];

  protected async etlActivity(): Promise<number> {
    await this.fetchUnitData();
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, {}, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: false });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const entry = item.provItem.payload as CatalogEntry;
    await this.storeUnitDataOnce(this.storageTgt!);
    const file = this.storageSrc!.extractFilename(entry.pointer);
    const body = await this.storageSrc!.retrieveBuffer(entry.pointer);
    const target = this.storageTgt!.makeFilename(item.base, "json", item.date);
    const header: WtHeader = {
      data_type: "wavetronix",
      origin_filename: file,
      target_filename: target,
      collection_date: pyStr(item.date),
      processing_date: pyStr(this.processingDate),
    };
    // The JSON text is written row by row as the CSV is read: no row objects of the whole day are kept.
    let result: ReturnType<typeof standardizeJson>;
    try {
      result = standardizeJson(body, { file, zone: this.zone }, header);
    } catch (err) {
      throw new TerminalError(`${(err as Error).message} (${this.storageSrc!.repository}/${entry.pointer})`, { cause: err });
    }
    const { badRows, perf } = result;
    badRows.slice(0, BAD_ROW_MESSAGES_PER_FILE).forEach((b) => this.log("warn", b.message));
    if (badRows.length > BAD_ROW_MESSAGES_PER_FILE) {
      this.log("warn", `${file}: ${badRows.length - BAD_ROW_MESSAGES_PER_FILE} more unreadable rows skipped`);
    }
    if (badRows.length) this.skipReasons[BAD_ROW_REASON] = (this.skipReasons[BAD_ROW_REASON] ?? 0) + badRows.length;

    const element = this.storageTgt!.createCatalogElement(item.base, "json", item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeBuffer(result.body, element, { contentType: "application/json" });
    this.addRecords(result.rows);
    for (const [intName, p] of perf) {
      this.perfmet?.recordSensorObs(intName, "Vehicle Counts", {
        observation: p.volume,
        collectionDate: item.date,
        minTimestamp: p.min ?? null,
        maxTimestamp: p.max ?? null,
      });
    }
    await this.perfmet?.writeSensorObs();
    this.log("info", `${entry.pointer}: ${this.storageSrc!.repository} -> ${this.storageTgt!.repository}: ${result.rows} rows`);
    return 1;
  }
}

export const App = WtJsonStandard;
export const main = makeMain(App);
