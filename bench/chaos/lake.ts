/**
 * The chaos harness's lake: a demo lake's simulated sources over a small window (no stage run yet), runs of the
 * compiled CLI as a child process (killed on demand), and snapshots of what a run left: published rows, storage
 * objects, catalog rows, leftover temp files, stale leases and locks. Two snapshots are compared after masking what
 * legitimately differs between two clean runs (processing times, device clock readings, the hashes of objects that
 * hold them), which is learnt by diffing two clean runs, not listed by hand.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { parse } from "csv-parse/sync";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { DEMO_SOURCES_FILE } from "../../src/support/runtime.js";
import { TEMP_PREFIX } from "../../src/util/temp-file.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const LAKE_BIN = path.join(ROOT, "bin/lake.js");
export const ZONE = "America/Chicago";

export interface Window {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** End day (exclusive). */
  to: string;
}

/** Simulated source systems for `codes` (default: every source) under `home`, as `lake demo` makes them, no stage run. */
export async function makeTemplate(home: string, window: Window, codes?: string[]): Promise<void> {
  const registry = await defaultRegistry();
  await mkdir(path.join(home, "sources"), { recursive: true });
  const config: Record<string, unknown> = {};
  for (const code of codes ?? registry.codes()) {
    const sim = await (await registry.source(code)).loadDemo();
    const ctx = { home, zone: ZONE, from: window.from, to: window.to };
    config[code] = { ...(sim ? await sim.simulate(ctx) : {}), simulatedWindow: { from: window.from, to: window.to } };
  }
  await writeFile(path.join(home, DEMO_SOURCES_FILE), JSON.stringify(config, null, 2));
}

// ---------------------------------------------------------------- runs

export interface LakeRun {
  args: string[];
  code: number | null;
  signal: string | null;
  ms: number;
  /** stdout + stderr (the tail). */
  out: string;
  /** Set when the harness killed it: ms after the start. */
  killedAtMs?: number;
  /** Killed by the watchdog (it ran past watchdogMs), not at a chosen point. */
  watchdog?: boolean;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** SIGKILL this many ms after the start (if it still runs). */
  killAtMs?: number;
  /** SIGKILL when it runs longer than this (a hung run). */
  watchdogMs?: number;
}

/** One `node bin/lake.js …` child (no shell, no npm: the SIGKILL reaches the lake process itself). */
export function runLake(args: string[], opts: RunOptions): Promise<LakeRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [LAKE_BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (d: Buffer) => {
      out += String(d);
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let killedAtMs: number | undefined;
    let watchdog = false;
    const timers: NodeJS.Timeout[] = [];
    if (opts.killAtMs !== undefined) {
      timers.push(
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) {
            killedAtMs = performance.now() - t0;
            child.kill("SIGKILL");
          }
        }, opts.killAtMs),
      );
    }
    if (opts.watchdogMs !== undefined) {
      timers.push(
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) {
            watchdog = true;
            killedAtMs = performance.now() - t0;
            child.kill("SIGKILL");
          }
        }, opts.watchdogMs),
      );
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ args, code, signal, ms: performance.now() - t0, out: out.slice(-4000), ...(killedAtMs !== undefined ? { killedAtMs } : {}), ...(watchdog ? { watchdog } : {}) });
    });
  });
}

// ---------------------------------------------------------------- objects

/** Where a snapshot reads storage objects from (a local lake folder, or S3 buckets). */
export interface ObjectSource {
  /** Object keys `<repository>/<key>`, temp files excluded. */
  list(): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  /** Temp files of atomic writes left behind. */
  tempFiles(): Promise<string[]>;
}

function walk(dir: string, rel = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(path.join(dir, e.name), r));
    else out.push(r);
  }
  return out;
}

/** A temp file of an atomic write (`.lake-tmp-…`, and the older `.tmp-…` form). */
export function isTempFile(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name.startsWith(TEMP_PREFIX) || name.startsWith(".tmp-");
}

