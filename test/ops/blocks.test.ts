/** Every block store (SQLite file, memory, PostgreSQL when PG_URL is set) through the conformance suite; which store a lake gets. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { blockStoreConformance } from "../conformance/blocks.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { sqliteBlockStore } from "../../src/drivers/blocks/sqlite.js";
import { memoryBlockStore } from "../../src/drivers/blocks/memory.js";
import { postgresBlockStore } from "../../src/drivers/blocks/postgres.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { validateConfig } from "../../src/config/load.js";
import { describeService } from "../helpers/services.js";

const key = { source: "tt", stage: "tt-make", day: "2024-11-03" };

const dir = mkdtempSync(path.join(os.tmpdir(), "lake-blocks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

blockStoreConformance("sqlite", () => sqliteBlockStore(path.join(dir, "catalog.sqlite")));
blockStoreConformance("memory", () => memoryBlockStore());
blockStoreConformance("sqlite through the registry", async () => {
  const rt = new LakeRuntime(validateConfig({ home: dir }, "test"), dir, {}, { env: {} });
  return openBlockStore(rt);
});

const PG_URL = process.env.PG_URL;
describeService(["PG_URL"], "postgres", () => {
  const schema = `lake_ops_test_${process.pid}`;
  blockStoreConformance("postgres", () => postgresBlockStore(PG_URL!, schema, 4, false));
  afterAll(async () => {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });
});

describe("read-only store", () => {
  it("reads a database without block tables as empty and refuses writes", async () => {
    const file = path.join(dir, "ro.sqlite");
    const rw = sqliteBlockStore(file);
    await rw.close();
    const { sqliteBlockStore: open } = await import("../../src/drivers/blocks/sqlite.js");
    const ro = open(path.join(dir, "other.sqlite"), true);
    expect(await ro.list({ source: "tt" })).toEqual([]);
    await expect(ro.markPending(key, 1)).rejects.toThrow(/read-only/);
    await ro.close();
  });
});

describe("which block store", () => {
  const blockStoreSpec = async (cfg: Record<string, unknown>) => (await import("../../src/orchestration/blocks.js")).blockStoreSpec(makeRt(cfg));
  function makeRt(cfg: Record<string, unknown>) {
    return new LakeRuntime(validateConfig({ home: dir, ...cfg }, "test"), dir, {}, { env: {} });
  }

  it("follows the catalog's database: the sqlite file, the postgres connection (not its schema), memory", async () => {
    expect(await blockStoreSpec({})).toEqual({ driver: "sqlite", options: {} });
    expect(await blockStoreSpec({ catalog: { driver: "sqlite", options: { path: "x/cat.sqlite" } } })).toEqual({ driver: "sqlite", options: { path: "x/cat.sqlite" } });
    expect(await blockStoreSpec({ catalog: { driver: "postgres", options: { connectionString: "postgres://h/db", schema: "api", maxConnections: 2 } } })).toEqual({
      driver: "postgres",
      options: { connectionString: "postgres://h/db" },
    });
    expect(await blockStoreSpec({ catalog: { driver: "memory" } })).toEqual({ driver: "memory", options: {} });
    expect(await blockStoreSpec({ catalog: { driver: "postgrest", options: { url: "http://127.0.0.1:1" } }, blocks: { driver: "postgres", options: { schema: "ops" } } })).toEqual({
      driver: "postgres",
      options: { schema: "ops" },
    });
    await expect(blockStoreSpec({ catalog: { driver: "postgrest", options: { url: "http://127.0.0.1:1" } } })).rejects.toThrow(/No block store for the "postgrest" catalog: add a blocks section/);
  });

  it("checks the blocks and queue sections against the registry when the config is loaded, every problem at once", () => {
    const load = (cfg: Record<string, unknown>) => () => validateConfig({ home: dir, ...cfg }, "lake.config.yaml");
    expect(load({ blocks: { driver: "redis" } })).toThrow(/blocks\.driver: unknown driver "redis" \(known: sqlite, memory, postgres\)/);
    let text = "";
    try {
      load({ blocks: { driver: "postgres", options: { schema: "Bad-Name" } }, queue: { driver: "bullmq", options: { attempts: 0, queueName: "a b" } } })();
    } catch (err) {
      text = (err as Error).message;
    }
    expect(text).toMatch(/blocks\.options\.schema/);
    expect(text).toMatch(/queue\.options\.attempts/);
    expect(text).toMatch(/queue\.options\.queueName/);
    expect(load({ queue: { driver: "rabbit" } })).toThrow(/queue\.driver: unknown driver "rabbit" \(known: inprocess, bullmq\)/);
  });

  it("a dry run on a lake without a database opens an empty read-only store and creates no file", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "lake-blocks-ro-"));
    const rt = new LakeRuntime(validateConfig({ home }, "test"), home, {}, { env: {} });
    const store = await openBlockStore(rt, { readOnly: true });
    expect(await store.list({ source: "tt" })).toEqual([]);
    await expect(store.markPending(key, 1)).rejects.toThrow(/read-only/);
    await store.close();
    expect(existsSync(path.join(home, "catalog.sqlite"))).toBe(false);
    rmSync(home, { recursive: true, force: true });
  });

});

describeService(["PG_URL"], "backfill on the PostgreSQL block store", () => {
  it("a backfill keeps its blocks and leases in PostgreSQL when configured", async () => {
    const { backfillAction } = await import("../../src/cli/backfill.js");
    const { openBlockStore } = await import("../../src/orchestration/blocks.js");
    const { makeRuntime, deps, tempHome } = await import("./helpers.js");
    const home = tempHome();
    const schema = `lake_ops_bf_${process.pid}`;
    const runtime = makeRuntime(home, {}, { blocks: { driver: "postgres", options: { connectionString: PG_URL!, schema } } });
    try {
      expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-03" }, deps(runtime))).toBe(0);
      const store = await openBlockStore(runtime);
      expect((await store.list({ source: "tt" })).map((b) => `${b.stage} ${b.day} ${b.status}`)).toEqual([
        "tt-copy 2024-11-01 succeeded",
        "tt-make 2024-11-01 succeeded",
        "tt-copy 2024-11-02 succeeded",
        "tt-make 2024-11-02 succeeded",
      ]);
      await store.close();
    } finally {
      await runtime.close();
      const { default: pg } = await import("pg");
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("a block table made by an earlier version", () => {
  it("gets the columns added since, and its 'running' rows read as leased", async () => {
    const file = path.join(dir, "old.sqlite");
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(file);
    db.exec(`CREATE TABLE lake_blocks (source TEXT NOT NULL, stage TEXT NOT NULL, day TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
      processed INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, started_at INTEGER, finished_at INTEGER, updated_at INTEGER NOT NULL, PRIMARY KEY (source, stage, day))`);
    db.prepare("INSERT INTO lake_blocks (source, stage, day, status, updated_at) VALUES ('tt', 'tt-make', '2024-11-03', 'running', 1)").run();
    db.close();
    const store = sqliteBlockStore(file);
    try {
      expect((await store.get(key))!.status).toBe("leased");
      await store.markFinished(key, { status: "succeeded-with-errors", message: null, counts: { processed: 1, skipped: 0, failed: 0, records: 3, errors: 2 }, payload: "p" }, 5);
      const b = (await store.get(key))!;
      expect([b.status, b.errors, b.payload]).toEqual(["succeeded-with-errors", 2, "p"]);
    } finally {
      await store.close();
    }
  });
});
