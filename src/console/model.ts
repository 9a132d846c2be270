/**
 * What the operator console shows, as plain data (the JSON API returns it as is; the pages render it): runs from
 * perfmet's job rows joined with the catalog (what each run wrote) and the failure records of the state repository,
 * backfill blocks from the block store, coverage of every source, per-device health (perfmet observations joined
 * with the device inventory) and the publish audit (rows the lake published per day vs rows at the destination).
 * Everything here only reads.
 */
import { DateTime } from "luxon";
import type { LakeRuntime } from "../support/runtime.js";
import type { SourceRegistry } from "../support/registry.js";
import { datasetTarget, type BoundStage, type SourceDefinition } from "../support/kit.js";
import { publishedIdsByDay } from "../support/published-ids.js";
import { Catalog, type CatalogEntry } from "../support/catalog.js";
import type { PerfmetJob, UnitDevice } from "../support/drivers.js";
import type { BlockRecord } from "../support/block-store.js";
import { coverageReport, type CoverageReport, type Layer } from "../orchestration/coverage.js";
import { addDays, dayText, parseDay, todayMidnight } from "../util/dates.js";
import { isMetadataExt } from "../support/unitdata.js";

export interface ConsoleEnv {
  runtime: LakeRuntime;
  registry: SourceRegistry;
  /** Report the debug (test) repositories, datasets and perfmet tables. */
  debug: boolean;
}

/** Slack after a job's end within which its items' catalog rows still count as its own (clock steps, flush). */
const RUN_SLACK_MS = 1_000;
/** Days the Devices page charts. */
export const DEVICE_DAYS = 30;
/** Days "recent failures" covers on the Overview. */
export const RECENT_DAYS = 7;

export interface RunFailure {
  item: string;
  day: string;
  error: string;
  /** Consecutive runs it failed the same way. */
  runs: number;
  /** Failed-terminal: skipped by later runs until its source changes (or -F). */
  terminal: boolean;
}

export interface RunRow {
  /** `<stage>@<processing epoch ms>`: the run's id in links and the API. */
  id: string;
  source: string;
  stage: string;
  /** Perfmet's stage name (Ingest, Standardize, …). */
  kind: string;
  /** ISO start, in the lake's zone. */
  start: string;
  seconds: number;
  /** Objects (or publications) the run wrote, from the catalog. */
  items: number;
  /** Records perfmet's job row counts for it (the stage's own measure, as in the original). */
  rows: number;
  /** First and last (exclusive) local day it processed, when it processed any. */
  from: string | null;
  to: string | null;
  status: "succeeded" | "failed";
  /** The first failure's message. */
  error: string | null;
  failures: number;
}

export interface RunDetail extends RunRow {
  written: { repository: string; day: string; base: string; ext: string; pointer: string }[];
  failureList: RunFailure[];
  /** The `lake` command that runs it again (the failed items' days when it failed, else its window). */
  rerun: string;
}

export interface BlockRow {
  source: string;
  stage: string;
  day: string;
  status: string;
  attempts: number;
  processed: number;
  skipped: number;
  failed: number;
  records: number;
  message: string | null;
  finished: string | null;
}

interface StageInfo {
  bound: BoundStage;
  /** Repository its outputs are catalogued in. */
  repository: string;
}

function stageInfo(env: ConsoleEnv, source: SourceDefinition): StageInfo[] {
  return source.stages.map((bound) => {
    const d = bound.decl;
    const repository = d.kind === "publish" || !d.to ? env.runtime.repository("public", env.debug) : env.runtime.repository(d.to, env.debug);
    return { bound, repository };
  });
}

async function sources(env: ConsoleEnv, code?: string): Promise<SourceDefinition[]> {
  const codes = code ? [code] : env.registry.codes();
  return Promise.all(codes.map((c) => env.registry.source(c)));
}

const iso = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toISO() ?? String(ms);
const day = (ms: number, zone: string) => dayText(DateTime.fromMillis(ms, { zone }));