export function localObjects(root: string): ObjectSource {
  return {
    list: async () => walk(root).filter((k) => !isTempFile(k)).sort(),
    read: async (key) => readFileSync(path.join(root, key)),
    tempFiles: async () => walk(root).filter(isTempFile),
  };
}

/** Temp files anywhere under a lake home except the simulated sources. */
export function homeTempFiles(home: string): string[] {
  return walk(home).filter((k) => !k.startsWith("sources/") && isTempFile(k));
}

// ---------------------------------------------------------------- volatility

/**
 * What may differ between two clean runs: JSON paths (array indices as `*`, `metadata.` for catalog metadata), and
 * whole objects that are not JSON and differ (compared by presence only).
 */
export interface Volatile {
  paths: Set<string>;
  objects: Set<string>;
}

export function emptyVolatile(): Volatile {
  return { paths: new Set(), objects: new Set() };
}

export function mergeVolatile(a: Volatile, b: Volatile): Volatile {
  return { paths: new Set([...a.paths, ...b.paths]), objects: new Set([...a.objects, ...b.objects]) };
}

function jsonOf(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    return undefined;
  }
}

function diffPaths(a: unknown, b: unknown, at: string, out: Set<string>): void {
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) !== Array.isArray(b)) {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.add(at);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return void out.add(at);
    for (let i = 0; i < a.length; i++) diffPaths(a[i], b[i], `${at}[*]`, out);
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) diffPaths(x[k], y[k], at ? `${at}.${k}` : k, out);
}

function mask(v: unknown, at: string, paths: Set<string>): unknown {
  if (paths.has(at)) return "<volatile>";
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => mask(x, `${at}[*]`, paths));
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) o[k] = mask((v as Record<string, unknown>)[k], at ? `${at}.${k}` : k, paths);
  return o;
}

/** Learns what differs between two clean runs' objects and catalogs. `alias` maps each side's names to common ones. */
export async function learnVolatile(a: ObjectSource, b: ObjectSource, aliasA: Alias, aliasB: Alias, catA: RawCatalogRow[], catB: RawCatalogRow[]): Promise<Volatile> {
  const v = emptyVolatile();
  const keysB = new Map((await b.list()).map((k) => [aliasB(k), k]));
  for (const ka of await a.list()) {
    const kb = keysB.get(aliasA(ka));
    if (kb === undefined) continue;
    const [x, y] = [await a.read(ka), await b.read(kb)];
    if (x.equals(y)) continue;
    const [jx, jy] = [jsonOf(x), jsonOf(y)];
    if (jx === undefined || jy === undefined) v.objects.add(aliasA(ka));
    else diffPaths(jx, jy, "", v.paths);
  }
  const rowsB = new Map(catB.map((r) => [catalogKey(r, aliasB), r]));
  for (const ra of catA) {
    const rb = rowsB.get(catalogKey(ra, aliasA));
    if (!rb) continue;
    for (const col of ["pointer", "collection_end", "processing_date"] as const) {
      if (aliasA(String(ra[col])) !== aliasB(String(rb[col]))) v.paths.add(`catalog.${col}`);
    }
    const [ma, mb] = [ra.metadata ? JSON.parse(aliasA(ra.metadata)) : null, rb.metadata ? JSON.parse(aliasB(rb.metadata)) : null];
    diffPaths(ma, mb, "metadata", v.paths);
  }
  return v;
}

// ---------------------------------------------------------------- snapshots

/** Maps a configuration's own names (buckets, dataset ids of one trial) to common ones, so trials compare. */
export type Alias = (text: string) => string;
export const noAlias: Alias = (t) => t;

/** Replaces each `from` by its `to`, longest first. */
export function aliasOf(pairs: [string, string][]): Alias {
  const sorted = [...pairs].sort((x, y) => y[0].length - x[0].length);
  return (text) => {
    let t = text;
    for (const [from, to] of sorted) t = t.split(from).join(to);
    return t;
  };
}

export interface RawCatalogRow {
  repository: string;
  data_source: string;
  id_base: string;
  id_ext: string;
  pointer: string;
  collection_date: string | number;
  collection_end: string | number | null;
  processing_date: string | number | null;
  metadata: string | null;
}

