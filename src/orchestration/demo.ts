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
import { attachConsole } from "../cli/console.js";
import { Catalog } from "../support/catalog.js";
import { PURPOSES } from "../config/schema.js";
import { ConfigError } from "../support/errors.js";

export const DEMO_FROM = "2024-10-27";
export const DEMO_TO = "2024-11-10";

export interface DemoOptions {
  dir: string;
  sources?: string[];
  json?: boolean;
  /** Write progress lines here (default stderr). */
  quiet?: boolean;
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

export async function runDemo(opts: DemoOptions): Promise<number> {
  const events = new LakeEventBus();
  const detach = attachConsole(events, { quiet: Boolean(opts.json) });
  try {
    const result = await demo(opts, events);
    const failed = result.stages.reduce((n, s) => n + s.failed, 0);
    const processed = result.stages.reduce((n, s) => n + s.processed, 0);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({
          home: result.home,
          processed,
          skipped: result.stages.reduce((n, s) => n + s.skipped, 0),
          failed,
          stages: result.stages.map(({ plan: _p, ...s }) => s),
          catalog: result.catalog,
          published: result.published,
        })}\n`,
      );
    } else {
      const out = (s: string) => process.stdout.write(`${s}\n`);
      out(`\nDemo lake: ${result.home}`);
      out(`Window ${DEMO_FROM} up to ${DEMO_TO} (America/Chicago days; 2024-11-03 has 25 hours)\n`);
      out(`${"stage".padEnd(22)} ${"processed".padStart(9)} ${"skipped".padStart(8)} ${"failed".padStart(7)} ${"records".padStart(9)} ${"seconds".padStart(8)}`);
      for (const s of result.stages) {
        out(`${s.app.padEnd(22)} ${String(s.processed).padStart(9)} ${String(s.skipped).padStart(8)} ${String(s.failed).padStart(7)} ${String(s.records).padStart(9)} ${s.seconds.toFixed(2).padStart(8)}`);
        for (const f of s.failures.slice(0, 5)) out(`    FAILED ${f.item}: ${f.error}`);
      }
      out(`\nCatalog rows (source → repository → rows):`);
      for (const [code, repos] of Object.entries(result.catalog)) {
        out(`  ${code}: ${Object.entries(repos).map(([r, n]) => `${r} ${n}`).join(", ")}`);
      }
      out(`\nPublished datasets (CSV files under ${path.join(result.home, "published")}):`);
      for (const [id, n] of Object.entries(result.published)) out(`  ${id}: ${n} rows`);
      out(`\nTotal: ${processed} items processed, ${failed} failed.${processed === 0 ? " Nothing new: the lake is up to date." : " Run it again: nothing is new, so 0 items are processed."}`);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    detach();
  }
}