/** The failure records of a source in the state repository (ext `failed:<stage>:<ext>`). */
async function failureRecords(env: ConsoleEnv, source: SourceDefinition): Promise<(RunFailure & { stage: string; at: number })[]> {
  const catalog = new Catalog(await env.runtime.driver("catalog", env.debug), source.code, { zone: env.runtime.zone });
  const out: (RunFailure & { stage: string; at: number })[] = [];
  for await (const e of catalog.query(env.runtime.stateRepository(env.debug), { ext: { like: "failed:*" } })) {
    const m = e.metadata ?? {};
    const ext = e.ext.split(":").slice(2).join(":");
    out.push({
      stage: String(m.stage),
      at: e.processingDate?.toMillis() ?? 0,
      item: ext ? `${e.base}.${ext}` : e.base,
      day: dayText(e.collectionDate),
      error: String(m.error ?? ""),
      runs: Number(m.runs ?? 0),
      terminal: m.terminal === true,
    });
  }
  return out;
}

export interface RunQuery {
  source?: string;
  stage?: string;
  status?: "succeeded" | "failed";
  /** Runs that processed this local day. */
  day?: string;
  /** Runs started in [from, to) local days; default: everything. */
  from?: string;
  to?: string;
  limit?: number;
}

interface RunsData {
  rows: RunRow[];
  written: Map<string, CatalogEntry[]>;
  failures: Map<string, RunFailure[]>;
}

async function collectRuns(env: ConsoleEnv, q: RunQuery): Promise<RunsData> {
  const zone = env.runtime.zone;
  const perfmet = await env.runtime.driver("perfmet", env.debug);
  const from = q.from ? parseDay(q.from, zone, "from").toMillis() : 0;
  const to = q.to ? parseDay(q.to, zone, "to").toMillis() : addDays(todayMidnight(zone, env.runtime.clock), 2).toMillis();
  const jobs = await perfmet.readJobs({ from, to });
  const rows: RunRow[] = [];
  const written = new Map<string, CatalogEntry[]>();
  const failuresOf = new Map<string, RunFailure[]>();
  const catalogDriver = await env.runtime.driver("catalog", env.debug);
  for (const source of await sources(env, q.source)) {
    const infos = stageInfo(env, source).filter((s) => !q.stage || s.bound.name === q.stage);
    const mine = jobs.filter((j) => j.data_source === source.name || j.data_source === source.code);
    const failures = await failureRecords(env, source);
    const catalog = new Catalog(catalogDriver, source.code, { zone });
    for (const info of infos) {
      const stageJobs = mine.filter((j) => j.stage === info.bound.decl.perfmet).sort((a, b) => a.processing_date - b.processing_date);
      if (stageJobs.length === 0) continue;
      // One catalog pass over the days the stage's runs processed: each row belongs to the run whose time span
      // holds its processing date.
      const starts = stageJobs.map((j) => j.collection_start).filter((v): v is number => v !== null);
      const ends = stageJobs.map((j) => j.collection_end).filter((v): v is number => v !== null);
      const entries: CatalogEntry[] = [];
      if (starts.length) {
        for await (const e of catalog.query(info.repository, { early: DateTime.fromMillis(Math.min(...starts), { zone }), late: DateTime.fromMillis(Math.max(...ends), { zone }) })) {
          if (!isMetadataExt(e.ext, new Set((source.metadataExts ?? []).map((x) => x.toLowerCase())))) entries.push(e);
        }
      }
      const spanOf = (j: PerfmetJob, next: PerfmetJob | undefined) => {
        const end = j.processing_date + Math.ceil(j.seconds * 1000) + RUN_SLACK_MS;
        return [j.processing_date, next ? Math.min(end, next.processing_date) : end] as const;
      };
      stageJobs.forEach((j, i) => {
        const [s, e] = spanOf(j, stageJobs[i + 1]);
        const id = `${info.bound.name}@${j.processing_date}`;
        const mineWritten = entries.filter((x) => {
          const p = x.processingDate?.toMillis();
          return p !== undefined && p >= s && p < e;
        });
        const mineFailed = failures
          .filter((f) => f.stage === info.bound.name && f.at >= s && f.at < e)
          .map(({ stage: _s, at: _a, ...f }) => f);
        written.set(id, mineWritten);
        failuresOf.set(id, mineFailed);
        rows.push({
          id,
          source: source.code,
          stage: info.bound.name,
          kind: j.stage,
          start: iso(j.processing_date, zone),
          seconds: j.seconds,
          items: mineWritten.length,
          rows: j.records,
          from: j.collection_start !== null ? day(j.collection_start, zone) : null,
          to: j.collection_end !== null ? day(j.collection_end, zone) : null,
          status: mineFailed.length ? "failed" : "succeeded",
          error: mineFailed[0]?.error ?? null,
          failures: mineFailed.length,
        });
      });
    }
  }
  let out = rows;
  if (q.status) out = out.filter((r) => r.status === q.status);
  if (q.day) {
    const d = q.day;
    out = out.filter((r) => (r.from !== null && r.to !== null && r.from <= d && d < r.to) || (failuresOf.get(r.id) ?? []).some((f) => f.day === d));
  }
  out.sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : a.stage.localeCompare(b.stage)));
  if (q.limit !== undefined) out = out.slice(0, q.limit);
  return { rows: out, written, failures: failuresOf };
}

