/**
 * Framework figures: compare-loop planning time and peak memory for 1k … 1M source items against an equally large
 * catalog (must grow linearly), and SQLite catalog upserts per second in batches.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteCatalog } from "../src/drivers/catalog/sqlite.js";
import type { CatalogRecord } from "../src/support/drivers.js";
import { fmt, runChild } from "./measure.js";

const here = path.dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<void> {
  const sizes = (process.env.BENCH_COMPARE_SIZES ?? "1000,10000,100000,1000000").split(",").map(Number);
  console.log("compare loop: N raw objects vs a standardized layer holding N/2 of them (SQLite catalog)");
  console.log(`${"N".padStart(9)} ${"yielded".padStart(9)} ${"seconds".padStart(8)} ${"µs/item".padStart(8)} ${"peak MiB".padStart(9)}`);
  let prev: { n: number; seconds: number } | undefined;
  for (const n of sizes) {
    const r = runChild<{ n: number; yielded: number; seconds: number; peakMiB: number }>(path.join(here, "core-compare-child.ts"), [String(n)]);
    const growth = prev ? `  (×${fmt(r.seconds / prev.seconds, 1)} time for ×${n / prev.n} items)` : "";
    console.log(`${String(n).padStart(9)} ${String(r.yielded).padStart(9)} ${fmt(r.seconds, 3).padStart(8)} ${fmt((r.seconds / n) * 1e6, 2).padStart(8)} ${fmt(r.peakMiB, 1).padStart(9)}${growth}`);
    prev = { n, seconds: r.seconds };
  }

  console.log("\nSQLite catalog upserts (new rows, then the same rows again = updates):");
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-upsert-"));
  const driver = new SqliteCatalog(path.join(dir, "catalog.sqlite"));
  for (const batchSize of [1, 100, 1_000, 10_000]) {
    const total = batchSize === 1 ? 5_000 : 100_000;
    const rows: CatalogRecord[] = Array.from({ length: total }, (_, i) => ({
      repository: `r${batchSize}`, data_source: "bn", id_base: `b${i % 500}`, id_ext: "json", pointer: `p${i}`,
      collection_date: 946_684_800_000 + Math.floor(i / 500) * 86_400_000, collection_end: null, processing_date: 0, metadata: { i },
    }));
    for (const label of ["insert", "update"]) {
      const t0 = performance.now();
      for (let i = 0; i < rows.length; i += batchSize) await driver.upsert(rows.slice(i, i + batchSize));
      const s = (performance.now() - t0) / 1000;
      console.log(`  batch ${String(batchSize).padStart(6)}: ${label} ${String(total).padStart(7)} rows in ${fmt(s, 3)} s = ${Math.round(total / s).toLocaleString("en-US")} rows/s`);
    }
  }
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
}
