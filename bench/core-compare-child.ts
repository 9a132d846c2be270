/** One compare-loop planning measurement (run in its own process by core.bench.ts): N sources vs N targets in SQLite. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { SqliteCatalog } from "../src/drivers/catalog/sqlite.js";
import { Catalog } from "../src/support/catalog.js";
import { CatalogProvider, compare, windowFor } from "../src/support/last-update.js";
import type { CatalogRecord } from "../src/support/drivers.js";

const n = Number(process.argv[2]);
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-compare-"));
const driver = new SqliteCatalog(path.join(dir, "catalog.sqlite"));
const zone = "America/Chicago";
const start = DateTime.fromISO("2000-01-01", { zone });
const BASES = 100;
const days = Math.ceil(n / BASES);
const dayMs: number[] = [];
for (let d = 0; d < days; d++) dayMs.push(start.plus({ days: d }).toMillis());

// Source layer: n objects; target layer: every other object done (n/2 yielded) plus as many rows again elsewhere
// in the target, so the catalog holds ~2n rows.
const batch: CatalogRecord[] = [];
const flush = async () => {
  await driver.upsert(batch.splice(0));
};
for (let i = 0; i < n; i++) {
  const d = dayMs[Math.floor(i / BASES)]!;
  const base = `base${String(i % BASES).padStart(3, "0")}`;
  const rec = (repository: string, ext: string): CatalogRecord => ({
    repository, data_source: "bn", id_base: base, id_ext: ext, pointer: `${repository}/${base}/${d}`,
    collection_date: d, collection_end: null, processing_date: d, metadata: null,
  });
  batch.push(rec("raw", "csv"));
  if (i % 2 === 0) batch.push(rec("standardized", "json"));
  if (batch.length >= 10_000) await flush();
}
await flush();

(globalThis as { gc?: () => void }).gc?.();
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const catalog = new Catalog(driver, "bn", { zone });
const today = DateTime.fromISO("2100-01-01", { zone });
const t0 = performance.now();
let yielded = 0;
for await (const _ of compare(
  new CatalogProvider(catalog, "raw", {}, { today }),
  new CatalogProvider(catalog, "standardized", {}, { today }),
  { window: windowFor(start, undefined), force: false, baseExtKey: false },
)) yielded++;
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
await driver.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ n, yielded, seconds, peakMiB: (peak - rss0) / 2 ** 20 }));