export async function listRuns(env: ConsoleEnv, q: RunQuery = {}): Promise<RunRow[]> {
  return (await collectRuns(env, q)).rows;
}

/** The command that runs a stage again over the days given (`-e` exclusive), forced when an item is failed-terminal. */
export function rerunCommand(stage: string, from: string, to: string, opts: { force?: boolean; debug?: boolean }): string {
  return ["lake run", stage, "-s", from, "-e", to, opts.force ? "-F" : "", opts.debug ? "--debug" : ""].filter(Boolean).join(" ");
}

export async function runDetail(env: ConsoleEnv, id: string): Promise<RunDetail | undefined> {
  const at = id.lastIndexOf("@");
  const stage = id.slice(0, at);
  const code = stage.split("-")[0]!;
  if (!env.registry.has(code)) return undefined;
  const data = await collectRuns(env, { source: code, stage });
  const row = data.rows.find((r) => r.id === id);
  if (!row) return undefined;
  const zone = env.runtime.zone;
  const failureList = data.failures.get(id) ?? [];
  let from = row.from;
  let to = row.to;
  if (failureList.length) {
    const days = failureList.map((f) => f.day).sort();
    from = days[0]!;
    to = dayText(addDays(parseDay(days[days.length - 1]!, zone), 1));
  }
  const rerun = from && to ? rerunCommand(stage, from, to, { force: failureList.some((f) => f.terminal), debug: env.debug }) : rerunCommand(stage, "1", "0", { debug: env.debug });
  return {
    ...row,
    written: (data.written.get(id) ?? []).map((e) => ({ repository: e.repository, day: dayText(e.collectionDate), base: e.base, ext: e.ext, pointer: e.pointer })),
    failureList,
    rerun,
  };
}

export async function listBlocks(env: ConsoleEnv, q: { source?: string } = {}): Promise<BlockRow[]> {
  const { blockStoreSpec, openBlockStore, blockSource } = await import("../orchestration/blocks.js");
  try {
    blockStoreSpec(env.runtime);
  } catch {
    return [];
  }
  const store = await openBlockStore(env.runtime, { readOnly: true });
  try {
    const out: BlockRow[] = [];
    for (const source of await sources(env, q.source)) {
      const recs: BlockRecord[] = await store.list({ source: blockSource(source.code, env.debug) });
      for (const b of recs) {
        out.push({
          source: source.code,
          stage: b.stage,
          day: b.day,
          status: b.status,
          attempts: b.attempts,
          processed: b.processed,
          skipped: b.skipped,
          failed: b.failed,
          records: b.records,
          message: b.message,
          finished: b.finishedAt !== null ? iso(b.finishedAt, env.runtime.zone) : null,
        });
      }
    }
    return out.sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : a.stage.localeCompare(b.stage)));
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- coverage

