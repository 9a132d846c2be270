/** Block store conformance: every store (SQLite file, memory, PostgreSQL when PG_URL is set) behaves the same. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockStore } from "../../src/support/block-store.js";
import { sqliteBlockStore } from "../../src/drivers/blocks/sqlite.js";
import { memoryBlockStore } from "../../src/drivers/blocks/memory.js";
import { postgresBlockStore } from "../../src/drivers/blocks/postgres.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { validateConfig } from "../../src/config/load.js";
import { describeService } from "../helpers/services.js";

const key = { source: "tt", stage: "tt-make", day: "2024-11-03" };
const counts = { processed: 2, skipped: 1, failed: 0, records: 7 };

function conformance(name: string, open: () => Promise<BlockStore>) {
  describe(`block store ${name}`, () => {
    let store: BlockStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    it("records a block's life: pending, running (attempts), finished with counts and message", async () => {
      expect(await store.get(key)).toBeUndefined();
      await store.markPending(key, 1000, "queued");
      expect((await store.get(key))!.status).toBe("pending");
      await store.markRunning(key, "a", 2000);
      let b = (await store.get(key))!;
      expect([b.status, b.attempts, b.owner, b.startedAt, b.finishedAt, b.message]).toEqual(["running", 1, "a", 2000, null, null]);
      await store.markPending(key, 2500); // a running block is not reset by a new enqueue
      expect((await store.get(key))!.status).toBe("running");
      await store.markFinished(key, { status: "failed", message: "boom", counts }, 3000);
      b = (await store.get(key))!;
      expect([b.status, b.message, b.processed, b.skipped, b.records, b.finishedAt]).toEqual(["failed", "boom", 2, 1, 7, 3000]);
      await store.markRunning(key, "b", 4000);
      await store.markFinished(key, { status: "succeeded", message: null, counts }, 5000);
      b = (await store.get(key))!;
      expect([b.status, b.attempts, b.owner, b.message]).toEqual(["succeeded", 2, "b", null]);
    });

    it("lists blocks by source, stage and day range (end exclusive)", async () => {
      for (const day of ["2024-11-01", "2024-11-02", "2024-11-04"]) await store.markPending({ ...key, day }, 1);
      await store.markPending({ ...key, stage: "tt-copy", day: "2024-11-02" }, 1);
      await store.markPending({ ...key, source: "other" }, 1);
      const all = await store.list({ source: "tt", from: "2024-11-02", to: "2024-11-04" });
      expect(all.map((b) => `${b.stage} ${b.day}`)).toEqual(["tt-copy 2024-11-02", "tt-make 2024-11-02", "tt-make 2024-11-03"]);
      expect((await store.list({ source: "tt", stage: "tt-copy" })).length).toBe(1);
    });

    it("leases: one holder at a time, renewals, release, takeover after expiry", async () => {
      const k = { ...key, day: "2024-12-01" };
      expect(await store.acquireLease(k, "w1", 1000, 500)).toEqual({ acquired: true });
      const refused = await store.acquireLease(k, "w2", 1200, 500);
      expect(refused.acquired).toBe(false);
      expect(refused.acquired === false && refused.holder?.owner).toBe("w1");
      expect(await store.acquireLease(k, "w1", 1300, 500)).toEqual({ acquired: true }); // re-entrant for its owner
      expect(await store.renewLease(k, "w1", 1400, 500)).toBe(true); // now expires at 1900
      expect((await store.acquireLease(k, "w2", 1800, 500)).acquired).toBe(false);
      expect((await store.acquireLease(k, "w2", 1900, 500)).acquired).toBe(true); // expired: taken over
      expect(await store.renewLease(k, "w1", 1950, 500)).toBe(false); // w1 lost it
      await store.releaseLease(k, "w1"); // not w1's any more: no effect
      expect((await store.leases({ source: "tt" })).map((l) => l.owner)).toEqual(["w2"]);
      await store.releaseLease(k, "w2");
      expect(await store.leases({ source: "tt" })).toEqual([]);
      expect((await store.acquireLease(k, "w3", 1960, 500)).acquired).toBe(true);
      await store.releaseLease(k, "w3");
    });

    it("grants a contested lease to exactly one of many concurrent callers", async () => {
      const k = { ...key, day: "2024-12-02" };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquireLease(k, `w${i}`, 10_000, 60_000)));
      expect(results.filter((r) => r.acquired).length).toBe(1);
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), "lake-blocks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

conformance("sqlite", async () => sqliteBlockStore(path.join(dir, "catalog.sqlite")));
conformance("memory", async () => memoryBlockStore());

const PG_URL = process.env.PG_URL;
describeService(["PG_URL"], "postgres", () => {
  const schema = `lake_ops_test_${process.pid}`;
  conformance("postgres", () => postgresBlockStore(PG_URL!, schema, 4, false));
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