function catalogKey(r: RawCatalogRow, alias: Alias): string {
  return [alias(r.repository), r.data_source, r.id_base, r.id_ext, String(new Date(typeof r.collection_date === "number" ? r.collection_date : String(r.collection_date)).getTime())].join(" | ");
}

function catalogValue(r: RawCatalogRow, alias: Alias, v: Volatile): string {
  const time = (t: string | number | null) => (t === null || t === undefined ? "" : String(new Date(typeof t === "number" ? t : String(t)).getTime()));
  const cols = [
    v.paths.has("catalog.pointer") ? "<volatile>" : alias(r.pointer),
    v.paths.has("catalog.collection_end") ? "<volatile>" : time(r.collection_end),
    v.paths.has("catalog.processing_date") ? "<volatile>" : time(r.processing_date),
    JSON.stringify(mask(r.metadata ? JSON.parse(alias(typeof r.metadata === "string" ? r.metadata : JSON.stringify(r.metadata))) : null, "metadata", v.paths)),
  ];
  return cols.join(" | ");
}

export interface Snapshot {
  /** dataset → canonical row text → occurrences. */
  published: Map<string, Map<string, number>>;
  /** object key → hash of its masked content. */
  objects: Map<string, string>;
  /** catalog key → masked value. */
  catalog: Map<string, string>;
  tempFiles: string[];
  /** Leases and locks still held after the final run (owner texts or lock files). */
  staleLeases: string[];
}

export interface SnapshotInput {
  published: Map<string, string[]>;
  objects: ObjectSource;
  catalog: RawCatalogRow[];
  tempFiles: string[];
  staleLeases: string[];
  alias: Alias;
}

export async function snapshot(input: SnapshotInput, v: Volatile): Promise<Snapshot> {
  const published = new Map<string, Map<string, number>>();
  for (const [ds, rows] of input.published) {
    const m = new Map<string, number>();
    for (const r of rows) m.set(r, (m.get(r) ?? 0) + 1);
    published.set(input.alias(ds), m);
  }
  const objects = new Map<string, string>();
  for (const key of await input.objects.list()) {
    const k = input.alias(key);
    if (v.objects.has(k)) {
      objects.set(k, "<volatile>");
      continue;
    }
    const buf = await input.objects.read(key);
    const json = k.endsWith(".json") && v.paths.size ? jsonOf(buf) : undefined;
    const body = json === undefined ? buf : Buffer.from(JSON.stringify(mask(json, "", v.paths)));
    objects.set(k, createHash("sha256").update(body).digest("hex"));
  }
  const catalog = new Map<string, string>();
  for (const r of input.catalog) catalog.set(catalogKey(r, input.alias), catalogValue(r, input.alias, v));
  return { published, objects, catalog, tempFiles: input.tempFiles, staleLeases: input.staleLeases };
}

/** What a lake home on the embedded default holds (CSV publisher, local storage, SQLite catalog and leases). */
export function embeddedInput(home: string): SnapshotInput {
  const published = new Map<string, string[]>();
  const pubDir = path.join(home, "published");
  if (existsSync(pubDir)) {
    for (const f of readdirSync(pubDir).filter((n) => n.endsWith(".csv") && !isTempFile(n))) {
      const records = parse(readFileSync(path.join(pubDir, f)), { relax_column_count: true }) as string[][];
      published.set(f.replace(/\.csv$/, ""), records.slice(1).map((r) => r.join("\u001f")));
    }
  }
  let catalog: RawCatalogRow[] = [];
  const staleLeases: string[] = [];
  const dbFile = path.join(home, "catalog.sqlite");
  if (existsSync(dbFile)) {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      const has = (t: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
      if (has("data_lake_cat")) catalog = db.prepare("SELECT * FROM data_lake_cat").all() as RawCatalogRow[];
      if (has("lake_leases")) {
        for (const l of db.prepare("SELECT source, stage, day, owner FROM lake_leases").all() as { source: string; stage: string; day: string; owner: string }[]) {
          staleLeases.push(`lease ${l.source} ${l.stage} ${l.day} held by ${l.owner}`);
        }
      }
    } finally {
      db.close();
    }
  }
  staleLeases.push(...lockFiles(home));
  return { published, objects: localObjects(path.join(home, "lake")), catalog, tempFiles: homeTempFiles(home), staleLeases, alias: noAlias };
}

