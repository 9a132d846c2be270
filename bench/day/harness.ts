/**
 * The day benchmark's harness (`npm run bench -- day`, bench/day.bench.ts; test/bench/day.test.ts runs it at the
 * demo size): one day of the Bluetooth, Wavetronix and GRIDSMART simulators at a size, generated once into a cache
 * folder; a lake home per run that uses it; each stage as its own process of the compiled CLI, or `lake pipeline`
 * in one process, measured from the child's own rusage; the published row counts checked against what the
 * generated inputs say they must be.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import Database from "better-sqlite3";
import { simulateSources } from "../../src/orchestration/demo.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { PEAK_HOOK } from "../measure.js";
import { datasetTarget, type DemoSize, type SourceDefinition } from "../../src/support/kit.js";
import { dayCsvs, deviceDayWindow, sizedDevices, zoneVehicles } from "../../src/sources/gs/simulate.js";
import { startGridsmartFake, type GridsmartFake } from "../../src/sources/gs/device-fake.js";
import { root } from "../../test/helpers/build.js";
import { BT_FILE_TYPES, shareFilename, type BtFileType } from "../../src/sources/bt/files.js";
import { DATASET_KEYS } from "../../src/sources/bt/publish.js";

/** The sources of the day, in pipeline order. */
export const DAY_SOURCES = ["bt", "wt", "gs"] as const;
const INVENTORY = "sources/inventory.json";
const CONFIG = "sources/config.json";

export interface DayInputs {
  /** The cache folder: simulated source systems and their settings. */
  dir: string;
  day: string;
  size: DemoSize;
  /** Every stage of the day's sources, in pipeline order. */
  stages: string[];
  /** Published dataset (CSV publisher target) → rows it must hold after the day ran. */
  expected: Record<string, number>;
  /** Input figures for the header line. */
  inputs: Record<string, number>;
}

/** A version of what generates the day: the simulators' sources (a change regenerates the cache). */
function generatorVersion(size: DemoSize, day: string): string {
  const h = createHash("md5").update(`${size}|${day}|v1`);
  for (const code of DAY_SOURCES) h.update(readFileSync(path.join(root, "src/sources", code, "simulate.ts")));
  return h.digest("hex").slice(0, 12);
}

async function daySources(): Promise<SourceDefinition[]> {
  const registry = await defaultRegistry();
  const out: SourceDefinition[] = [];
  for (const c of DAY_SOURCES) out.push(await registry.source(c));
  return out;
}

/**
 * The day's inputs at a size, generated into `<cacheRoot>/day-<size>-<day>-<version>` unless already there (a
 * generation cut short leaves no folder: it is made beside and renamed when complete).
 */
