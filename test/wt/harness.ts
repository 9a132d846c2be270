/**
 * Test harness of the Wavetronix stages: a temp home, a KITS SQLite file, memory storage/catalog/publisher/perfmet,
 * an injected RADAR inventory and a frozen clock. Every log line and failure is captured for assertions.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { validateConfig } from "../../src/config/load.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import { createMemoryPublisher, type MemoryPublisher } from "../../src/drivers/publisher/memory.js";
import type { UnitDataDriver, UnitDevice } from "../../src/support/drivers.js";
import type { RunSummary } from "../../src/support/events.js";
import { fixedClock } from "../../src/util/dates.js";
import { KITS_SCHEMA } from "../../src/sources/wt/simulate.js";
import wtSource from "../../src/sources/wt/source.js";
const insertLake = wtSource.stage("wt-insert-lake").main;
const jsonStandard = wtSource.stage("wt-json-standard").main;
const readyStage = wtSource.stage("wt-ready").main;
const extractSoc = wtSource.stage("wt-extract-soc").main;

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "wt");
export const REPO = { raw: "atd-datalake-raw", standardized: "atd-datalake-rawjson", ready: "atd-datalake-ready", public: "socrata" };
export const DATASET = "i626-g7ub";

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export function fixtureInventory(): UnitDevice[] {
  return (JSON.parse(fixture("inventory.json").toString("utf8")) as { wt: UnitDevice[] }).wt;
}

/** Writes kits-small.json (or another fixture of that shape) into a fresh KITS SQLite file. */
export function loadKitsFixture(file: string, name = "kits-small.json"): void {
  const spec = JSON.parse(fixture(name).toString("utf8")) as {
    detectors: { DETID: number; INTID: number; INTNAME: string; DETNAME: string }[];
    columns: string[];
    readings: unknown[][];
  };
  const db = new Database(file);
  try {
    db.exec(KITS_SCHEMA);
    const det = db.prepare("INSERT INTO DETECTORSRM (DETID, INTID, INTNAME, DETNAME) VALUES (?, ?, ?, ?)");
    const row = db.prepare(`INSERT INTO SYSDETHISTORYRM (${spec.columns.join(", ")}) VALUES (${spec.columns.map(() => "?").join(", ")})`);
    db.transaction(() => {
      for (const d of spec.detectors) det.run(d.DETID, d.INTID, d.INTNAME, d.DETNAME);
      for (const r of spec.readings) row.run(...r);
    })();
  } finally {
    db.close();
  }
}

export interface Harness {
  dir: string;
  kitsFile: string;
  runtime: LakeRuntime;
  storage: MemoryStorage;
  catalog: MemoryCatalog;
  publisher: MemoryPublisher;
  perfmet: MemoryPerfmet;
  devices: UnitDevice[];
  logs: { level: string; message: string }[];
  run(stage: "insert" | "standard" | "ready" | "soc", args: string[] | Record<string, unknown>): Promise<RunSummary>;
  /** A stored object's text. */
  object(repository: string, key: string): Promise<string>;
  keys(repository: string): string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** ISO instant of the frozen clock (default 2024-11-20 10:00 Chicago). */
  now?: string;
  devices?: UnitDevice[];
  /** Prepare the KITS file (default: kits-small.json). */
  kits?: (file: string) => void;
  sources?: Record<string, unknown>;
}

const MAINS = { insert: insertLake, standard: jsonStandard, ready: readyStage, soc: extractSoc };

export function makeHarness(opts: HarnessOptions = {}): Harness {
  const dir = mkdtempSync(path.join(tmpdir(), "lake-wt-"));
  const kitsFile = path.join(dir, "kits.sqlite");
  (opts.kits ?? ((f: string) => loadKitsFixture(f)))(kitsFile);
  const storage = new MemoryStorage();
  const catalog = new MemoryCatalog();
  const publisher = createMemoryPublisher();
  const perfmet = new MemoryPerfmet(false);
  const devices = opts.devices ?? fixtureInventory();
  const unitdata: UnitDataDriver = {
    driverName: "test",
    devices: async (req) => (req.dataSource === "wt" ? structuredClone(devices) : []),
  };
  const config = validateConfig(
    {
      home: dir,
      retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 },
      sources: { wt: { sql: { driver: "sqlite", options: { path: kitsFile } }, ...(opts.sources ?? {}) } },
    },
    "wt test",
  );
  const runtime = new LakeRuntime(config, dir, { storage, catalog, publisher, perfmet, unitdata }, { clock: fixedClock(opts.now ?? "2024-11-20T10:00:00-06:00") });
  const logs: { level: string; message: string }[] = [];
  runtime.events.on("log", (e) => logs.push({ level: e.level, message: e.message }));
  return {
    dir,
    kitsFile,
    runtime,
    storage,
    catalog,
    publisher,
    perfmet,
    devices,
    logs,
    run: (stage, args) => MAINS[stage](args, { runtime }),
    async object(repository, key) {
      return (await storage.get(repository, key)).toString("utf8");
    },
    keys: (repository) => [...(storage.repos.get(repository)?.keys() ?? [])].sort(),
    async close() {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
