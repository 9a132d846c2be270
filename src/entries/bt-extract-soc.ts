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
import { runIfMain } from "../support/cli-entry.js";
import type { Publisher } from "../support/publisher.js";
import { BT_FILE_TYPES, fileTypeOf, type BtFileType } from "../sources/bt/files.js";
import { scanJsonArray, scanJsonRows } from "../sources/bt/json-stream.js";
import { DailyAddressCounter, DATASET_KEYS, deviceNames, isSkip, publishRow, ROW_ID_FIELD } from "../sources/bt/publish.js";

const DEV_ADDR = /"dev_addr"\s*:\s*("(?:[^"\\]|\\.)*"|null)/g;

/**
 * Numbers every dev_addr value of some row text (no row objects built), appending each row's number to `out`
 * (0 = null). Returns how many values it found.
 */
function countAddresses(text: string, counter: DailyAddressCounter, out: number[]): number {
  DEV_ADDR.lastIndex = 0;
  let found = 0;
  for (let m = DEV_ADDR.exec(text); m; m = DEV_ADDR.exec(text)) {
    const v = m[1]!;
    out.push(counter.add(v === "null" ? null : v.includes("\\") ? JSON.parse(v) : v.slice(1, -1)) ?? 0);
    found++;
  }
  return found;
}

export const SKIP_ROW_PREFIX = "row not published: ";
export const SKIP_WAIT_UNMATCHED = "matched file waits for the day's unmatched ready file (device_address numbering)";

interface DayBasis {
  day: number;
  counter: DailyAddressCounter;
  /** Ready files (ext) the numbering was built from. */
  files: string[];
  /** device_id → device_name of each of those files (read on the same pass). */
  devices: Map<string, ReturnType<typeof deviceNames>>;
  /**
   * Per file, each row's device_address in file order (0 = null), so publishing needs no lookup; absent when the
   * rows and the values found did not line up (a row without dev_addr): then the counter is asked per row.
   */
  rowNumbers: Map<string, number[]>;
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

  /** The day's device-address numbering: unmatched ready rows first, then matched, in file order. */
  private async dayBasis(item: UpdateItem): Promise<DayBasis> {
    const day = item.date.toMillis();
    if (this.basis?.day === day) return this.basis;
    const counter = new DailyAddressCounter();
    const files: string[] = [];
    const devices = new Map<string, ReturnType<typeof deviceNames>>();
    const rowNumbers = new Map<string, number[]>();
    for (const ext of ["unmatched.json", "matched.json"]) {
      const entry = await this.storageSrc!.catalogLookup(item.base, ext, item.date);
      if (!entry) continue;
      files.push(ext);
      const where = `${this.storageSrc!.repository}/${entry.pointer}`;
      const numbers: number[] = [];
      let aligned = true;
      const skeleton = await scanJsonArray(
        await this.storageSrc!.retrieveStream(entry.pointer),
        "data",
        (text) => {
          if (countAddresses(text, counter, numbers) !== 1) aligned = false;
        },
        where,
        (buf, start, end, count) => {
          if (countAddresses(buf.toString("utf8", start, end), counter, numbers) !== count) aligned = false;
        },
      );
      devices.set(ext, deviceNames(skeleton.devices));
      if (aligned) rowNumbers.set(ext, numbers);
    }
    if (!files.includes("unmatched.json") && files.includes("matched.json")) {
      this.log("warn", `${item.base} ${item.date.toISODate()}: no unmatched file for the day; device_address numbered from the matched file alone`);
    }
    this.basis = { day, counter, files, devices, rowNumbers };
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
    const counter = basis?.counter ?? new DailyAddressCounter();
    // The devices list follows the rows in the file: known from the day's numbering pass, else read first (rows
    // skipped unparsed), then the rows.
    let devices = basis?.devices.get(item.ext);
    if (!devices) devices = deviceNames((await scanJsonArray(await src.retrieveStream(entry.pointer), "data", () => undefined, where)).devices);
    const publisher = this.publishers.get(fileType)!;
    publisher.reset();
    const skips = new Map<string, number>();
    let rows = 0;
    const numbers = basis?.rowNumbers.get(item.ext);
    let index = 0;
    await scanJsonRows(
      await src.retrieveStream(entry.pointer),
      "data",
      async (lines) => {
        for (const line of lines) {
          const n = numbers && index < numbers.length ? numbers[index]! : counter.add(line.dev_addr) ?? 0;
          index++;
          const row = publishRow(fileType, line, devices, n === 0 ? null : n);
          if (isSkip(row)) {
            skips.set(row.skip, (skips.get(row.skip) ?? 0) + 1);
            continue;
          }
          rows++;
          await publisher.addRow(row);
        }
      },
      where,
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
runIfMain(import.meta.url, main);
