/**
 * bt-extract-soc (original §9.1.4): ready → the three public datasets (traf_match_summary, matched, unmatched),
 * upserted by record_id, then catalogued under the public repository (pointer = dataset id) once the file's rows
 * are all sent; never in simulation.
 *
 * Compared on (base, ext): a published matched file does not block the day's unmatched one (fixes B28).
 * device_address is the day's counter of src/sources/bt/publish.ts, computed from the day's unmatched and matched
 * ready files whatever else shares the run (fixes B1/B29). Rows with a missing or unparseable time are not
 * published and are counted (the original crashed: B38).
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import type { Publisher } from "../support/publisher.js";
import { BT_FILE_TYPES, fileTypeOf, type BtFileType } from "../sources/bt/files.js";
import { ValueIds } from "../sources/bt/flat-rows.js";
import { HeldRows } from "../sources/bt/held-rows.js";
import { scanJsonArray } from "../sources/bt/json-stream.js";
import { addressNumbers, DATASET_KEYS, deviceNames, publishHeld, ROW_ID_FIELD } from "../sources/bt/publish.js";

export const SKIP_ROW_PREFIX = "row not published: ";
export const SKIP_WAIT_UNMATCHED = "matched file waits for the day's unmatched ready file (device_address numbering)";

interface ReadyFile {
  rows: HeldRows;
  /** device_id → device_name of the file's devices. */
  devices: ReturnType<typeof deviceNames>;
}

interface DayBasis {
  day: number;
  /** The day's dev_addr values in first-appearance order (unmatched rows, then matched): the numbering. */
  devAddrIds: ValueIds;
  /** Ready files (ext) the numbering was built from. */
  files: string[];
  /** Those files read on the numbering pass and not yet published: their rows wait here, so each is read once. */
  pending: Map<string, ReadyFile>;
}

export class BtExtractSoc extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "bt-extract-soc",
    description: "Bluetooth: ready JSON → public datasets (summary, matched, unmatched)",
    dataSource: "bt",
    stage: "Publish",
    purposeSrc: "ready",
  };
  static readonly options: CustomOption[] = [];

  private readonly publishers = new Map<BtFileType, Publisher>();
  private basis: DayBasis | undefined;

  protected async etlActivity(): Promise<number> {
    for (const t of BT_FILE_TYPES) this.publishers.set(t, await this.createPublisher(DATASET_KEYS[t], ROW_ID_FIELD));
    const source = new CatalogProvider(this.catalog, this.storageSrc!.repository, {}, this.providerOptions());
    const target = new CatalogProvider(this.catalog, this.repository("public"), {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: true });
  }

  /** One pass over a ready file: its rows held for publishing (see HeldRows), and its devices. */
  private async readReady(pointer: string, fileType: BtFileType, devAddrIds?: ValueIds): Promise<ReadyFile> {
    const src = this.storageSrc!;
    const rows = new HeldRows(fileType, devAddrIds);
    const skeleton = await scanJsonArray(
      await src.retrieveStream(pointer),
      "data",
      (text) => rows.addText(text),
      `${src.repository}/${pointer}`,
      undefined,
      (buf, p) => rows.addBytes(buf, p),
    );
    return { rows, devices: deviceNames(skeleton.devices) };
  }

  /** The day's device-address numbering: unmatched ready rows first, then matched, in file order. */
  private async dayBasis(item: UpdateItem): Promise<DayBasis> {
    const day = item.date.toMillis();
    if (this.basis?.day === day) return this.basis;
    this.basis = undefined; // the previous day's rows can go
    const devAddrIds = new ValueIds();
    const files: string[] = [];
    const pending = new Map<string, ReadyFile>();
    for (const ext of ["unmatched.json", "matched.json"]) {
      const entry = await this.storageSrc!.catalogLookup(item.base, ext, item.date);
      if (!entry) continue;
      files.push(ext);
      pending.set(ext, await this.readReady(entry.pointer, fileTypeOf(ext, "json")!, devAddrIds));
    }
    if (!files.includes("unmatched.json") && files.includes("matched.json")) {
      this.log("warn", `${item.base} ${item.date.toISODate()}: no unmatched file for the day; device_address numbered from the matched file alone`);
    }
    this.basis = { day, devAddrIds, files, pending };
    return this.basis;
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const fileType = fileTypeOf(item.ext, "json");
    if (!fileType) return this.skipItem(item, `not a Bluetooth file type (${item.ext})`);
    const entry = item.provItem.payload as CatalogEntry;
    const src = this.storageSrc!;
    const where = `${src.repository}/${entry.pointer}`;
    const basis = fileType === "traf_match_summary" ? undefined : await this.dayBasis(item);
    if (fileType === "matched" && !basis!.files.includes("unmatched.json")) {
      // Matched rows are numbered after the day's unmatched addresses: if that file is still on its way (in raw or
      // standardized, not yet ready), publishing now would give ids that change once it is ready.
      const pending =
        (await this.catalog.single(this.repository("standardized"), item.base, "unmatched.json", item.date)) ??
        (await this.catalog.single(this.repository("raw"), item.base, "unmatched.txt", item.date));
      if (pending) return this.skipItem(item, SKIP_WAIT_UNMATCHED);
    }
    // The file's rows: held from the day's numbering pass (then dropped from it), else read now (a summary file,
    // or a file the numbering pass did not see: its new addresses are numbered after the day's).
    let file = basis?.pending.get(item.ext);
    if (file) basis!.pending.delete(item.ext);
    else file = await this.readReady(entry.pointer, fileType, basis?.devAddrIds);
    const numbers = basis ? addressNumbers(basis.devAddrIds) : undefined;
    const publisher = this.publishers.get(fileType)!;
    publisher.reset();
    const skips = new Map<string, number>();
    let rows = 0;
    await publishHeld(
      file.rows,
      file.devices,
      numbers,
      (batch) => {
        rows += batch.length;
        return publisher.addRows(batch);
      },
      (reason) => skips.set(reason, (skips.get(reason) ?? 0) + 1),
    );
    await publisher.flush();
    publisher.reset();
    for (const [reason, n] of skips) {
      this.log("warn", `${where}: ${n} row(s) not published: ${reason}`);
      const key = SKIP_ROW_PREFIX + reason;
      this.skipReasons[key] = (this.skipReasons[key] ?? 0) + n;
    }
    this.addRecords(rows);
    const published = this.catalog.build(this.repository("public"), item.base, item.ext, item.date, publisher.dataset, {
      processingDate: this.processingDate,
    });
    await this.catalog.upsert(published); // the Catalog records nothing under -0
    this.log("info", `${where} -> ${publisher.dataset}: ${rows} rows`);
    return 1;
  }
}

export const App = BtExtractSoc;
export const main = makeMain(App);
