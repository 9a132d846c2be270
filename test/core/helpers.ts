/** Test stages and runtimes for the framework tests: a file ingest and a raw → standardized copy. */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ETLApp, makeMain, type AppDefinition } from "../../src/support/etl-app.js";
import { CatalogProvider, FileProvider, type UpdateItem } from "../../src/support/last-update.js";
import type { CatalogEntry } from "../../src/support/catalog.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { validateConfig } from "../../src/config/load.js";
import { fixedClock, type Clock } from "../../src/util/dates.js";
import { TerminalError } from "../../src/support/errors.js";
import type { LakeConfigInput } from "../../src/config/schema.js";
import type { DriverKind, DriverKinds } from "../../src/drivers/registry.js";

export function tempDir(prefix = "lake-test-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Files named tt_MM-dd-yyyy.csv in a folder → raw (base "Austin", ext "csv"). */
export class TtIngest extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "tt-ingest",
    description: "test: folder → raw",
    dataSource: "tt",
    stage: "Ingest",
    purposeTgt: "raw",
  };
  static readonly options = [{ flags: "-d, --sourcedir <dir>", description: "source folder" }];
  /** Names of items whose body makes the stage throw (bad input). */
  static failOn = new Set<string>();

  protected async etlActivity(): Promise<number> {
    const dir = String(this.options.sourcedir);
    const src = new FileProvider(dir, [{ prefix: "tt_", dateFormat: "MM-dd-yyyy", postfix: ".csv", base: "Austin", ext: "csv" }], this.zone, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: true });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const payload = item.provItem.payload as { path: string };
    if (TtIngest.failOn.has(path.basename(payload.path))) throw new TerminalError(`bad input in ${payload.path}`);
    const element = this.storageTgt!.createCatalogElement(item.base, item.ext, item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeFile(payload.path, element, { cache: true });
    this.addRecords(1);
    return 1;
  }
}

/** raw → standardized: JSON {header, data: lines}. */
export class TtStandard extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "tt-standard",
    description: "test: raw → standardized",
    dataSource: "tt",
    stage: "Standardize",
    purposeSrc: "raw",
    purposeTgt: "standardized",
  };

  protected async etlActivity(): Promise<number> {
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, {}, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(src, tgt, { baseExtKey: false });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const entry = item.provItem.payload as CatalogEntry;
    const lines = (await this.storageSrc!.retrieveBuffer(entry.pointer)).toString("utf8").trim().split("\n");
    const element = this.storageTgt!.createCatalogElement(item.base, "json", item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeJSON({ header: { origin: entry.pointer }, data: lines }, element);
    this.perfmet?.recordSensorObs("sensor-1", "Lines", { observation: lines.length, collectionDate: item.date });
    return 1;
  }
}

export const ingestMain = makeMain(TtIngest);
export const standardMain = makeMain(TtStandard);

export function testRuntime(
  home: string,
  opts: { clock?: Clock; config?: LakeConfigInput; drivers?: Partial<{ [K in DriverKind]: DriverKinds[K] }> } = {},
): LakeRuntime {
  const config = validateConfig({ home, ...(opts.config ?? {}) }, "test");
  return new LakeRuntime(config, home, opts.drivers ?? {}, { clock: opts.clock ?? fixedClock("2024-11-20T10:00:00-06:00"), env: {} });
}
