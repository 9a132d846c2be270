/**
 * `lake demo`: the first thing a new user runs. Creates simulated source systems for every source (two weeks
 * spanning the 2024-11-03 fall-back day in the lake's zone, device inventory included), runs every pipeline on the
 * embedded default (local files, SQLite catalog and perfmet, CSV publisher), and prints what is in the catalog.
 * Run again, it processes 0 items.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { sources as sourceRegistry } from "../sources/index.js";
import type { SourcePipeline } from "../sources/types.js";
import { LakeRuntime, DEMO_SOURCES_FILE } from "../support/runtime.js";
import { loadEntry } from "../entries/index.js";
import { parseOptions, runApp } from "../support/etl-app.js";
import { LakeEventBus, type RunSummary } from "../support/events.js";
import { Catalog } from "../support/catalog.js";
import { PURPOSES } from "../config/schema.js";
import { ConfigError } from "../support/errors.js";

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
  const codes = opts.sources ?? Object.keys(sourceRegistry);
  for (const c of codes) if (!sourceRegistry[c]) throw new ConfigError(`Unknown source "${c}" (known: ${Object.keys(sourceRegistry).join(", ")})`);
  const probe = LakeRuntime.create({ overrides: { home } });
  const ctx = { home, zone: probe.zone, from: DEMO_FROM, to: DEMO_TO };
  await mkdir(path.join(home, "sources"), { recursive: true });

  const pipelines: SourcePipeline[] = [];
  const sourceConfig: Record<string, Record<string, unknown>> = {};
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const code of codes) {
      const { pipeline } = await sourceRegistry[code]!();
      pipelines.push(pipeline);
      sourceConfig[code] = { ...(pipeline.simulate ? await pipeline.simulate(ctx) : {}), simulatedWindow: { from: ctx.from, to: ctx.to } };
      if (pipeline.serve) {
        const served = await pipeline.serve(ctx);
        stops.push(served.stop);
        Object.assign(sourceConfig[code]!, served.sourceConfig);
      }
    }
    await writeFile(path.join(home, DEMO_SOURCES_FILE), JSON.stringify(sourceConfig, null, 2));

    const runtime = LakeRuntime.create({ overrides: { home, sources: sourceConfig }, events });
    const stages: RunSummary[] = [];
    try {
      for (const p of pipelines) {
        for (const stage of p.stages) {
          const { App } = await loadEntry(stage);
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
      for (const key of Object.keys({ ...(await import("../config/defaults.js")).DEFAULT_DATASETS, ...runtime.config.datasets })) {
        if (!codes.includes(key.split(".")[0]!)) continue;
        const id = runtime.dataset(key, false);
        if (publisher.countRows) published[id] = await publisher.countRows(id);
      }
      return { home, stages, catalog, published };
    } finally {
      await runtime.close();
    }
  } finally {
    for (const stop of stops) await stop();
  }
}
