/** Catalog text filters are exact: an id holding "%" or "_" is not a pattern (the chaos probe found "A%" matching "Austin"). */
import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { Catalog } from "../../src/support/catalog.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import sqliteCatalog from "../../src/drivers/catalog/sqlite.js";
import type { CatalogDriver } from "../../src/support/drivers.js";
import { testContext } from "../helpers/context.js";

const day = DateTime.fromISO("2024-11-04", { zone: "America/Chicago" });

async function withBases(driver: CatalogDriver): Promise<Catalog> {
  const catalog = new Catalog(driver, "tt", { zone: "America/Chicago" });
  await catalog.upsert(["A%", "Aus%", "Austin", "A_x", "Abx"].map((b) => catalog.build("raw", b, "csv", day, `k/${b}`)));
  return catalog;
}

describe.each([
  ["memory", async () => new MemoryCatalog()],
  ["sqlite", async () => sqliteCatalog.create(sqliteCatalog.options.parse({ path: "catalog.sqlite" }), testContext())],
] as const)("%s catalog: text filters are exact", (_name, make) => {
  it('a base "A%" or "A_x" finds only itself; a pattern is explicit', async () => {
    const catalog = await withBases(await make());
    expect((await catalog.list("raw", { base: "A%" })).map((e) => e.base)).toEqual(["A%"]);
    expect((await catalog.single("raw", "A_x", "csv", day))?.base).toBe("A_x");
    expect((await catalog.list("raw", { base: "A_x" })).map((e) => e.base)).toEqual(["A_x"]);
    expect((await catalog.list("raw", { base: { like: "Au*" } })).map((e) => e.base).sort()).toEqual(["Aus%", "Austin"]);
  });
});
