/**
 * `lake demo`: the first thing a new user runs. Creates simulated source systems for every source (two weeks
 * spanning the 2024-11-03 fall-back day in the lake's zone, device inventory included), runs every pipeline on the
 * embedded default (local files, SQLite catalog and perfmet, CSV publisher), and prints what is in the catalog.
 * Run again, it processes 0 items.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import { LakeRuntime, DEMO_SOURCES_FILE } from "../support/runtime.js";
import { parseOptions, runApp } from "../support/etl-app.js";
import { datasetTarget, type DemoSize, type SourceDefinition } from "../support/kit.js";
import { defaultRegistry } from "./pipelines.js";
import type { SourceRegistry } from "../support/registry.js";
import { LakeEventBus, type RunSummary } from "../support/events.js";
import { Catalog } from "../support/catalog.js";
import { PURPOSES } from "../config/schema.js";

export const DEMO_FROM = "2024-10-27";
export const DEMO_TO = "2024-11-10";

export interface DemoOptions {
  dir: string;
  sources?: string[];
}

export interface DemoResult {
  home: string;
  /** The config file the demo wrote for later commands (home = its folder). */
  configFile: string;
  /** An instant just after the demo's window (LAKE_CLOCK): relative windows such as `-s 7` then reach its data. */
  clock: string;
  stages: RunSummary[];
  catalog: Record<string, Record<string, number>>;
  published: Record<string, number>;
}

/**
 * A partitioned source's demo: a backfill over its window (every block, statuses in the block store), then the
 * repair sweep (--incomplete-only) that a nightly run would do; one summary per stage, the sweep's failures counted.
 */
async function demoBlocks(runtime: LakeRuntime, registry: SourceRegistry, p: SourceDefinition, window: { from: string; to: string }, viaQueue: boolean): Promise<RunSummary[]> {
  const { openBlockStore } = await import("./blocks.js");
  const { planRange, runBackfill } = await import("./backfill.js");
  const store = await openBlockStore(runtime);
  try {
    const plan = await planRange(runtime, registry, p.code, { timeMin: window.from, timeMax: window.to });
    const owner = `demo:${process.pid}`;
    const env = { runtime, store, registry, owner, leaseMs: runtime.config.blocks.leaseMs };
    // On the queue: the blocks are enqueued and a worker runs them, as `lake enqueue` + `lake worker` do (the
    // embedded default's queue is the in-process one).
    const pass = async () => {
      if (!viaQueue) return runBackfill(env, plan, { continueOnError: true, incompleteOnly: true });
      const { jobQueue, enqueuePlan, runWorker } = await import("./queue.js");
      const queue = await jobQueue(runtime);
      await enqueuePlan(queue, store, plan, { runId: `demo-${Date.now()}`, incompleteOnly: true });
      return runWorker({ runtime, registry, store, queue, owner, concurrency: 2, untilEmpty: true });
    };
    const first = await pass();
    const repair = await pass();
    return plan.stages.map((stage) => {
      const mine = (r: typeof first) => r.outcomes.filter((o) => o.stage === stage);
      const count = (r: typeof first, ...st: string[]) => mine(r).filter((o) => st.includes(o.status)).length;
      const retried = mine(first).filter((o) => o.status === "failed");
      return {
        app: stage,
        processed: count(first, "succeeded", "succeeded-with-errors") + count(repair, "succeeded", "succeeded-with-errors"),
        skipped: count(first, "no-data", "skipped"),
        failed: count(repair, "failed"),
        records: [...mine(first), ...mine(repair)].reduce((n, o) => n + o.counts.processed, 0),
        seconds: first.seconds + repair.seconds,
        failures: mine(repair).filter((o) => o.status === "failed").map((o) => ({ item: o.day, error: o.message ?? "" })),
        skipReasons: (retried.length ? { "failed on the first pass, retried by --incomplete-only": retried.length } : {}) as Record<string, number>,
        simulate: false,
      };
    });
  } finally {
    await store.close();
  }
}

/** What simulateSources made: each source's settings (also in <home>/sources/config.json) and what to stop. */
export interface SimulatedSources {
  sourceConfig: Record<string, Record<string, unknown>>;
  /** Stops the simulated systems started for the run (e.g. a device API); empty unless `serve` was asked for. */
  stop(): Promise<void>;
}