export interface CoverageAll {
  from: string;
  to: string;
  zone: string;
  sources: (CoverageReport & { name: string; stageOf: Partial<Record<Layer, string>> })[];
}

/** The stage that writes each layer of a source (coverage cells link to its runs). */
function layerStages(source: SourceDefinition): Partial<Record<Layer, string>> {
  const out: Partial<Record<Layer, string>> = {};
  for (const s of source.stages) {
    const layer = (s.decl.perfmet === "Aggregate" ? "aggregated" : s.decl.kind === "publish" ? "published" : s.decl.to) as Layer;
    out[layer] ??= s.name;
  }
  return out;
}

/** The window the lake has data for: the first to the day after the last day any job processed (else the last 14 days). */
export async function dataWindow(env: ConsoleEnv, code?: string): Promise<{ from: string; to: string }> {
  const zone = env.runtime.zone;
  const perfmet = await env.runtime.driver("perfmet", env.debug);
  // Sources whose stages all ignore the date window (entity sources: years of fetch windows) do not widen the lake's.
  const dated = (await sources(env, code)).filter((s) => code !== undefined || !s.stages.every((st) => st.decl.window === "all"));
  const names = new Set(dated.flatMap((s) => [s.name, s.code]));
  const jobs = (await perfmet.readJobs({ from: 0, to: addDays(todayMidnight(zone, env.runtime.clock), 2).toMillis() })).filter((j) => names.has(j.data_source));
  const starts = jobs.map((j) => j.collection_start).filter((v): v is number => v !== null);
  const ends = jobs.map((j) => j.collection_end).filter((v): v is number => v !== null);
  if (!starts.length) {
    const today = todayMidnight(zone, env.runtime.clock);
    return { from: dayText(addDays(today, -14)), to: dayText(today) };
  }
  return { from: day(Math.min(...starts), zone), to: day(Math.max(...ends), zone) };
}

export async function coverageAll(env: ConsoleEnv, q: { from?: string; to?: string; source?: string }): Promise<CoverageAll> {
  const window = q.from && q.to ? { from: q.from, to: q.to } : await dataWindow(env, q.source);
  const out: CoverageAll = { from: window.from, to: window.to, zone: env.runtime.zone, sources: [] };
  for (const source of await sources(env, q.source)) {
    const report = await coverageReport(env.runtime, source, { from: window.from, to: window.to, debug: env.debug });
    out.sources.push({ ...report, name: source.name, stageOf: layerStages(source) });
  }
  return out;
}

// ---------------------------------------------------------------- devices

export type Verdict = "healthy" | "sensor silent" | "pipeline broken" | "not in inventory";

export interface DeviceHealth {
  /** The name the source's observations use for it. */
  sensor: string;
  inInventory: boolean;
  /** Inventory fields shown beside it (id, status, location). */
  device: Record<string, string | number | boolean | null> | null;
  lastSeen: string | null;
  /** Rows per local day, oldest first, one per day of the window. */
  perDay: { day: string; rows: number | null }[];
  verdict: Verdict;
  why: string;
}

export interface SourceDevices {
  source: string;
  name: string;
  from: string;
  to: string;
  /** Whether observations could be joined with the inventory (the source declares how its sensors are named). */
  joined: boolean;
  note: string | null;
  devices: DeviceHealth[];
}

const QUARANTINE_TYPE = /^Quarantined rows: /;

/** How a source's observations name an inventory device: its declaration's sensorName, else device_name. */
function sensorOf(source: SourceDefinition, device: UnitDevice): string | undefined {
  const declared = source.devices?.sensorName;
  if (declared) return declared(device);
  const name = device.device_name;
  return typeof name === "string" && name !== "" ? name : undefined;
}

