/** Test lake for the GRIDSMART ready/aggregate/publish stages: memory drivers, a fixed clock, fixture loading. */
import { readFileSync, readdirSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { validateConfig } from "../../src/config/load.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import { createMemoryPublisher, type MemoryPublisher } from "../../src/drivers/publisher/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import type { CatalogRecord } from "../../src/support/drivers.js";
import { makeKey } from "../../src/support/identifier.js";
import { StorageListingProvider } from "../../src/support/last-update.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import { pyJson } from "../../src/util/pyjson.js";
import { parsePyJson } from "../../src/util/pyjson-parse.js";

export const ZONE = "America/Chicago";
export const REPO = { standardized: "atd-datalake-rawjson", ready: "atd-datalake-ready", public: "socrata" } as const;
export const FIXTURES = new URL("../fixtures/gs-ready/", import.meta.url);
export const FIXTURE_LAKE = new URL("lake/standardized/", FIXTURES);

export interface TestLake {
  runtime: LakeRuntime;
  storage: MemoryStorage;
  catalog: MemoryCatalog;
  publisher: MemoryPublisher;
  perfmet: MemoryPerfmet;
  /** Puts an object and its catalog row (base, ext, day parsed from the lake filename). */
  put(repository: string, filename: string, body: string | unknown): Promise<void>;
  /** Removes an object and its catalog row. */
  remove(repository: string, filename: string): Promise<void>;
  /** The parsed object (pyjson-parse: floats kept) and its raw text. */
  read(repository: string, filename: string): Promise<{ json: any; text: string }>;
  rows(repository: string, ext?: string): CatalogRecord[];
  /** Loads test/fixtures/gs-ready/lake/standardized into the standardized repository. */
  loadFixtures(filter?: (name: string) => boolean): Promise<void>;
}

function parseName(filename: string) {
  const p = StorageListingProvider.parseFilename(filename, "gs");
  if (!p) throw new Error(`not a lake filename: ${filename}`);
  return { ...p, date: DateTime.fromISO(p.day, { zone: ZONE }) };
}

export function makeLake(clockIso = "2024-06-25T10:00:00-05:00", sources: Record<string, Record<string, unknown>> = {}): TestLake {
  const home = mkdtempSync(path.join(tmpdir(), "gs-ready-test-"));
  const storage = new MemoryStorage();
  const catalog = new MemoryCatalog();
  const publisher = createMemoryPublisher();
  const perfmet = new MemoryPerfmet();
  const config = validateConfig({ home, zone: ZONE, sources }, "test");
  const runtime = new LakeRuntime(config, home, { storage, catalog, publisher, perfmet }, { clock: fixedClock(clockIso) });
  const lake: TestLake = {
    runtime,
    storage,
    catalog,
    publisher,
    perfmet,
    async put(repository, filename, body) {
      const { base, ext, date } = parseName(filename);
      const key = makeKey("gs", date, filename);
      await storage.put(repository, key, Buffer.from(typeof body === "string" ? body : pyJson(body), "utf8"));
      await catalog.upsert([
        { repository, data_source: "gs", id_base: base, id_ext: ext, pointer: key, collection_date: date.toMillis(), collection_end: null, processing_date: null, metadata: null },
      ]);
    },
    async remove(repository, filename) {
      const { base, ext, date } = parseName(filename);
      await storage.delete(repository, makeKey("gs", date, filename));
      await catalog.delete([{ repository, data_source: "gs", id_base: base, id_ext: ext, collection_date: date.toMillis() }]);
    },
    async read(repository, filename) {
      const { date } = parseName(filename);
      const text = (await storage.get(repository, makeKey("gs", date, filename))).toString("utf8");
      return { json: parsePyJson(text), text };
    },
    rows(repository, ext) {
      return [...catalog.rows.values()]
        .filter((r) => r.repository === repository && (ext === undefined || r.id_ext === ext))
        .sort((a, b) => a.collection_date - b.collection_date || (a.id_base < b.id_base ? -1 : a.id_base > b.id_base ? 1 : 0));
    },
    async loadFixtures(filter) {
      const dir = FIXTURE_LAKE;
      for (const name of readdirSync(dir).sort()) {
        if (!name.endsWith(".json") || (filter && !filter(name))) continue;
        await lake.put(REPO.standardized, name, readFileSync(new URL(name, dir), "utf8"));
      }
    },
  };
  return lake;
}

/** Another runtime on the same drivers and clock with a different sources block (a config change between runs). */
export function runtimeWith(lake: TestLake, sources: Record<string, Record<string, unknown>>): LakeRuntime {
  const config = validateConfig({ ...lake.runtime.config, sources }, "test");
  const { storage, catalog, publisher, perfmet } = lake;
  return new LakeRuntime(config, lake.runtime.baseDir, { storage, catalog, publisher, perfmet }, { clock: lake.runtime.clock });
}

export const Z1 = "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90";
export const Z2 = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
export const BURNET = "Burnet_Richcreek";
export const LOOP360 = "Loop 360_Barton Creek";
export const NOWHERE = "Nowhere_Qqq";
