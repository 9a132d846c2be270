/**
 * Test harness of the Bluetooth stages: a temp home with an AWAM share folder, memory storage/catalog/publisher/
 * perfmet, an injected BLUETOOTH inventory and a frozen clock. Log lines are captured for assertions.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { validateConfig } from "../../src/config/load.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import { createMemoryPublisher, type MemoryPublisher } from "../../src/drivers/publisher/memory.js";
import type { UnitDataDriver, UnitDevice } from "../../src/support/drivers.js";
import type { RunSummary } from "../../src/support/events.js";
import { fixedClock } from "../../src/util/dates.js";
import btSource from "../../src/sources/bt/source.js";
const insertLake = btSource.stage("bt-insert-lake").main;
const jsonStandard = btSource.stage("bt-json-standard").main;
const readyStage = btSource.stage("bt-ready").main;
const extractSoc = btSource.stage("bt-extract-soc").main;

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "bt");
export const REPO = { raw: "atd-datalake-raw", standardized: "atd-datalake-rawjson", ready: "atd-datalake-ready", public: "socrata" };
export const DATASETS = { traf_match_summary: "v7zg-5jg9", matched: "x44q-icha", unmatched: "qnpj-zrb9" } as const;
/** The golden files' processing time (str form 2019-06-02 04:00:33.234000-05:00). */
export const GOLDEN_NOW = "2019-06-02T04:00:33.234-05:00";

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export function fixtureInventory(): UnitDevice[] {
  return (JSON.parse(fixture("inventory.json").toString("utf8")) as { bt: UnitDevice[] }).bt;
}

export interface Harness {
  dir: string;
  share: string;
  runtime: LakeRuntime;
  storage: MemoryStorage;
  catalog: MemoryCatalog;
  publisher: MemoryPublisher;
  perfmet: MemoryPerfmet;
  devices: UnitDevice[];
  logs: { level: string; message: string }[];
  run(stage: "insert" | "standard" | "ready" | "soc", args: string[] | Record<string, unknown>): Promise<RunSummary>;
  /** All four stages over a window. */
  runAll(args: Record<string, unknown>): Promise<RunSummary[]>;
  object(repository: string, key: string): Promise<string>;
  keys(repository: string): string[];
  /** Copies the fixture share files of some days (MM-DD-YYYY, default 06-01-2019) into the share folder. */
  copyFixtureShare(days?: string[]): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  now?: string;
  devices?: UnitDevice[];
  /** Runtime clock override per call (tests that move the clock). */
  clock?: () => number;
}

const MAINS = { insert: insertLake, standard: jsonStandard, ready: readyStage, soc: extractSoc };

export function makeHarness(opts: HarnessOptions = {}): Harness {
  const dir = mkdtempSync(path.join(tmpdir(), "lake-bt-"));
  const share = path.join(dir, "awam");
  mkdirSync(share, { recursive: true });
  const storage = new MemoryStorage();
  const catalog = new MemoryCatalog();
  const publisher = createMemoryPublisher();
  const perfmet = new MemoryPerfmet(false);
  const devices = opts.devices ?? fixtureInventory();
  const unitdata: UnitDataDriver = { driverName: "test", devices: async (req) => (req.dataSource === "bt" ? structuredClone(devices) : []) };
  const config = validateConfig(
    { home: dir, retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 }, sources: { bt: { sourcedir: share } } },
    "bt test",
  );
  const runtime = new LakeRuntime(config, dir, { storage, catalog, publisher, perfmet, unitdata }, { clock: opts.clock ?? fixedClock(opts.now ?? GOLDEN_NOW) });
  const logs: { level: string; message: string }[] = [];
  runtime.events.on("log", (e) => logs.push({ level: e.level, message: e.message }));
  const run = (stage: keyof typeof MAINS, args: string[] | Record<string, unknown>) => MAINS[stage](args, { runtime });
  return {
    dir,
    share,
    runtime,
    storage,
    catalog,
    publisher,
    perfmet,
    devices,
    logs,
    run,
    async runAll(args) {
      const out: RunSummary[] = [];
      for (const s of ["insert", "standard", "ready", "soc"] as const) out.push(await run(s, args));
      return out;
    },
    async object(repository, key) {
      return (await storage.get(repository, key)).toString("utf8");
    },
    keys: (repository) => [...(storage.repos.get(repository)?.keys() ?? [])].sort(),
    copyFixtureShare(days = ["06-01-2019"]) {
      for (const f of readdirSync(path.join(FIXTURES, "share"))) {
        if (days.some((d) => f.endsWith(`_${d}.txt`))) copyFileSync(path.join(FIXTURES, "share", f), path.join(share, f));
      }
    },
    async close() {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