export async function deviceHealth(env: ConsoleEnv, q: { source?: string; to?: string } = {}): Promise<SourceDevices[]> {
  const zone = env.runtime.zone;
  const perfmet = await env.runtime.driver("perfmet", env.debug);
  const out: SourceDevices[] = [];
  for (const source of await sources(env, q.source)) {
    if (!source.devices) continue;
    const end = q.to ? parseDay(q.to, zone, "to") : parseDay((await dataWindow(env, source.code)).to, zone);
    const start = addDays(end, -DEVICE_DAYS);
    const days: string[] = [];
    for (let d = start; d < end; d = addDays(d, 1)) days.push(dayText(d));
    const obs = (await perfmet.readObs({ from: start.toMillis(), to: end.toMillis(), dataSource: source.name })).filter((o) => !QUARANTINE_TYPE.test(o.data_type));
    const perSensor = new Map<string, Map<string, number>>();
    const lastSeen = new Map<string, number>();
    for (const o of obs) {
      const m = perSensor.get(o.sensor_name) ?? new Map<string, number>();
      const d = day(o.collection_date, zone);
      m.set(d, (m.get(d) ?? 0) + (o.data ?? 0));
      perSensor.set(o.sensor_name, m);
      if ((o.data ?? 0) > 0) lastSeen.set(o.sensor_name, Math.max(lastSeen.get(o.sensor_name) ?? 0, o.timestamp_max ?? o.collection_date));
    }
    // What the pipeline did on each day: processed (a job's collection range covered it) and failed (a failure record).
    const jobs = (await perfmet.readJobs({ from: 0, to: addDays(todayMidnight(zone, env.runtime.clock), 2).toMillis() })).filter(
      (j) => j.data_source === source.name || j.data_source === source.code,
    );
    const failures = await failureRecords(env, source);
    const failedDays = new Set(failures.map((f) => f.day));
    const processed = (d: string) => {
      const ms = parseDay(d, zone).toMillis();
      return jobs.some((j) => j.collection_start !== null && j.collection_end !== null && j.collection_start <= ms && ms < j.collection_end);
    };
    const lastDay = days[days.length - 1]!;
    let inventory: UnitDevice[] = [];
    let note: string | null = null;
    try {
      const unit = await env.runtime.driver("unitdata", env.debug);
      inventory = await unit.devices({ dataSource: source.code, deviceType: source.devices.type, keys: source.devices.keys });
    } catch (err) {
      note = `device inventory not read: ${(err as Error).message}`;
    }
    const joined = inventory.some((d) => sensorOf(source, d) !== undefined);
    if (!note && !joined) note = "the inventory names no device the way this source's observations do (the source declares no sensorName): observations are shown without the inventory";
    const rowsFor = (sensor: string) => days.map((d) => ({ day: d, rows: perSensor.get(sensor)?.get(d) ?? (processed(d) ? 0 : null) }));
    const verdictFor = (sensor: string, inInventory: boolean): { verdict: Verdict; why: string } => {
      const perDay = perSensor.get(sensor);
      if (joined && !inInventory) return { verdict: "not in inventory", why: "rows from a reader the device inventory does not list" };
      if ((perDay?.get(lastDay) ?? 0) > 0) return { verdict: "healthy", why: `rows on ${lastDay}` };
      if (failedDays.has(lastDay)) return { verdict: "pipeline broken", why: `a stage failed for ${lastDay}` };
      if (!processed(lastDay)) return { verdict: "pipeline broken", why: `no run processed ${lastDay}` };
      return { verdict: "sensor silent", why: `the pipeline ran for ${lastDay}; the device sent nothing` };
    };
    const devices: DeviceHealth[] = [];
    const seen = new Set<string>();
    if (joined) {
      for (const d of inventory) {
        const sensor = sensorOf(source, d);
        if (sensor === undefined || seen.has(sensor)) continue;
        seen.add(sensor);
        const ls = lastSeen.get(sensor);
        devices.push({
          sensor,
          inInventory: true,
          device: { atd_device_id: d.atd_device_id ?? null, device_status: d.device_status ?? null, atd_location_id: d.atd_location_id ?? null },
          lastSeen: ls !== undefined ? iso(ls, zone) : null,
          perDay: rowsFor(sensor),
          ...verdictFor(sensor, true),
        });
      }
    }
    for (const sensor of [...perSensor.keys()].sort()) {
      if (seen.has(sensor)) continue;
      const ls = lastSeen.get(sensor);
      devices.push({ sensor, inInventory: false, device: null, lastSeen: ls !== undefined ? iso(ls, zone) : null, perDay: rowsFor(sensor), ...verdictFor(sensor, false) });
    }
    out.push({ source: source.code, name: source.name, from: days[0]!, to: dayText(end), joined, note, devices });
  }
  return out;
}

