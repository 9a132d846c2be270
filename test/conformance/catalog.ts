/**
 * The catalog conformance suite: every CatalogDriver runs it. Each test writes under its own repository name
 * (per run and per test), so the suite can run against a shared, persistent server.
 */
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogDriver, CatalogQuery, CatalogRecord } from "../../src/support/drivers.js";
import { RUN_ID, runtimeDriver } from "../helpers/context.js";
import { Catalog } from "../../src/support/catalog.js";

export interface CatalogSuiteOptions {
  /** Rows for the paging test; default 2 × maxRowsPerRequest + 7 (more than two pages). */
  pagingRows?: number;
  /** Skip the paging test (a driver without a row cap). @default true */
  paging?: boolean;
}

const ZONE = "America/Chicago";
const DAY0 = DateTime.fromISO("2019-06-01T00:00:00", { zone: ZONE });
/** Local midnight of day i after 2019-06-01 (calendar days). */
export const day = (i: number): number => DAY0.plus({ days: i }).toMillis();

export function catalogConformance(
  name: string,
  makeDriver: () => CatalogDriver | Promise<CatalogDriver>,
  opts: CatalogSuiteOptions = {},
): void {
  let driver: CatalogDriver;
  let n = 0;
  const newRepo = () => `conf-${name}-${RUN_ID}-t${++n}`;
  const all = async (q: CatalogQuery) => {
    const out: CatalogRecord[] = [];
    for await (const r of driver.query(q)) out.push(r);
    return out;
  };
  const rec = (repository: string, base: string, ext: string, d: number, over: Partial<CatalogRecord> = {}): CatalogRecord => ({
    repository,
    data_source: "gs",
    id_base: base,
    id_ext: ext,
    pointer: `${DateTime.fromMillis(d, { zone: ZONE }).toFormat("yyyy/MM/dd")}/gs/${base}_gs_${ext}`,
    collection_date: d,
    collection_end: null,
    processing_date: Date.UTC(2019, 6, 1, 12, 0, 0, 250),
    metadata: null,
    ...over,
  });
  const ids = (rows: CatalogRecord[]) => rows.map((r) => `${r.id_base}|${r.id_ext}|${(r.collection_date - day(0)) / 864e5}`);

  describe(`catalog conformance: ${name}`, () => {
    beforeAll(async () => {
      driver = runtimeDriver("catalog", await makeDriver());
    });
    afterAll(async () => {
      await driver?.close?.();
    });

    it("through the Catalog: staged rows are written at flush, once per key, and a simulated run writes none", async () => {
      const repo = `${RUN_ID}-staged`;
      const plan: { kind: string; target: string; detail: string }[] = [];
      const sim = new Catalog(driver, "gs", { zone: ZONE, simulate: true, plan: plan as never });
      const at = DateTime.fromMillis(day(0), { zone: ZONE });
      await sim.upsert(sim.build(repo, "Sim", "json", at, "p/sim"));
      expect(plan.map((p) => p.kind)).toEqual(["catalog"]);
      const cat = new Catalog(driver, "gs", { zone: ZONE });
      cat.stage(cat.build(repo, "A", "json", at, "p/1"));
      cat.stage(cat.build(repo, "A", "json", at, "p/2"));
      cat.stage(cat.build(repo, "B", "json", at, "p/3"));
      expect(await cat.list(repo)).toEqual([]);
      await cat.flush();
      expect((await cat.list(repo)).map((e) => `${e.base}:${e.pointer}`)).toEqual(["A:p/2", "B:p/3"]);
      await cat.delete(await cat.list(repo));
    });

    it("declares its row cap and batch size", () => {
      expect(driver.capabilities.maxRowsPerRequest).toBeGreaterThan(0);
      expect(driver.capabilities.maxUpsertBatch).toBeGreaterThan(0);
    });

    it("round-trips every field, metadata and collection_end included", async () => {
      const repo = newRepo();
      const full = rec(repo, "Burnet_Richcreek", "counts.json", day(0), {
        collection_end: day(0) + 15 * 60_000,
        processing_date: Date.UTC(2019, 5, 2, 9, 30, 1, 123),
        metadata: { version: 2, source: "gs", nested: { zones: ["a", "b"], ok: true, rate: 1.5 }, none: null },
      });
      const bare = rec(repo, "Austin", "unit_data.json", day(0), { processing_date: null });
      await driver.upsert([full, bare]);
      const got = await all({ repository: repo, dataSource: "gs" });
      expect(got).toEqual([bare, full]);
    });

    it("upserts on the primary key: a second write replaces, duplicates in one batch merge (last wins)", async () => {
      const repo = newRepo();
      await driver.upsert([rec(repo, "A", "json", day(1), { pointer: "old" })]);
      await driver.upsert([rec(repo, "A", "json", day(1), { pointer: "new", metadata: { n: 1 } }), rec(repo, "B", "json", day(1))]);
      await driver.upsert([rec(repo, "C", "json", day(1), { pointer: "c1" }), rec(repo, "C", "json", day(1), { pointer: "c2" })]);
      const got = await all({ repository: repo, dataSource: "gs" });
      expect(got.map((r) => [r.id_base, r.pointer])).toEqual([["A", "new"], ["B", got[1]!.pointer], ["C", "c2"]]);
      expect(got[0]!.metadata).toEqual({ n: 1 });
    });

    it("accepts an empty upsert", async () => {
      await expect(driver.upsert([])).resolves.toBeUndefined();
    });

    it("filters on exact base and ext", async () => {
      const repo = newRepo();
      await driver.upsert([rec(repo, "A", "json", day(0)), rec(repo, "A", "zip", day(0)), rec(repo, "B", "json", day(0))]);
      expect(ids(await all({ repository: repo, dataSource: "gs", base: "A" }))).toEqual(["A|json|0", "A|zip|0"]);
      expect(ids(await all({ repository: repo, dataSource: "gs", ext: "json" }))).toEqual(["A|json|0", "B|json|0"]);
      expect(ids(await all({ repository: repo, dataSource: "gs", base: "B", ext: "zip" }))).toEqual([]);
    });

    it("filters on like patterns where * is the only wildcard (literal _ and % stay literal)", async () => {
      const repo = newRepo();
      const bases = ["Burnet_Rich", "Burnet_Rich_2", "BurnetXRich", "Burnet_Rich%", "100%_done", "100ab_done"];
      await driver.upsert(bases.map((b) => rec(repo, b, "2c6dff02-cb0c.json", day(0))));
      await driver.upsert([rec(repo, "Burnet_Rich", "counts.json", day(0)), rec(repo, "Burnet_Rich", "zip", day(0))]);
      const base = async (like: string) => (await all({ repository: repo, dataSource: "gs", base: { like } })).map((r) => r.id_base);
      expect(new Set(await base("Burnet_Rich*"))).toEqual(new Set(["Burnet_Rich", "Burnet_Rich_2", "Burnet_Rich%"]));
      expect(await base("Burnet_Rich_*")).toEqual(["Burnet_Rich_2"]);
      expect(await base("100%*")).toEqual(["100%_done"]);
      expect(await base("Burnet?Rich")).toEqual([]);
      const ext = await all({ repository: repo, dataSource: "gs", base: "Burnet_Rich", ext: { like: "*.json" } });
      expect(ext.map((r) => r.id_ext)).toEqual(["2c6dff02-cb0c.json", "counts.json"]);
      const exact = await all({ repository: repo, dataSource: "gs", base: { like: "Burnet_Rich" }, ext: "zip" });
      expect(exact.map((r) => r.id_base)).toEqual(["Burnet_Rich"]);
    });

    it("selects date windows: early inclusive, late exclusive, exact", async () => {
      const repo = newRepo();
      await driver.upsert([0, 1, 2, 3, 4].map((i) => rec(repo, "A", "json", day(i))));
      const days = async (q: Partial<CatalogQuery>) =>
        (await all({ repository: repo, dataSource: "gs", ...q })).map((r) => Math.round((r.collection_date - day(0)) / 864e5));
      expect(await days({ early: day(1), late: day(3) })).toEqual([1, 2]);
      expect(await days({ early: day(3) })).toEqual([3, 4]);
      expect(await days({ late: day(2) })).toEqual([0, 1]);
      expect(await days({ early: day(2), exact: true })).toEqual([2]);
      expect(await days({ early: day(2) + 1, exact: true })).toEqual([]);
      expect(await days({ early: day(2) + 1, late: day(3) + 1 })).toEqual([3]);
      expect(await days({ early: day(4), late: day(4) })).toEqual([]);
    });

    it("orders by collection_date, id_base, id_ext, ascending or descending", async () => {
      const repo = newRepo();
      await driver.upsert([
        rec(repo, "B", "json", day(1)),
        rec(repo, "A", "zip", day(1)),
        rec(repo, "A", "json", day(1)),
        rec(repo, "C", "json", day(0)),
        rec(repo, "A", "json", day(2)),
      ]);
      const asc = ids(await all({ repository: repo, dataSource: "gs" }));
      expect(asc).toEqual(["C|json|0", "A|json|1", "A|zip|1", "B|json|1", "A|json|2"]);
      expect(ids(await all({ repository: repo, dataSource: "gs", order: "desc" }))).toEqual([...asc].reverse());
    });

    it("honours a limit (the latest one, the earliest two)", async () => {
      const repo = newRepo();
      await driver.upsert([0, 1, 2, 3].map((i) => rec(repo, "A", "json", day(i))));
      expect(ids(await all({ repository: repo, dataSource: "gs", order: "desc", limit: 1 }))).toEqual(["A|json|3"]);
      expect(ids(await all({ repository: repo, dataSource: "gs", limit: 2 }))).toEqual(["A|json|0", "A|json|1"]);
      expect(await all({ repository: repo, dataSource: "gs", limit: 0 })).toEqual([]);
    });

    it.runIf(opts.paging !== false)("pages past maxRowsPerRequest (more than two pages), in order, no repeats", async () => {
      const repo = newRepo();
      const cap = driver.capabilities.maxRowsPerRequest;
      const count = opts.pagingRows ?? 2 * cap + 7;
      const rows = Array.from({ length: count }, (_, i) =>
        rec(repo, `S${String(i % 97).padStart(3, "0")}`, "json", day(Math.floor(i / 97))),
      );
      for (let i = 0; i < rows.length; i += driver.capabilities.maxUpsertBatch) {
        await driver.upsert(rows.slice(i, i + driver.capabilities.maxUpsertBatch));
      }
      const got = await all({ repository: repo, dataSource: "gs" });
      expect(got.length).toBe(count);
      expect(ids(got)).toEqual(ids(rows));
      const desc = await all({ repository: repo, dataSource: "gs", order: "desc", limit: cap + 3 });
      expect(ids(desc)).toEqual(ids(rows).reverse().slice(0, cap + 3));
    }, 120_000);

    it("claims a key atomically: only the first of concurrent claimers inserts, and an existing row is never changed", async () => {
      const repo = newRepo();
      expect(typeof driver.claim).toBe("function");
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => driver.claim!(rec(repo, "e_1%", "run:0", day(0), { metadata: { by: i } }))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [row] = await all({ repository: repo, dataSource: "gs" });
      expect(row!.metadata).toEqual({ by: claims.indexOf(true) });
      expect(await driver.claim!(rec(repo, "e_1%", "run:1", day(0)))).toBe(true);
      expect(ids(await all({ repository: repo, dataSource: "gs" }))).toEqual(["e_1%|run:0|0", "e_1%|run:1|0"]);
    });

    it("deletes by primary key and says how many went", async () => {
      const repo = newRepo();
      await driver.upsert([0, 1, 2].map((i) => rec(repo, "A", "json", day(i))).concat(rec(repo, "B", "json", day(1))));
      const key = (base: string, d: number) => ({ repository: repo, data_source: "gs", id_base: base, id_ext: "json", collection_date: d });
      expect(await driver.delete([key("A", day(0)), key("B", day(1))])).toBe(2);
      expect(ids(await all({ repository: repo, dataSource: "gs" }))).toEqual(["A|json|1", "A|json|2"]);
      expect(await driver.delete([key("A", day(9))])).toBe(0);
      expect(await driver.delete([])).toBe(0);
    });

    it("keeps data sources and repositories apart", async () => {
      const repo = newRepo();
      const other = newRepo();
      await driver.upsert([
        rec(repo, "Austin", "json", day(0), { data_source: "bt" }),
        rec(repo, "Austin", "json", day(0), { data_source: "wt", pointer: "wt-pointer" }),
        rec(other, "Austin", "json", day(0), { data_source: "bt", pointer: "other-repo" }),
      ]);
      const bt = await all({ repository: repo, dataSource: "bt" });
      const wt = await all({ repository: repo, dataSource: "wt" });
      expect(bt.map((r) => r.data_source)).toEqual(["bt"]);
      expect(wt.map((r) => r.pointer)).toEqual(["wt-pointer"]);
      expect((await all({ repository: other, dataSource: "bt" })).map((r) => r.pointer)).toEqual(["other-repo"]);
      expect(await all({ repository: repo, dataSource: "gs" })).toEqual([]);
    });
  });
}
