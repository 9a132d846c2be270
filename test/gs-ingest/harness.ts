/** GS ingest/standardize test harness: memory drivers, a fixed clock, the device fake, an inventory. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { validateConfig } from "../../src/config/load.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import type { UnitDataDriver, UnitDevice } from "../../src/support/drivers.js";
import type { RunSummary } from "../../src/support/events.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
const insertLake = gsSource.stage("gs-insert-lake").main;
const jsonStandard = gsSource.stage("gs-json-standard").main;
import { unitDevice, type SimDevice } from "../../src/sources/gs/simulate.js";
import { startGridsmartFake, type FakeDeviceEntry, type GridsmartFake } from "../../src/sources/gs/device-fake.js";
import gsSource from "../../src/sources/gs/source.js";

export const RAW = "atd-datalake-raw";
export const STD = "atd-datalake-rawjson";

export interface Harness {
  dir: string;
  fake: GridsmartFake;
  runtime: LakeRuntime;
  storage: MemoryStorage;
  catalog: MemoryCatalog;
  perfmet: MemoryPerfmet;
  logs: { level: string; message: string }[];
  inventory: UnitDevice[];
  insert(args: Record<string, unknown>): Promise<RunSummary>;
  standard(args: Record<string, unknown>): Promise<RunSummary>;
  /**
   * Moves the lake's clock and the devices' true time to another instant (a later night): the runtime (same drivers,
   * events and config) and the fake follow.
   */
  at(now: string): LakeRuntime;
  keys(repository: string): string[];
  json<T = any>(repository: string, key: string): Promise<T>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  devices: FakeDeviceEntry[];
  /** Inventory rows (default: one per fake device). */
  inventory?: UnitDevice[];
  /** The lake's clock (ISO with offset). */
  now?: string;
  /** The fake's true now (default: the lake's). */
  deviceNow?: string;
  sources?: Record<string, unknown>;
}

export function inventoryOf(devices: SimDevice[]): UnitDevice[] {
  return devices.map((d) => ({ ...unitDevice(d) }));
}

export async function makeHarness(opts: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), "lake-gs-"));
  const now = opts.now ?? "2024-11-20T10:00:00-06:00";
  let deviceMs = Date.parse(opts.deviceNow ?? now);
  const fake = await startGridsmartFake({ devices: opts.devices, now: () => deviceMs });
  const storage = new MemoryStorage();
  const catalog = new MemoryCatalog();
  const perfmet = new MemoryPerfmet(false);
  const inventory = opts.inventory ?? inventoryOf(opts.devices.map((d) => d.device));
  const unitdata: UnitDataDriver = { driverName: "test", devices: async (req) => (req.dataSource === "gs" ? structuredClone(inventory) : []) };
  const config = validateConfig(
    {
      home: dir,
      retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 },
      // A generous timeout: a loaded test machine must not turn a slow answer into a failure (timeout tests set theirs).
      sources: { gs: { deviceUrl: fake.deviceUrl, timeoutMs: 10_000, ...(opts.sources ?? {}) } },
    },
    "gs test",
  );
  let runtime = new LakeRuntime(config, dir, { storage, catalog, perfmet, unitdata }, { clock: fixedClock(now) });
  const logs: { level: string; message: string }[] = [];
  runtime.events.on("log", (e) => logs.push({ level: e.level, message: e.message }));
  const h: Harness = {
    dir,
    fake,
    runtime,
    storage,
    catalog,
    perfmet,
    logs,
    inventory,
    insert: (args) => insertLake(args, { runtime: h.runtime }),
    standard: (args) => jsonStandard(args, { runtime: h.runtime }),
    at(at) {
      deviceMs = Date.parse(at);
      runtime = new LakeRuntime(config, dir, { storage, catalog, perfmet, unitdata }, { clock: fixedClock(at), events: runtime.events });
      h.runtime = runtime;
      return runtime;
    },
    keys: (repository) => [...(storage.repos.get(repository)?.keys() ?? [])].sort(),
    async json(repository, key) {
      return JSON.parse((await storage.get(repository, key)).toString("utf8"));
    },
    async close() {
      await fake.stop();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