export async function prepareDay(cacheRoot: string, size: DemoSize, day: string): Promise<DayInputs> {
  const sources = await daySources();
  const dir = path.join(cacheRoot, `day-${size}-${day}-${generatorVersion(size, day)}`);
  const meta = path.join(dir, "day.json");
  if (!existsSync(meta)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const next = DateTime.fromISO(day, { zone: "UTC" }).plus({ days: 1 }).toISODate()!;
    const { sourceConfig } = await simulateSources(tmp, sources, { from: day, to: next, size });
    const fixed = JSON.stringify(sourceConfig).split(tmp).join(dir); // paths as they will be after the rename
    writeFileSync(path.join(tmp, CONFIG), JSON.stringify(JSON.parse(fixed), null, 2));
    const { expected, inputs } = expectations(tmp, sourceConfig, sources, size, day);
    writeFileSync(path.join(tmp, "day.json"), JSON.stringify({ expected, inputs }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    const made: DayInputs = { dir, day, size, stages: sources.flatMap((s) => s.stageNames), expected, inputs };
    const fake = await startDayDevices(made);
    try {
      await seedHome(made, fake);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    await fake.stop();
  }
  const { expected, inputs } = JSON.parse(readFileSync(meta, "utf8")) as Pick<DayInputs, "expected" | "inputs">;
  return { dir, day, size, stages: sources.flatMap((s) => s.stageNames), expected, inputs };
}

/** The days before and after, as GRIDSMART's ready stage reads them (device clocks that are not the lake's). */
function adjacentDays(day: string): [string, string] {
  const d = DateTime.fromISO(day, { zone: "UTC" });
  return [d.minus({ days: 1 }).toISODate()!, d.plus({ days: 1 }).toISODate()!];
}

/**
 * The lake every run starts from (`<dir>/seed`): GRIDSMART's adjacent days ingested and standardized (not timed),
 * so the day's ready stage finds the parts of the day that devices on other clocks file under them.
 */
async function seedHome(inputs: DayInputs, fake: GridsmartFake): Promise<void> {
  const seed = writeHomeSettings(inputs, path.join(inputs.dir, "seed.tmp"), fake);
  for (const d of adjacentDays(inputs.day)) {
    for (const stage of ["gs-insert-lake", "gs-json-standard"]) {
      const r = await runMeasured(stage, [LAKE(), "run", stage, ...window(d)], lakeEnv(seed), seed);
      if (r.code !== 0) throw new Error(`seeding the bench lake: ${stage} ${d} exited ${r.code}: ${r.stderr.slice(-2000)}`);
    }
  }
  renameSync(seed, path.join(inputs.dir, "seed"));
}

/** Rows each published dataset must hold, counted from the generated inputs themselves. */
function expectations(dir: string, config: Record<string, Record<string, unknown>>, sources: SourceDefinition[], size: DemoSize, day: string) {
  const zone = LakeRuntime.create({ overrides: { home: dir } }).zone;
  const inventory = JSON.parse(readFileSync(path.join(dir, INVENTORY), "utf8")) as Record<string, { device_name?: string; kits_id?: number; device_ip?: string; device_status?: string }[]>;
  const expected: Record<string, number> = {};
  const inputs: Record<string, number> = {};
  const target = (code: string, key: string) => datasetTarget(sources.find((s) => s.code === code)!, key, {}, false).target;

  // Bluetooth: one published row per line of the day's files whose readers are all in the inventory.
  const readers = new Set((inventory.bt ?? []).map((d) => d.device_name));
  const share = String(config.bt!.sourcedir);
  const readerFields: Record<BtFileType, number[]> = { unmatched: [3], matched: [1, 2], traf_match_summary: [0, 1] };
  for (const type of BT_FILE_TYPES) {
    const file = path.join(share, shareFilename(type, DateTime.fromISO(day, { zone })));
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\r\n").filter(Boolean) : [];
    inputs[`bt ${type} lines`] = lines.length;
    expected[target("bt", DATASET_KEYS[type])] = lines.filter((l) => readerFields[type].every((f) => readers.has(l.split(",")[f]))).length;
  }

  // Wavetronix: one published row per KITS reading of the day of an intersection in the inventory.
  const kits = new Database(String((config.wt!.sql as { options: { path: string } }).options.path), { readonly: true });
  try {
    const known = new Set((inventory.wt ?? []).map((d) => d.kits_id));
    const rows = kits
      .prepare("SELECT d.INTID AS intId, COUNT(*) AS n FROM SYSDETHISTORYRM h JOIN DETECTORSRM d ON d.DETID = h.DETID WHERE h.CURDATETIME >= ? AND h.CURDATETIME < ? GROUP BY d.INTID")
      .all(`${day} 00:00:00`, `${DateTime.fromISO(day).plus({ days: 1 }).toISODate()} 00:00:00`) as { intId: number; n: number }[];
    inputs["wt KITS rows"] = rows.reduce((n, r) => n + r.n, 0);
    expected[target("wt", Object.keys(sources.find((s) => s.code === "wt")!.datasets!)[0]!)] = rows.filter((r) => known.has(r.intId)).reduce((n, r) => n + r.n, 0);
  } finally {
    kits.close();
  }

  // GRIDSMART: the published rows are 15-minute aggregates; their volumes add up to the vehicles of the local day
  // (zones in the data only; the adjacent device days are in the lake). The check is on that sum ("<dataset> volume").
  const devices = sizedDevices(size);
  const local = DateTime.fromISO(day, { zone });
  const [from, to] = [local.toMillis(), local.plus({ days: 1 }).toMillis()];
  let vehicles = 0;
  let zoneFiles = 0;
  let inDay = 0;
  for (const dev of devices) {
    zoneFiles += dayCsvs(dev, day).size;
    const w = deviceDayWindow(dev, day);
    dev.zones.forEach((z, i) => {
      vehicles += zoneVehicles(dev, i, w.fromMs, w.toMs).length;
      if (z.includeInData) inDay += zoneVehicles(dev, i, from, to).length;
    });
  }
  inputs["gs intersections"] = devices.length;
  inputs["gs zone CSVs"] = zoneFiles;
  inputs["gs vehicles"] = vehicles;
  expected[`${target("gs", Object.keys(sources.find((s) => s.code === "gs")!.datasets!)[0]!)} volume`] = inDay;
  return { expected, inputs };
}

/**
 * A lake home of one run on the day's inputs: the inventory and settings copied, the inputs used where they are;
 * GRIDSMART's devices answer from `fake` (started by the bench, so no stage process pays for simulating them).
 */
export function makeHome(inputs: DayInputs, home: string, fake: GridsmartFake): string {
  rmSync(home, { recursive: true, force: true });
  cpSync(path.join(inputs.dir, "seed"), home, { recursive: true });
  return writeHomeSettings(inputs, home, fake);
}

function writeHomeSettings(inputs: DayInputs, home: string, fake: GridsmartFake): string {
  mkdirSync(path.join(home, "sources"), { recursive: true });
  copyFileSync(path.join(inputs.dir, INVENTORY), path.join(home, INVENTORY));
  const config = JSON.parse(readFileSync(path.join(inputs.dir, CONFIG), "utf8")) as Record<string, Record<string, unknown>>;
  const { simulatedWindow: _w, ...gs } = config.gs ?? {};
  config.gs = { ...gs, deviceUrl: fake.deviceUrl };
  writeFileSync(path.join(home, CONFIG), JSON.stringify(config, null, 2));
  return home;
}

/** The GRIDSMART device fake of the day, its archives built before any stage asks. */
export async function startDayDevices(inputs: DayInputs): Promise<GridsmartFake> {
  const devices = sizedDevices(inputs.size);
  const fake = await startGridsmartFake({ devices: devices.map((device) => ({ device, days: [adjacentDays(inputs.day)[0], inputs.day, adjacentDays(inputs.day)[1]] })) });
  for (const d of devices) await (await fetch(fake.deviceUrl.replace("{ip}", d.ip) + `counts/bydate/${inputs.day}`)).arrayBuffer();
  return fake;
}

export interface ProcessSample {
  label: string;
  wall: number;
  /** User + system CPU seconds of the child (its own rusage). */
  cpu: number;
  /** Peak RSS of the child, MiB (its own rusage). */
  rssMiB: number;
  code: number;
  stderr: string;
}

/** Preloaded into every child: at exit writes its own peak RSS (KiB) and CPU (µs) to $LAKE_RUSAGE_OUT. */
const RUSAGE_HOOK = PEAK_HOOK;

/** Runs `node <args>` with the rusage hook; resolves with its figures (a non-zero exit is reported, not thrown). */
export function runMeasured(label: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, nodeFlags: string[] = []): Promise<ProcessSample> {
  const out = path.join(cwd, `.rusage-${process.pid}`);
  rmSync(out, { force: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, "--import", RUSAGE_HOOK, ...args], { cwd, env: { ...env, LAKE_RUSAGE_OUT: out }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", reject);
    child.on("exit", (code) => {
      const wall = (performance.now() - t0) / 1000;
      const u = existsSync(out) ? (JSON.parse(readFileSync(out, "utf8")) as { rss: number; cpu: number }) : { rss: 0, cpu: 0 };
      resolve({ label, wall, cpu: u.cpu / 1e6, rssMiB: u.rss / 1024, code: code ?? 1, stderr });
    });
  });
}

const LAKE = () => path.join(root, "bin/lake.js");
const window = (day: string) => ["-s", day, "-e", day];
const lakeEnv = (home: string): NodeJS.ProcessEnv => ({ ...process.env, LAKE_HOME: home, NO_COLOR: "1" });

/** (a) Every stage of the day as its own `lake run` process, in pipeline order. */
export async function runStagesApart(inputs: DayInputs, home: string, nodeFlags: string[] = [], lake = LAKE()): Promise<ProcessSample[]> {
  const out: ProcessSample[] = [];
  for (const stage of inputs.stages) out.push(await runMeasured(stage, [lake, "run", stage, ...window(inputs.day)], lakeEnv(home), home, nodeFlags));
  return out;
}

/** (b) `lake pipeline` of the day's sources in one process (the sources one after another). */
export async function runPipelineOnce(inputs: DayInputs, home: string, nodeFlags: string[] = [], lake = LAKE()): Promise<ProcessSample> {
  return runMeasured("lake pipeline", [lake, "pipeline", DAY_SOURCES.join(","), ...window(inputs.day)], lakeEnv(home), home, nodeFlags);
}

/** The floor: `node -e 0` with the same hook. */
export function runNodeFloor(cwd: string): Promise<ProcessSample> {
  return runMeasured("node -e 0", ["-e", "0"], process.env, cwd);
}

/** What the home's published datasets hold, for each expectation. */
export async function publishedCounts(inputs: DayInputs, home: string): Promise<Record<string, number>> {
  const runtime = LakeRuntime.create({ overrides: { home } });
  try {
    const publisher = await runtime.driver("publisher", false);
    const got: Record<string, number> = {};
    for (const key of Object.keys(inputs.expected)) {
      if (key.endsWith(" volume")) got[key] = volumeSum(path.join(home, "published", `${key.slice(0, -" volume".length)}.csv`));
      else got[key] = await publisher.countRows!(key);
    }
    return got;
  } finally {
    await runtime.close();
  }
}

/** The sum of the "volume" column of a published CSV (0 when there is none). */
function volumeSum(file: string): number {
  if (!existsSync(file)) return 0;
  const lines = readFileSync(file, "utf8").split("\r\n").filter(Boolean);
  const col = lines[0]!.split(",").indexOf("volume");
  if (col < 0) throw new Error(`${file}: no volume column`);
  let n = 0;
  for (const l of lines.slice(1)) n += Number(l.split(",")[col]);
  return n;
}

/** The mismatches between what the datasets hold and what they must ("<dataset>: 12 rows, expected 13"). */
export function checkCounts(expected: Record<string, number>, got: Record<string, number>): string[] {
  return Object.entries(expected)
    .filter(([k, n]) => got[k] !== n)
    .map(([k, n]) => `${k}: ${got[k] ?? "nothing"}, expected ${n}`);
}

/** Size in bytes and files of a lake layer of a home (local storage: <home>/lake/<repository>). */
export function layerFiles(home: string, repository: string): string[] {
  const dir = path.join(home, "lake", repository);
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json") && !e.name.includes("unit_data") && !e.name.includes("quarantine")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export const bytesOf = (files: string[]) => files.reduce((n, f) => n + statSync(f).size, 0);

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