/** Dataset lock files still present under <home>/locks. */
export function lockFiles(home: string): string[] {
  const dir = path.join(home, "locks");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => statSync(path.join(dir, n)).isFile() && !isTempFile(n))
    .map((n) => `lock ${n}`);
}

// ---------------------------------------------------------------- comparison

export interface Outcome {
  rowsLost: number;
  rowsDuplicated: number;
  /** Rows the clean run does not have at all (changed values, foreign rows). */
  rowsExtra: number;
  objectsDiffering: number;
  catalogDiffering: number;
  tempFiles: number;
  staleLeases: number;
  /** The first differences, for the report. */
  details: string[];
}

export function zeroOutcome(): Outcome {
  return { rowsLost: 0, rowsDuplicated: 0, rowsExtra: 0, objectsDiffering: 0, catalogDiffering: 0, tempFiles: 0, staleLeases: 0, details: [] };
}

export function addOutcome(total: Outcome, o: Outcome, label: string): void {
  for (const k of ["rowsLost", "rowsDuplicated", "rowsExtra", "objectsDiffering", "catalogDiffering", "tempFiles", "staleLeases"] as const) total[k] += o[k];
  if (o.details.length && total.details.length < 40) total.details.push(...o.details.slice(0, 5).map((d) => `${label}: ${d}`));
}

export function badness(o: Outcome): number {
  return o.rowsLost + o.rowsDuplicated + o.rowsExtra + o.objectsDiffering + o.catalogDiffering + o.tempFiles + o.staleLeases;
}

export function compare(clean: Snapshot, got: Snapshot): Outcome {
  const o = zeroOutcome();
  const note = (s: string) => {
    if (o.details.length < 10) o.details.push(s);
  };
  for (const ds of new Set([...clean.published.keys(), ...got.published.keys()])) {
    const want = clean.published.get(ds) ?? new Map<string, number>();
    const have = got.published.get(ds) ?? new Map<string, number>();
    let lost = 0;
    let dup = 0;
    let extra = 0;
    for (const [row, n] of want) lost += Math.max(0, n - (have.get(row) ?? 0));
    for (const [row, n] of have) {
      const w = want.get(row);
      if (w === undefined) extra += n;
      else dup += Math.max(0, n - w);
    }
    if (lost || dup || extra) note(`dataset ${ds}: ${lost} rows lost, ${dup} duplicated, ${extra} not in the clean run`);
    o.rowsLost += lost;
    o.rowsDuplicated += dup;
    o.rowsExtra += extra;
  }
  for (const k of new Set([...clean.objects.keys(), ...got.objects.keys()])) {
    const [a, b] = [clean.objects.get(k), got.objects.get(k)];
    if (a === b) continue;
    o.objectsDiffering++;
    note(`object ${k}: ${a === undefined ? "not in the clean run" : b === undefined ? "missing" : "content differs"}`);
  }
  for (const k of new Set([...clean.catalog.keys(), ...got.catalog.keys()])) {
    const [a, b] = [clean.catalog.get(k), got.catalog.get(k)];
    if (a === b) continue;
    o.catalogDiffering++;
    note(`catalog row ${k}: ${a === undefined ? "not in the clean run" : b === undefined ? "missing" : `${b} instead of ${a}`}`);
  }
  o.tempFiles = got.tempFiles.length;
  for (const t of got.tempFiles.slice(0, 3)) note(`temp file left: ${t}`);
  o.staleLeases = got.staleLeases.length;
  for (const l of got.staleLeases.slice(0, 3)) note(`still held: ${l}`);
  return o;
}

/** Runs fn(0..count-1) with at most n at once; results in order. */
export async function pool<T>(n: number, count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(n, count)) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}