/**
 * Creates the simulated source systems of the given sources under <home>/sources/ for the days [from, to), at the
 * given size, and registers them (with their simulated window and size) in <home>/sources/config.json, so stages
 * run later in other processes find them. With serve, also starts what must run while stages run.
 */
export async function simulateSources(
  home: string,
  pipelines: readonly SourceDefinition[],
  window: { from: string; to: string; size?: DemoSize },
  opts: { serve?: boolean } = {},
): Promise<SimulatedSources> {
  const probe = LakeRuntime.create({ overrides: { home } });
  const ctx = { home, zone: probe.zone, from: window.from, to: window.to, ...(window.size ? { size: window.size } : {}), faults: true };
  await mkdir(path.join(home, "sources"), { recursive: true });
  const sourceConfig: Record<string, Record<string, unknown>> = {};
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0)) await s();
  };
  try {
    for (const pipeline of pipelines) {
      const code = pipeline.code;
      const sim = await pipeline.loadDemo();
      const simulatedWindow = { from: ctx.from, to: ctx.to, ...(window.size && window.size !== "demo" ? { size: window.size } : {}) };
      sourceConfig[code] = { ...(sim ? await sim.simulate(ctx) : {}), simulatedWindow };
      if (opts.serve && sim?.serve) {
        const served = await sim.serve(ctx);
        stops.push(served.stop);
        Object.assign(sourceConfig[code]!, served.sourceConfig);
      }
    }
    await writeFile(path.join(home, DEMO_SOURCES_FILE), JSON.stringify(sourceConfig, null, 2));
  } catch (err) {
    await stop();
    throw err;
  }
  return { sourceConfig, stop };
}

export async function demo(opts: DemoOptions, events = new LakeEventBus()): Promise<DemoResult> {
  const home = path.resolve(opts.dir);
  const registry = await defaultRegistry();
  const codes = opts.sources ?? registry.codes();
  const pipelines: SourceDefinition[] = [];
  for (const c of codes) pipelines.push(await registry.source(c));
  const { sourceConfig, stop } = await simulateSources(home, pipelines, { from: DEMO_FROM, to: DEMO_TO }, { serve: true });
  try {
    // Later commands find this lake with --config <dir>/lake.config.json (home is relative to the file's folder).
    const zone = LakeRuntime.create({ overrides: { home } }).zone;
    const configFile = path.join(home, "lake.config.json");
    await writeFile(configFile, `${JSON.stringify({ home: ".", zone }, null, 2)}\n`);
    const clock = DateTime.fromISO(`${DEMO_TO}T09:00`, { zone }).toISO({ suppressMilliseconds: true })!;
    const runtime = LakeRuntime.create({ overrides: { home, sources: sourceConfig }, events });
    const stages: RunSummary[] = [];
    try {
      for (const p of pipelines) {
        if (p.partition) {
          const sim = await p.loadDemo();
          stages.push(...(await demoBlocks(runtime, registry, p, sim?.window ?? { from: DEMO_FROM, to: DEMO_TO }, Boolean(sim?.viaQueue))));
          continue;
        }
        for (const { App } of p.stages) {
          const options = parseOptions(App, { start_date: DEMO_FROM, end_date: DEMO_TO });
          stages.push(await runApp(App, options, { runtime }));
        }
      }
      const catalogDriver = await runtime.driver("catalog", false);
      const catalog: Record<string, Record<string, number>> = {};
      for (const p of pipelines) {
        const cat = new Catalog(catalogDriver, p.code, { zone: runtime.zone });
        catalog[p.code] = {};
        for (const purpose of PURPOSES) {
          const repo = runtime.repository(purpose, false);
          let n = 0;
          for await (const _ of cat.query(repo)) n++;
          catalog[p.code]![repo] = n;
        }
      }
      const publisher = await runtime.driver("publisher", false);
      const published: Record<string, number> = {};
      for (const p of pipelines) {
        for (const key of Object.keys(p.datasets ?? {})) {
          const { target } = datasetTarget(p, key, runtime.config.datasets, false);
          if (publisher.countRows) published[target] = await publisher.countRows(target);
        }
      }
      return { home, configFile, clock, stages, catalog, published };
    } finally {
      await runtime.close();
    }
  } finally {
    await stop();
  }
}
