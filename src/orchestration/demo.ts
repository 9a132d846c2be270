/**
 * `lake demo`: the first thing a new user runs. Creates simulated source systems for every source (two weeks
 * spanning the 2024-11-03 fall-back day in the lake's zone, device inventory included), runs every pipeline on the
 * embedded default (local files, SQLite catalog and perfmet, CSV publisher), and prints what is in the catalog.
 * Run again, it processes 0 items.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { LakeRuntime, DEMO_SOURCES_FILE } from "../support/runtime.js";
import { parseOptions, runApp } from "../support/etl-app.js";
import { datasetTarget, type SourceDefinition } from "../support/kit.js";
import { defaultRegistry } from "./pipelines.js";
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
  stages: RunSummary[];
  catalog: Record<string, Record<string, number>>;
  published: Record<string, number>;
}

export async function demo(opts: DemoOptions, events = new LakeEventBus()): Promise<DemoResult> {
  const home = path.resolve(opts.dir);
  const registry = await defaultRegistry();
  const codes = opts.sources ?? registry.codes();
  const pipelines: SourceDefinition[] = [];
  for (const c of codes) pipelines.push(await registry.source(c));
  const probe = LakeRuntime.create({ overrides: { home } });
  const ctx = { home, zone: probe.zone, from: DEMO_FROM, to: DEMO_TO };
  await mkdir(path.join(home, "sources"), { recursive: true });

  const sourceConfig: Record<string, Record<string, unknown>> = {};
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const pipeline of pipelines) {
      const code = pipeline.code;
      const sim = await pipeline.loadDemo();
      sourceConfig[code] = { ...(sim ? await sim.simulate(ctx) : {}), simulatedWindow: { from: ctx.from, to: ctx.to } };
      if (sim?.serve) {
        const served = await sim.serve(ctx);
        stops.push(served.stop);
        Object.assign(sourceConfig[code]!, served.sourceConfig);
      }
    }
    await writeFile(path.join(home, DEMO_SOURCES_FILE), JSON.stringify(sourceConfig, null, 2));

    const runtime = LakeRuntime.create({ overrides: { home, sources: sourceConfig }, events });
    const stages: RunSummary[] = [];
    try {
      for (const p of pipelines) {
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
      return { home, stages, catalog, published };
    } finally {
      await runtime.close();
    }
  } finally {
    for (const stop of stops) await stop();
  }
}
