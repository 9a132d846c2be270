/**
 * The large day (issue 19), as a user runs it: the Bluetooth, Wavetronix and GRIDSMART simulators generate one day
 * (2024-11-13: 300,000 unmatched, 40,000 matched and 2,880 summary lines; 49,920 KITS rows; 8 intersections with 36
 * zone files and about 107,000 vehicles), once, into a cache folder. Each run then starts from a fresh lake home on
 * the embedded default (local files, SQLite, CSV publisher) and measures
 *   (a) every stage as its own `lake run` process of the compiled CLI, in pipeline order, and
 *   (b) `lake pipeline bt,wt,gs` for the day in one process,
 * plus `node -e 0`: wall seconds (spawn to exit), CPU seconds and peak RSS (the child's own peak, VmHWM).
 * Medians of the runs, beside the original's figures; then the bare limit (the day's standardized JSON read,
 * parsed, stringified and written back, nothing else) against the standardize stages' throughput. Every run's
 * published datasets are checked against the row counts the generated inputs call for.
 *
 * BENCH_DAY_RUNS (default 3); BENCH_DAY_SIZE=demo|large (default large); BENCH_DAY_CACHE=<dir> (default
 * $TMPDIR/lake-bench-day); BENCH_DAY_LAKE=<bin/lake.js of another checkout> measures that one (before/after);
 * BENCH_DAY_PROFILE=<dir> runs the stages once more under `node --cpu-prof` and writes the profiles there.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBuilt } from "../test/helpers/build.js";
import { fmt } from "./measure.js";
import { LakeRuntime } from "../src/support/runtime.js";
import {
  bytesOf,
  checkCounts,
  layerFiles,
  makeHome,
  median,
  prepareDay,
  publishedCounts,
  runNodeFloor,
  runPipelineOnce,
  runStagesApart,
  startDayDevices,
  type ProcessSample,
} from "./day/harness.js";

export const DAY = "2024-11-13";

/** The original (Python) on a quiet 2-core machine, the same day, each stage its own process: wall s / peak RSS MiB. */
const ORIGINAL: Record<string, [number, number]> = {
  "bt-insert-lake": [0.45, 92],
  "bt-json-standard": [13.34, 287],
  "bt-ready": [5.96, 422],
  "bt-extract-soc": [25.6, 356],
  "wt-insert-lake": [2.48, 148],
  "wt-json-standard": [1.79, 116],
  "wt-ready": [1.47, 165],
  "wt-extract-soc": [2.51, 122],
  "gs-json-standard": [3.7, 76],
  "gs-ready": [5.78, 135],
  "gs-ready-agg": [1.95, 145],
  "gs-agg-extract-soc": [0.89, 69],
};
const ORIGINAL_TOTAL = 66.3;

/** Reads, JSON.parses, JSON.stringifies and writes back the files, nothing else; seconds per step. */
function bareLimit(files: string[], outDir: string): { read: number; parse: number; stringify: number; write: number } {
  const t = { read: 0, parse: 0, stringify: 0, write: 0 };
  mkdirSync(outDir, { recursive: true });
  files.forEach((f, i) => {
    let t0 = performance.now();
    const text = readFileSync(f, "utf8");
    t.read += performance.now() - t0;
    t0 = performance.now();
    const value = JSON.parse(text) as unknown;
    t.parse += performance.now() - t0;
    t0 = performance.now();
    const back = JSON.stringify(value);
    t.stringify += performance.now() - t0;
    t0 = performance.now();
    writeFileSync(path.join(outDir, `${i}.json`), back);
    t.write += performance.now() - t0;
  });
  return { read: t.read / 1000, parse: t.parse / 1000, stringify: t.stringify / 1000, write: t.write / 1000 };
}