// ---------------------------------------------------------------- publish audit

export interface AuditDay {
  day: string;
  /** Rows the lake published for the day (the row ids it keeps per published ready object). */
  lake: number;
  /** Of those, rows at the destination; null when the publisher cannot count by id. */
  destination: number | null;
  difference: number | null;
}

export interface AuditDataset {
  source: string;
  key: string;
  dataset: string;
  lakeTotal: number;
  /** All rows in the destination dataset (rows the lake did not publish show as extra). */
  destinationTotal: number | null;
  days: AuditDay[];
}

export async function audit(env: ConsoleEnv, q: { source?: string; from?: string; to?: string } = {}): Promise<AuditDataset[]> {
  const zone = env.runtime.zone;
  const window = q.from && q.to ? { from: q.from, to: q.to } : await dataWindow(env, q.source);
  const storage = await env.runtime.driver("storage", env.debug);
  const publisher = await env.runtime.driver("publisher", env.debug);
  const stateRepo = env.runtime.stateRepository(env.debug);
  const out: AuditDataset[] = [];
  for (const source of await sources(env, q.source)) {
    for (const [key, decl] of Object.entries(source.datasets ?? {})) {
      const { target } = datasetTarget(source, key, env.runtime.config.datasets, env.debug);
      const perDay = await publishedIdsByDay(storage, stateRepo, target, source.code, window);
      const days: AuditDay[] = [];
      for (let d = parseDay(window.from, zone); dayText(d) < window.to; d = addDays(d, 1)) {
        const ids = perDay.get(dayText(d)) ?? [];
        const destination = publisher.countIds ? (ids.length ? await publisher.countIds(target, ids, decl.rowId) : 0) : null;
        days.push({ day: dayText(d), lake: ids.length, destination, difference: destination === null ? null : destination - ids.length });
      }
      const destinationTotal = publisher.countRows ? await publisher.countRows(target) : null;
      out.push({ source: source.code, key, dataset: target, lakeTotal: days.reduce((n, x) => n + x.lake, 0), destinationTotal, days });
    }
  }
  return out;
}

// ---------------------------------------------------------------- overview

export interface OverviewSource {
  code: string;
  name: string;
  stages: { stage: string; lastRun: RunRow | null }[];
  failures7d: number;
  gaps: number;
  window: { from: string; to: string };
}

export async function overview(env: ConsoleEnv): Promise<{ zone: string; debug: boolean; sources: OverviewSource[] }> {
  const zone = env.runtime.zone;
  const recent = addDays(todayMidnight(zone, env.runtime.clock), -RECENT_DAYS).toMillis();
  const runs = await listRuns(env);
  const blocks = await listBlocks(env);
  const out: OverviewSource[] = [];
  for (const source of await sources(env)) {
    const window = await dataWindow(env, source.code);
    const cov = await coverageReport(env.runtime, source, { ...window, debug: env.debug });
    const failures = (await failureRecords(env, source)).filter((f) => f.at >= recent).length;
    const failedBlocks = blocks.filter((b) => b.source === source.code && b.status === "failed" && b.finished !== null && DateTime.fromISO(b.finished).toMillis() >= recent).length;
    out.push({
      code: source.code,
      name: source.name,
      stages: source.stages.map((s) => ({ stage: s.name, lastRun: runs.find((r) => r.stage === s.name) ?? null })),
      failures7d: failures + failedBlocks,
      gaps: cov.gaps.length,
      window,
    });
  }
  return { zone, debug: env.debug, sources: out };
}
