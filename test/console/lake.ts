/**
 * Lakes for the console tests: the demo lake (embedded default) and a Wavetronix lake on PostgREST (catalog,
 * perfmet) + PostgreSQL (block store), plus the damage an operator meets: a day that failed and left a gap, and a
 * day whose published rows were deleted at the destination by hand.
 */
import { randomBytes, randomInt } from "node:crypto";
import { DateTime } from "luxon";
import path from "node:path";
import { tempDir } from "../core/helpers.js";
import { serviceEnv } from "../helpers/services.js";
import { demo } from "../../src/orchestration/demo.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { parseOptions, runApp } from "../../src/support/etl-app.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { Catalog } from "../../src/support/catalog.js";
import { datasetTarget } from "../../src/support/kit.js";
import { parsePublishedIds, publishedIdsKey } from "../../src/support/published-ids.js";
import { parseDay } from "../../src/util/dates.js";
import wt from "../../src/sources/wt/source.js";
import { PURPOSES } from "../../src/config/schema.js";
import type { RunSummary } from "../../src/support/events.js";

export const FROM = "2024-10-27";
export const TO = "2024-11-10";
/** The day the tests break. */
export const BROKEN_DAY = "2024-11-05";

export async function demoLake(): Promise<{ runtime: LakeRuntime; home: string }> {
  const home = tempDir("lake-console-");
  await demo({ dir: home });
  return { runtime: LakeRuntime.create({ overrides: { home }, env: {} }), home };
}

export const PG_SERVICES = ["POSTGREST_URL", "POSTGREST_JWT", "PG_URL"];

/** Wavetronix over two weeks on PostgREST + PostgreSQL, in repositories and a dataset of its own. */
export async function postgresLake(): Promise<{ runtime: LakeRuntime; home: string; runDay: string }> {
  const home = tempDir("lake-console-pg-");
  const tag = randomBytes(3).toString("hex");
  // Perfmet's tables are shared by every lake on the server: this lake's runs happen on a day of their own, years
  // ahead (a clock that ticks from there), so its run history can be told apart from other runs of Wavetronix.
  const runDay = DateTime.fromISO("2031-01-01", { zone: "America/Chicago" }).plus({ days: randomInt(0, 3000) });
  const startedAt = Date.now();
  const clock = () => runDay.toMillis() + 3_600_000 + (Date.now() - startedAt);
  const sourceConfig = await (await wt.loadDemo())!.simulate({ home, zone: "America/Chicago", from: FROM, to: TO });
  const repositories = Object.fromEntries(PURPOSES.map((p) => [p, { production: `console-${tag}-${p}`, debug: `console-${tag}-${p}-test` }]));
  const runtime = LakeRuntime.create({
    overrides: {
      home,
      sources: { wt: sourceConfig },
      unitdata: { driver: "local", options: { path: path.join(home, "sources", "inventory.json") } },
      repositories: { ...repositories, state: { production: `console-${tag}-state`, debug: `console-${tag}-state-test` } },
      datasets: { wt: { production: `c${tag.slice(0, 3)}-${tag.slice(2, 6)}`, debug: `c${tag.slice(0, 3)}-${tag.slice(2, 6)}-t` } },
      catalog: { driver: "postgrest", options: { url: serviceEnv("POSTGREST_URL")! } },
      perfmet: { driver: "postgrest", options: { url: serviceEnv("POSTGREST_URL")! } },
      blocks: { driver: "postgres", options: { connectionString: serviceEnv("PG_URL")! } },
    },
    env: { CATALOG_KEY: serviceEnv("POSTGREST_JWT")! },
    clock,
  });
  for (const stage of wt.stageNames) {
    const { App } = wt.stage(stage);
    await runApp(App, parseOptions(App, { start_date: FROM, end_date: TO }), { runtime });
  }
  return { runtime, home, runDay: runDay.toISODate()! };
}

/**
 * A Wavetronix day that fails: its raw CSV is replaced by one without the KITS columns and its standardized object
 * is gone, so wt-json-standard fails on it (a gap in "standardized" that links to the failed run).
 */
export async function breakDay(runtime: LakeRuntime, day = BROKEN_DAY): Promise<RunSummary> {
  const catalog = new Catalog(await runtime.driver("catalog", false), "wt", { zone: runtime.zone });
  const storage = await runtime.driver("storage", false);
  const date = parseDay(day, runtime.zone);
  const [raw] = await catalog.list(runtime.repository("raw", false), { early: date, exact: true });
  await storage.put(runtime.repository("raw", false), raw!.pointer, Buffer.from("this is not,a KITS export\n1,2\n"));
  const std = await catalog.list(runtime.repository("standardized", false), { early: date, exact: true });
  await catalog.delete(std);
  const { App } = wt.stage("wt-json-standard");
  return runApp(App, parseOptions(App, { start_date: day, end_date: day }), { runtime });
}

/** Deletes one day's published Wavetronix rows at the destination by hand (what the audit must show). */
export async function deletePublishedDay(runtime: LakeRuntime, day = BROKEN_DAY): Promise<number> {
  const source = await (await defaultRegistry()).source("wt");
  const { target } = datasetTarget(source, "wt", runtime.config.datasets, false);
  const catalog = new Catalog(await runtime.driver("catalog", false), "wt", { zone: runtime.zone });
  const [ready] = await catalog.list(runtime.repository("ready", false), { early: parseDay(day, runtime.zone), exact: true });
  const storage = await runtime.driver("storage", false);
  const { ids } = parsePublishedIds((await storage.get(runtime.stateRepository(false), publishedIdsKey(target, ready!.pointer))).toString("utf8"));
  const publisher = await runtime.driver("publisher", false);
  return publisher.delete(target, ids, source.datasets!.wt!.rowId);
}