export async function run(): Promise<void> {
  const runs = Number(process.env.BENCH_DAY_RUNS ?? 3);
  const size = (process.env.BENCH_DAY_SIZE ?? "large") as "demo" | "large";
  const cache = process.env.BENCH_DAY_CACHE ?? path.join(os.tmpdir(), "lake-bench-day");
  const lake = process.env.BENCH_DAY_LAKE ? path.resolve(process.env.BENCH_DAY_LAKE) : undefined;
  if (!lake) await ensureBuilt();
  const t0 = performance.now();
  const inputs = await prepareDay(cache, size, DAY);
  console.log(`day ${DAY} (${size}) in ${inputs.dir} (${((performance.now() - t0) / 1000).toFixed(1)} s to get ready)`);
  console.log(Object.entries(inputs.inputs).map(([k, n]) => `${k} ${n.toLocaleString("en-US")}`).join(", "));
  const fake = await startDayDevices(inputs);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-day-"));
  const apart: ProcessSample[][] = [];
  const together: ProcessSample[] = [];
  const floor: ProcessSample[] = [];
  const problems: string[] = [];
  const check = async (home: string, what: string) => {
    for (const m of checkCounts(inputs.expected, await publishedCounts(inputs, home))) problems.push(`${what}: ${m}`);
  };
  const failed = (s: ProcessSample, what: string) => {
    if (s.code !== 0) problems.push(`${what}: ${s.label} exited ${s.code}: ${s.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  };
  let lastApartHome = "";
  try {
    for (let r = 0; r < runs; r++) {
      floor.push(await runNodeFloor(tmp));
      const a = makeHome(inputs, path.join(tmp, `apart-${r}`), fake);
      const samples = await runStagesApart(inputs, a, [], lake);
      samples.forEach((s) => failed(s, `run ${r + 1} (a)`));
      apart.push(samples);
      await check(a, `run ${r + 1} (a)`);
      if (lastApartHome) rmSync(lastApartHome, { recursive: true, force: true });
      lastApartHome = a;
      const b = makeHome(inputs, path.join(tmp, `pipeline-${r}`), fake);
      const p = await runPipelineOnce(inputs, b, [], lake);
      failed(p, `run ${r + 1} (b)`);
      together.push(p);
      await check(b, `run ${r + 1} (b)`);
      rmSync(b, { recursive: true, force: true });
    }
    if (process.env.BENCH_DAY_PROFILE) {
      const dir = path.resolve(process.env.BENCH_DAY_PROFILE);
      mkdirSync(dir, { recursive: true });
      await runStagesApart(inputs, makeHome(inputs, path.join(tmp, "profile-a"), fake), ["--cpu-prof", `--cpu-prof-dir=${dir}`], lake);
      await runPipelineOnce(inputs, makeHome(inputs, path.join(tmp, "profile-b"), fake), ["--cpu-prof", `--cpu-prof-dir=${dir}`], lake);
      console.log(`CPU profiles in ${dir}`);
    }

    const cell = (xs: number[], d: number) => fmt(median(xs), d);
    console.log(`\n${lake ?? "this checkout"}: ${runs} run(s), medians; original = the Python original on a quiet 2-core machine`);
    console.log(`${"stage".padEnd(22)} ${"wall s".padStart(7)} ${"CPU s".padStart(6)} ${"RSS MiB".padStart(8)}   ${"orig s".padStart(6)} ${"orig MiB".padStart(8)} ${"× faster".padStart(8)}`);
    let total = 0;
    inputs.stages.forEach((stage, i) => {
      const w = apart.map((a) => a[i]!.wall);
      total += median(w);
      const o = ORIGINAL[stage];
      const x = o ? `${fmt(o[0] / median(w), 1)}×` : "";
      console.log(
        `${stage.padEnd(22)} ${cell(w, 2).padStart(7)} ${cell(apart.map((a) => a[i]!.cpu), 2).padStart(6)} ${cell(apart.map((a) => a[i]!.rssMiB), 0).padStart(8)}   ${(o ? fmt(o[0], 2) : "-").padStart(6)} ${(o ? String(o[1]) : "-").padStart(8)} ${x.padStart(8)}`,
      );
    });
    console.log(`${"stages apart, total".padEnd(22)} ${fmt(total, 2).padStart(7)} ${"".padStart(6)} ${"".padStart(8)}   ${fmt(ORIGINAL_TOTAL, 2).padStart(6)} ${"".padStart(8)} ${`${fmt(ORIGINAL_TOTAL / total, 1)}×`.padStart(8)}`);
    const pw = together.map((s) => s.wall);
    console.log(
      `${"lake pipeline (b)".padEnd(22)} ${cell(pw, 2).padStart(7)} ${cell(together.map((s) => s.cpu), 2).padStart(6)} ${cell(together.map((s) => s.rssMiB), 0).padStart(8)}   ${fmt(ORIGINAL_TOTAL, 2).padStart(6)} ${"422".padStart(8)} ${`${fmt(ORIGINAL_TOTAL / median(pw), 1)}×`.padStart(8)}`,
    );
    console.log(`${"node -e 0".padEnd(22)} ${cell(floor.map((s) => s.wall), 3).padStart(7)} ${cell(floor.map((s) => s.cpu), 2).padStart(6)} ${cell(floor.map((s) => s.rssMiB), 0).padStart(8)}`);

    // The bare limit on the standardized layer the standardize stages wrote.
    // The day's objects (the seed's adjacent GRIDSMART days are not the stages' work).
    const dayPath = `${path.sep}${DAY.replace(/-/g, path.sep)}${path.sep}`;
    const files = layerFiles(lastApartHome, LakeRuntime.create({ overrides: { home: lastApartHome } }).repository("standardized", false)).filter((f) => f.includes(dayPath));
    const bytes = bytesOf(files);
    const bare = bareLimit(files, path.join(tmp, "bare"));
    const bareS = bare.read + bare.parse + bare.stringify + bare.write;
    const stdStages = inputs.stages.filter((s) => s.endsWith("-json-standard"));
    const stdWall = stdStages.reduce((n, s) => n + median(apart.map((a) => a[inputs.stages.indexOf(s)]!.wall)), 0);
    const mb = bytes / 2 ** 20;
    console.log(
      `\nbare limit: ${fmt(mb, 1)} MiB of standardized JSON (${files.length} files) read ${fmt(bare.read, 2)} + parse ${fmt(bare.parse, 2)} + stringify ${fmt(bare.stringify, 2)} + write ${fmt(bare.write, 2)} = ${fmt(bareS, 2)} s (${fmt(mb / bareS, 0)} MiB/s)`,
    );
    console.log(`standardize (${stdStages.join(", ")}, own processes): ${fmt(stdWall, 2)} s = ${fmt(mb / stdWall, 0)} MiB/s, ${fmt(bareS / stdWall, 2)} of the bare limit`);
    console.log(problems.length ? `\nROW COUNTS / EXITS WRONG:\n  ${problems.join("\n  ")}` : `\nrow counts: all ${Object.keys(inputs.expected).length} datasets as expected in every run (${Object.entries(inputs.expected).map(([k, n]) => `${k} ${n}`).join(", ")})`);
    if (problems.length) process.exitCode = 1;
  } finally {
    await fake.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
