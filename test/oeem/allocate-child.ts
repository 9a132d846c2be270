/** A separate process that claims run numbers: `allocate-child.ts <sqlite file | postgres URL> <entity> <n>` → JSON list. */
import { Catalog } from "../../src/support/catalog.js";
import { EntityState } from "../../src/support/entities.js";
import { SqliteCatalog } from "../../src/drivers/catalog/sqlite.js";
import type { CatalogDriver } from "../../src/support/drivers.js";

const [where, entity, count] = process.argv.slice(2) as [string, string, string];
let driver: CatalogDriver;
if (where.startsWith("postgres")) {
  const { PostgresCatalog } = await import("../../src/drivers/catalog/postgres.js");
  const { postgresCatalogOptions } = await import("../../src/drivers/options.js");
  driver = new PostgresCatalog(postgresCatalogOptions.parse({}), where);
} else driver = new SqliteCatalog(where);
const state = new EntityState(new Catalog(driver, "oeem", { zone: "UTC" }), "state-alloc", "raw-alloc", "oeem-fetch");
const got: number[] = [];
for (let i = 0; i < Number(count); i++) got.push(await state.allocateRun(entity, `pid ${process.pid}`));
await driver.close?.();
process.stdout.write(JSON.stringify(got));
