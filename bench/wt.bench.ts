/**
 * Wavetronix: the four stages on one large synthetic day (150 detectors, a reading every 4 minutes = 54,000 KITS
 * rows) on the embedded defaults (local storage, SQLite catalog and perfmet, CSV publisher, local inventory) in a
 * temp home, after a warm-up run on a small day (so loading modules is not counted). Prints wall and CPU seconds,
 * peak RSS growth and peak heap per stage. Target per stage: < 0.5 s and < 100 MiB.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LakeRuntime } from "../src/support/runtime.js";
import { fixedClock } from "../src/util/dates.js";
import { createKitsDatabase, manyIntersections, radarDevices } from "../src/sources/wt/simulate.js";
import { writeInventorySection } from "../src/util/inventory-file.js";
const insertLake = wtSource.stage("wt-insert-lake").main;
const jsonStandard = wtSource.stage("wt-json-standard").main;
const readyStage = wtSource.stage("wt-ready").main;
const extractSoc = wtSource.stage("wt-extract-soc").main;
import { fmt, measure } from "./measure.js";
import wtSource from "../src/sources/wt/source.js";

const DAY = "2024-11-12";
const STAGES = [
  ["wt-insert-lake", insertLake],
  ["wt-json-standard", jsonStandard],
  ["wt-ready", readyStage],
  ["wt-extract-soc", extractSoc],
] as const;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function line(name: string, records: number, seconds: number, cpu: number, rss: number, heap: number): string {
  return `${name.padEnd(20)} ${String(records).padStart(8)} ${fmt(seconds, 3).padStart(8)} ${fmt(cpu, 2).padStart(6)} ${fmt(rss, 1).padStart(15)} ${fmt(heap, 1).padStart(14)}`;
}

/** Runs the four stages once on a small day in a throwaway home, so module loading is not counted as stage time. */
async function warmUp(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), "bench-wt-warm-"));
  try {
    const kits = path.join(home, "sources", "kits.sqlite");
    createKitsDatabase(kits, { zone: "America/Chicago", from: "2024-11-05", to: "2024-11-06" });
    writeInventorySection(path.join(home, "sources", "inventory.json"), "wt", radarDevices());
    const runtime = LakeRuntime.create({
      cwd: home,
      env: {},
      overrides: { home, sources: { wt: { sql: { driver: "sqlite", options: { path: kits } } } } },
      clock: fixedClock("2024-11-20T10:00:00-06:00"),
    });
    try {
      for (const [, main] of STAGES) await main({ last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" }, { runtime });
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await warmUp();
  const home = mkdtempSync(path.join(os.tmpdir(), "bench-wt-"));
  try {
    const intersections = manyIntersections(50, 3);
    const kits = path.join(home, "sources", "kits.sqlite");
    const rows = createKitsDatabase(kits, { zone: "America/Chicago", from: DAY, to: "2024-11-13", intersections, stepMinutes: 4 });
    writeInventorySection(path.join(home, "sources", "inventory.json"), "wt", radarDevices(intersections));
    console.log(`one day (${DAY}): ${rows.toLocaleString("en-US")} KITS rows from ${intersections.length * 3} detectors; embedded defaults in ${home}`);
    // CPU seconds (user + system of this process) beside wall seconds: on a busy machine the wall time mostly waits.
    console.log(`${"stage".padEnd(20)} ${"records".padStart(8)} ${"seconds".padStart(8)} ${"cpu s".padStart(6)} ${"peak RSS Δ MiB".padStart(15)} ${"peak heap MiB".padStart(14)}`);
    // cwd = the temp home and no environment: no lake.config file or LAKE_* variable of the host leaks in.
    const runtime = LakeRuntime.create({
      cwd: home,
      env: {},
      overrides: { home, sources: { wt: { sql: { driver: "sqlite", options: { path: kits } } } } },
      clock: fixedClock("2024-11-20T10:00:00-06:00"),
    });
    try {
      for (const [name, main] of STAGES) {
        const cpu0 = process.cpuUsage();
        const m = await measure(() => main({ last_run_date: "0", start_date: DAY, end_date: DAY }, { runtime }));
        const cpu = cpuSeconds(cpu0);
        const s = m.result;
        const flag = m.seconds < 0.5 && m.peakRssMiB < 100 ? "" : "  (over target)";
        if (s.failed) console.log(`  ${name} failed: ${s.failures.map((f) => f.error).join("; ")}`);
        console.log(line(name, s.records, m.seconds, cpu, m.peakRssMiB, m.peakHeapMiB) + flag);
      }
      // The embedded CSV publisher rewrites its whole file on every 10,000-row upsert; the same stage on the memory
      // publisher shows the stage's own cost.
      const memRuntime = LakeRuntime.create({
        cwd: home,
        env: {},
        overrides: { home, publisher: { driver: "memory", options: {} } },
        clock: fixedClock("2024-11-20T10:00:00-06:00"),
      });
      try {
        const cpu0 = process.cpuUsage();
        const m = await measure(() => extractSoc({ last_run_date: "0", start_date: DAY, end_date: DAY, force: true }, { runtime: memRuntime }));
        console.log(line("  (memory publisher)", m.result.records, m.seconds, cpuSeconds(cpu0), m.peakRssMiB, m.peakHeapMiB));
      } finally {
        await memRuntime.close();
      }
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
