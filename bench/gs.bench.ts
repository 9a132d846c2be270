/**
 * GRIDSMART: the five stages on one large synthetic day (3 intersections, 36 zones, about 100,000 vehicles; one
 * v8 on network time, one v7 whose clock is 17 minutes fast, one v4 on UTC days, so the ready stage reads the
 * adjacent days) on the embedded defaults (local storage, SQLite catalog and perfmet, CSV publisher, local inventory)
 * in a temp home, with the device fake in-process. The adjacent days are ingested and standardized first (not
 * timed); then each stage runs for the day alone. Prints seconds, peak RSS growth and peak heap per stage.
 * Target per stage: < 0.5 s and < 100 MiB.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { MainFn } from "../src/support/etl-app.js";
import gsSource from "../src/sources/gs/source.js";
import { LakeRuntime } from "../src/support/runtime.js";
import { fixedClock } from "../src/util/dates.js";
import { writeInventorySection } from "../src/util/inventory-file.js";
import { demoDevices, unitDevice } from "../src/sources/gs/simulate.js";
import { startGridsmartFake } from "../src/sources/gs/device-fake.js";
import { fmt, measure } from "./measure.js";

const DAY = "2024-11-12";
const DAYS = ["2024-11-11", DAY, "2024-11-13"];
const VEHICLES_PER_ZONE = 2_780; // × 36 zones ≈ 100,000 vehicles a day
const ALL_STAGES = ["gs-insert-lake", "gs-json-standard", "gs-ready", "gs-ready-agg", "gs-agg-extract-soc"];
/** GS_BENCH_STAGES=n runs only the first n stages (e.g. 2 for ingest and standardize). */
const STAGES = ALL_STAGES.slice(0, Number(process.env.GS_BENCH_STAGES ?? ALL_STAGES.length));

export async function run(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), "bench-gs-"));
  const devices = demoDevices({ vehiclesPerZonePerDay: VEHICLES_PER_ZONE, zonesPerDevice: 12 });
  const fake = await startGridsmartFake({ devices: devices.map((device) => ({ device, days: DAYS })), now: () => Date.parse("2024-11-20T16:00:00Z") });
  try {
    writeInventorySection(path.join(home, "sources", "inventory.json"), "gs", devices.map(unitDevice));
    // Build the archives once, so device-side zipping is not counted in the ingest.
    let bytes = 0;
    for (const d of devices) for (const day of DAYS) bytes += (await (await fetch(fake.deviceUrl.replace("{ip}", d.ip) + `counts/bydate/${day}`)).arrayBuffer()).byteLength;
    console.log(
      `one day (${DAY}): 3 intersections, ${devices.reduce((n, d) => n + d.zones.length, 0)} zones, ~${(VEHICLES_PER_ZONE * 36).toLocaleString("en-US")} vehicles ` +
        `(${(bytes / 3 / 2 ** 20).toFixed(1)} MiB of zips a day); embedded defaults in ${home}`,
    );
    const runtime = LakeRuntime.create({
      overrides: { home, sources: { gs: { deviceUrl: fake.deviceUrl } } },
      clock: fixedClock("2024-11-20T10:00:00-06:00"),
    });
    try {
      const mains = new Map<string, MainFn>(STAGES.map((s) => [s, gsSource.stage(s).main]));
      // The adjacent days, untimed.
      for (const s of ["gs-insert-lake", "gs-json-standard"]) {
        for (const d of [DAYS[0]!, DAYS[2]!]) await mains.get(s)?.({ last_run_date: "0", start_date: d, end_date: d }, { runtime });
      }
      // CPU seconds (user + system of this process) are printed too: on a busy machine wall time mostly measures the others.
      console.log(`${"stage".padEnd(20)} ${"records".padStart(8)} ${"seconds".padStart(8)} ${"CPU s".padStart(6)} ${"peak RSS Δ MiB".padStart(15)} ${"peak heap MiB".padStart(14)}`);
      for (const [name, main] of mains) {
        const cpu0 = process.cpuUsage();
        const m = await measure(() => main({ last_run_date: "0", start_date: DAY, end_date: DAY }, { runtime }));
        const cpu = process.cpuUsage(cpu0);
        const s = m.result;
        const flag = m.seconds < 0.5 && m.peakRssMiB < 100 ? "" : "  (over target)";
        if (s.failed) console.log(`  ${name} failed: ${s.failures.map((f) => f.error).join("; ")}`);
        console.log(
          `${name.padEnd(20)} ${String(s.records).padStart(8)} ${fmt(m.seconds, 3).padStart(8)} ${fmt((cpu.user + cpu.system) / 1e6, 2).padStart(6)} ${fmt(m.peakRssMiB, 1).padStart(15)} ${fmt(m.peakHeapMiB, 1).padStart(14)}${flag}`,
        );
      }
    } finally {
      await runtime.close();
    }
  } finally {
    await fake.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
