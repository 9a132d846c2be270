/**
 * bt-ready (original §9.1.3): standardized → ready. Each file's rows are joined with the device inventory stored
 * in the standardized layer (the first unit data dated after the data day), given hashed device ids, sorted, and
 * written as {header, data, devices}. Rows of readers the inventory lacks are dropped, counted and reported.
 *
 * Compared on (base, ext): a day's ready "matched.json" does not hide its "unmatched.json" (the original compared
 * on base alone: B28). Unit data items of the standardized layer are not data files and are left out.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { TerminalError } from "../support/errors.js";
import { UNIT_DATA_EXT, type UnitDataStorage } from "../support/unitdata.js";
import { pyStr } from "../util/dates.js";
import { fileTypeOf } from "../sources/bt/files.js";
import { scanJsonArray } from "../sources/bt/json-stream.js";
import { MappedProvider } from "../sources/bt/providers.js";
import { ReadyBuilder } from "../sources/bt/ready.js";

export const SKIP_MISSING_READER = "row of a reader missing from the inventory (dropped; see log)";

export class BtReady extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "bt-ready",
    description: "Bluetooth: standardized JSON → ready JSON joined with the device inventory",
    dataSource: "bt",
    stage: "Ready",
    purposeSrc: "standardized",
    purposeTgt: "ready",
  };
  static readonly options: CustomOption[] = [];

  private unitData!: UnitDataStorage;

  protected async etlActivity(): Promise<number> {
    this.unitData = this.unitDataStorage(this.storageSrc!);
    const source = new MappedProvider(new CatalogProvider(this.catalog, this.storageSrc!.repository, {}, this.providerOptions()), (s) =>
      s.ext === UNIT_DATA_EXT ? undefined : s,
    );
    const target = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: true });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const fileType = fileTypeOf(item.ext, "json");
    if (!fileType) return this.skipItem(item, `not a Bluetooth file type (${item.ext})`);
    const unit = await this.unitData.retrieve(item.date); // clear TerminalError when none (fixes B33)
    const entry = item.provItem.payload as CatalogEntry;
    const src = this.storageSrc!;
    const where = `${src.repository}/${entry.pointer}`;
    const builder = new ReadyBuilder(fileType, unit.devices);
    // Flat rows are taken in place as bytes; any other row reaches addText() as text.
    const doc = await scanJsonArray(
      await src.retrieveStream(entry.pointer),
      "data",
      (text) => builder.addText(text),
      where,
      undefined,
      (buf, p) => builder.addBytes(buf, p),
    );
    const header = doc.header;
    if (typeof header !== "object" || header === null) throw new TerminalError(`${where}: no "header" object; rewrite it with bt-json-standard -F`);

    for (const [reader, n] of builder.stats.missingReaders) {
      this.log("warn", `${where}: reader "${reader}" is not in the BLUETOOTH inventory; ${n} row(s) dropped`);
    }
    const dropped = [...builder.stats.missingReaders.values()].reduce((a, b) => a + b, 0);
    if (dropped > 0) this.skipReasons[SKIP_MISSING_READER] = (this.skipReasons[SKIP_MISSING_READER] ?? 0) + dropped;

    const tgt = this.storageTgt!;
    const element = tgt.createCatalogElement(item.base, `${fileType}.json`, item.date, { processingDate: this.processingDate });
    await tgt.writeStream(builder.json(header as Record<string, unknown>, pyStr(this.processingDate)), element, { contentType: "application/json" });
    this.addRecords(builder.rowCount);
    return 1;
  }
}

export const App = BtReady;
export const main = makeMain(App);
