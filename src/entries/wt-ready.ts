/**
 * wt-ready (original §9.2.3): standardized JSON + the device inventory → ready JSON `{header, data, devices}`.
 * The inventory is the unit data stored by wt-json-standard on the first processing day after the data day
 * ("closest future"); when there is none the day fails with a message saying what to run (fixes B33).
 * Rows of intersections that no RADAR device lists as kits_id are dropped, counted and reported.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { UNIT_DATA_EXT, type UnitDataStorage } from "../support/unitdata.js";
import { readyJson, type StdJson } from "../sources/wt/transform.js";

export const NO_DEVICE_REASON = "rows dropped: intersection not in the device inventory (kits_id)";

export class WtReady extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "wt-ready",
    description: "Wavetronix: standardized JSON + device inventory → ready JSON",
    dataSource: "wt",
    stage: "Ready",
    purposeSrc: "standardized",
    purposeTgt: "ready",
  };
  static readonly options: CustomOption[] = [];

  private units!: UnitDataStorage;

  protected async etlActivity(): Promise<number> {
    this.units = this.unitDataStorage(this.storageSrc!);
    // Data days only: the inventory files stored beside them are not days to make ready.
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, { ext: "json" }, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: false });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    if (item.ext.toLowerCase() === UNIT_DATA_EXT) return 0; // the inventory itself is not a data file
    const entry = item.provItem.payload as CatalogEntry;
    const unitData = await this.units.retrieve(item.date);
    const std = await this.storageSrc!.retrieveJSON<StdJson>(entry.pointer);
    const { body, rows, dropped } = readyJson(std, unitData.devices, this.processingDate);
    if (dropped.size) {
      let rows = 0;
      const which: string[] = [];
      for (const [intID, d] of dropped) {
        rows += d.rows;
        which.push(`intID ${intID} (${d.intName}): ${d.rows} rows`);
      }
      this.skipReasons[NO_DEVICE_REASON] = (this.skipReasons[NO_DEVICE_REASON] ?? 0) + rows;
      this.log("warn", `${entry.pointer}: ${rows} rows dropped, no RADAR device has their intersection as kits_id: ${which.join("; ")}`);
    }
    const element = this.storageTgt!.createCatalogElement(item.base, "json", item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeBuffer(body, element, { contentType: "application/json" });
    this.addRecords(rows);
    this.log("info", `${entry.pointer}: ${this.storageSrc!.repository} -> ${this.storageTgt!.repository}: ${rows} rows`);
    return 1;
  }
}

export const App = WtReady;
export const main = makeMain(App);
