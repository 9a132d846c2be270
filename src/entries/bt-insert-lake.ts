/**
 * bt-insert-lake (original §9.1.1): the AWAM share → raw. Three files per day, found by name
 * (`Austin_bt_MM-DD-YYYY.txt`, `Austin_btmatch_…`, `Austin_bt_summary_15_…`), copied unchanged to
 * `YYYY/MM/DD/bt/Austin_bt_YYYY-MM-DD_<unmatched|matched|traf_match_summary>.txt` and catalogued as
 * (Austin, <type>.txt, day), compared on (base, ext) so each file type is tracked on its own.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, FileProvider, type FilePattern, type UpdateItem } from "../support/last-update.js";
import { ConfigError } from "../support/errors.js";
import { SHARE_PATTERNS } from "../sources/bt/files.js";

export class BtInsertLake extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "bt-insert-lake",
    description: "Bluetooth: AWAM share text files → raw",
    dataSource: "bt",
    stage: "Ingest",
    purposeTgt: "raw",
  };
  static readonly options: CustomOption[] = [
    { flags: "-d, --sourcedir <dir>", description: "folder (AWAM share) holding the Bluetooth text files; default sources.bt.sourcedir, else ." },
  ];

  /** -d, else sources.bt.sourcedir (relative to the config file's folder), else the working folder. */
  sourceDir(): string {
    const given = this.options.sourcedir;
    if (typeof given === "string" && given !== "") return path.resolve(given);
    const configured = this.runtime.sourceConfig("bt").sourcedir;
    if (typeof configured === "string" && configured !== "") return path.resolve(this.runtime.baseDir, configured);
    return path.resolve(".");
  }

  protected async etlActivity(): Promise<number> {
    const dir = this.sourceDir();
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new ConfigError(`Bluetooth source folder ${dir} does not exist or is not a folder: pass -d/--sourcedir or set sources.bt.sourcedir`);
    }
    const source = new FileProvider(dir, [...SHARE_PATTERNS], this.zone, this.providerOptions());
    const target = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: true });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const { path: file } = item.provItem.payload as { path: string; pattern: FilePattern };
    const element = this.storageTgt!.createCatalogElement(item.base, item.ext, item.date, { processingDate: this.processingDate });
    // Streamed: a day's unmatched file is tens of MB and is never read whole into memory. Lines are counted on the way.
    let lines = 0;
    let last = 0x0a;
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines++;
        if (chunk.length) last = chunk[chunk.length - 1]!;
        yield chunk;
      }
    };
    const entry = await this.storageTgt!.writeStream(counted(), element, { cache: true, contentType: "text/plain" });
    this.addRecords(lines + (last === 0x0a ? 0 : 1));
    this.log("info", `${file} -> ${this.storageTgt!.repository}:${entry.pointer}`);
    return 1;
  }
}

export const App = BtInsertLake;
export const main = makeMain(App);
