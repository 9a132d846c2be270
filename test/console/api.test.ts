/**
 * The console's JSON API over real lakes: the demo lake (embedded default) with a failed day and a day deleted at
 * the destination by hand, and the same flows on PostgREST + PostgreSQL. Numbers are checked against the catalog,
 * perfmet and the publisher directly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleApp, startConsole } from "../../src/console/server.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { repairDay } from "../../src/orchestration/repair.js";
import { Catalog } from "../../src/support/catalog.js";
import { datasetTarget } from "../../src/support/kit.js";
import { parseDay } from "../../src/util/dates.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import type { ConsoleEnv } from "../../src/console/model.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import { BROKEN_DAY, FROM, PG_SERVICES, TO, breakDay, deletePublishedDay, demoLake, postgresLake } from "./lake.js";

const AUDIT_DAY = "2024-11-06";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function get(app: ReturnType<typeof consoleApp>, url: string, init?: RequestInit): Promise<{ status: number; body: Json; text: string }> {
  const res = await app.request(url, init);
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

async function catalogCount(runtime: LakeRuntime, code: string, purpose: "raw" | "standardized" | "ready" | "public", day?: string): Promise<number> {
  const catalog = new Catalog(await runtime.driver("catalog", false), code, { zone: runtime.zone });
  const q = day ? { early: parseDay(day, runtime.zone), exact: true } : {};
  return (await catalog.list(runtime.repository(purpose, false), q)).filter((e) => !e.ext.startsWith("unit_data")).length;
}

/** The flows both infrastructures share: a failed day, its gap, its run and rerun command. */
function sharedFlows(lake: () => { app: ReturnType<typeof consoleApp>; runtime: LakeRuntime; runs?: string }) {
  it("overview: every source's stages with their last run, the failure and the gap it left", async () => {
    const { app } = lake();
    const { status, body } = await get(app, "/api/overview");
    expect(status).toBe(200);
    const wt = body.sources.find((s: Json) => s.code === "wt");
    expect(wt.stages.map((s: Json) => s.stage)).toEqual(["wt-insert-lake", "wt-json-standard", "wt-ready", "wt-extract-soc"]);
    expect(wt.stages.every((s: Json) => s.lastRun !== null)).toBe(true);
    expect(wt.stages[1].lastRun.status).toBe("failed");
    expect(wt.failures7d).toBe(1);
    expect(wt.gaps).toBe(1);
    expect(wt.window).toEqual({ from: FROM, to: TO });
  });

  it("runs: items are what each run wrote in the catalog; the failed run names its item, error and rerun command", async () => {
    const { app, runtime } = lake();
    const { body } = await get(app, "/api/runs?source=wt&stage=wt-ready");
    const ready = body.runs.filter((r: Json) => r.items > 0);
    expect(ready).toHaveLength(1);
    expect(ready[0].items).toBe(await catalogCount(runtime, "wt", "ready"));
    expect(ready[0]).toMatchObject({ from: FROM, to: TO, status: "succeeded", error: null });

    const failed = await get(app, "/api/runs?source=wt&status=failed");
    expect(failed.body.runs).toHaveLength(1);
    const run = failed.body.runs[0];
    expect(run).toMatchObject({ stage: "wt-json-standard", status: "failed", items: 0, failures: 1 });
    const detail = await get(app, `/api/runs/${encodeURIComponent(run.id)}`);
    expect(detail.status).toBe(200);
    expect(detail.body.failureList).toHaveLength(1);
    expect(detail.body.failureList[0]).toMatchObject({ day: BROKEN_DAY, terminal: false, runs: 1 });
    expect(detail.body.failureList[0].error.length).toBeGreaterThan(0);
    expect(detail.body.rerun).toBe(`lake run wt-json-standard -s ${BROKEN_DAY} -e 2024-11-06`);

    const ok = await get(app, `/api/runs/${encodeURIComponent(ready[0].id)}`);
    expect(ok.body.rerun).toBe(`lake run wt-ready -s ${FROM} -e ${TO}`);
    expect(ok.body.written).toHaveLength(ready[0].items);

    // The day filter finds the runs that processed (or failed) a day.
    const ofDay = await get(app, `/api/runs?source=wt&stage=wt-json-standard&day=${BROKEN_DAY}${lake().runs ?? ""}`);
    expect(ofDay.body.runs.map((r: Json) => r.status).sort()).toEqual(["failed", "succeeded"]);
    expect((await get(app, "/api/runs/wt-ready@1")).status).toBe(404);
  });

  it("coverage: counts per day and layer from the catalog, the failed day a gap", async () => {
    const { app, runtime } = lake();
    const { body } = await get(app, "/api/coverage?source=wt");
    const wt = body.sources[0];
    expect(wt.applicable).toEqual(["raw", "standardized", "ready", "published"]);
    for (const d of wt.days) {
      expect(d.cells.raw.count).toBe(await catalogCount(runtime, "wt", "raw", d.day));
      expect(d.cells.ready.count).toBe(await catalogCount(runtime, "wt", "ready", d.day));
      expect(d.cells.published.count).toBe(await catalogCount(runtime, "wt", "public", d.day));
    }
    expect(wt.gaps).toEqual([{ day: BROKEN_DAY, layer: "standardized", status: "missing", count: 0, expected: 1 }]);
    expect(wt.stageOf.standardized).toBe("wt-json-standard");
    // Rows per cell: the published ones agree with the row ids the publish stage kept (the audit's lake side).
    const audited = new Map<string, number>((await get(app, "/api/audit?source=wt")).body.datasets[0].days.map((d: Json) => [d.day, d.lake]));
    const published = wt.days.filter((d: Json) => d.cells.published.count > 0);
    expect(published.length).toBeGreaterThan(10);
    for (const d of published) {
      expect(d.cells.published.rows, d.day).toBe(audited.get(d.day));
      expect(d.cells.ready.rows, d.day).toBe(d.cells.published.rows);
    }
  });

  it("devices: a reader the inventory does not list, the others healthy, a chart of 30 days from perfmet", async () => {
    const { app, runtime } = lake();
    const { body } = await get(app, "/api/devices?source=wt");
    const wt = body.sources[0];
    expect(wt.joined).toBe(true);
    const verdicts = Object.fromEntries(wt.devices.map((d: Json) => [d.sensor, d.verdict]));
    expect(verdicts).toEqual({ LAMARMANCHACA: "healthy", BURNETRUTLAND: "healthy", CONGRESSOLTORF: "healthy", LAMARBRAKER: "not in inventory" });
    const one = wt.devices.find((d: Json) => d.sensor === "BURNETRUTLAND");
    expect(one.perDay).toHaveLength(30);
    expect(one.perDay[29].day).toBe("2024-11-09");
    const perfmet = await runtime.driver("perfmet", false);
    const obs = await perfmet.readObs({ from: parseDay("2024-11-09", runtime.zone).toMillis(), to: parseDay(TO, runtime.zone).toMillis(), dataSource: "Wavetronix" });
    expect(one.perDay[29].rows).toBe(obs.find((o) => o.sensor_name === "BURNETRUTLAND")!.data);
    // Days before the pipeline ran have no number (not a zero).
    expect(one.perDay[0].rows).toBeNull();
  });

  it("refuses what it does not know: an injection attempt in a filter, unknown parameters, writes", async () => {
    const { app } = lake();
    for (const url of [
      "/api/runs?source=wt%27%20OR%201%3D1--",
      "/api/runs?stage=wt-ready%3BDROP%20TABLE%20data_lake_cat",
      "/api/runs?day=2024-11-05%27",
      "/api/runs?stage=bt-ready&source=wt",
      "/api/coverage?from=yesterday&to=2024-11-01",
      "/api/devices?sensor=x",
      "/api/runs?limit=0",
    ]) {
      const r = await get(app, url);
      expect(r.status, url).toBe(400);
      expect(r.body.error, url).toBeTruthy();
    }
    expect((await get(app, "/api/runs", { method: "POST" })).status).toBe(405);
    expect((await get(app, "/api/audit", { method: "DELETE" })).status).toBe(405);
  });
}

describe("console API on the demo lake", () => {
  let runtime: LakeRuntime;
  let env: ConsoleEnv;
  let app: ReturnType<typeof consoleApp>;
  let deleted = 0;
  beforeAll(async () => {
    ({ runtime } = await demoLake());
    await breakDay(runtime);
    deleted = await deletePublishedDay(runtime, AUDIT_DAY);
    env = { runtime, registry: await defaultRegistry(), debug: false };
    app = consoleApp(env);
  }, 120_000);
  afterAll(async () => {
    await runtime.close();
  });

  sharedFlows(() => ({ app, runtime }));

  it("audit: the day deleted at the destination shows its difference; every other day is equal", async () => {
    expect(deleted).toBeGreaterThan(0);
    const { body } = await get(app, "/api/audit?source=wt");
    const [wt] = body.datasets;
    const source = await env.registry.source("wt");
    const { target } = datasetTarget(source, "wt", runtime.config.datasets, false);
    expect(wt.dataset).toBe(target);
    for (const d of wt.days) expect(d.difference, d.day).toBe(d.day === AUDIT_DAY ? -deleted : 0);
    const publisher = await runtime.driver("publisher", false);
    expect(wt.destinationTotal).toBe(await publisher.countRows!(target));
    expect(wt.lakeTotal - deleted).toBe(wt.destinationTotal);
    // Bluetooth's and the counters' datasets are whole. (GRIDSMART's 15-minute aggregates are not compared here: on
    // the 25-hour fall-back day the repeated hour's rows share row ids, so the destination holds fewer.)
    const all = await get(app, "/api/audit");
    const others = all.body.datasets.filter((a: Json) => a.source === "bt" || a.source === "counters");
    expect(others.length).toBe(4);
    for (const a of others) expect(a.days.every((d: Json) => d.difference === 0), a.dataset).toBe(true);
    expect(others.every((a: Json) => a.lakeTotal > 0)).toBe(true);
  });

  it("devices: sensor silent when the pipeline ran and sent nothing; pipeline broken when no run processed the day", async () => {
    // A Wavetronix run that processed 2024-11-10 and observed nothing.
    const perfmet = await runtime.driver("perfmet", false);
    const start = parseDay(TO, runtime.zone);
    await perfmet.writeJob({ data_source: "Wavetronix", stage: "Standardize", seconds: 1, records: 0, processing_date: Date.now(), collection_start: start.toMillis(), collection_end: start.plus({ days: 1 }).toMillis() });
    const silent = (await get(app, "/api/devices?source=wt&to=2024-11-11")).body.sources[0];
    expect(silent.devices.filter((d: Json) => d.inInventory).map((d: Json) => d.verdict)).toEqual(["sensor silent", "sensor silent", "sensor silent"]);
    const broken = (await get(app, "/api/devices?source=wt&to=2024-11-12")).body.sources[0];
    const first = broken.devices.find((d: Json) => d.sensor === "LAMARMANCHACA");
    expect(first).toMatchObject({ verdict: "pipeline broken", why: "no run processed 2024-11-11" });
    expect(first.lastSeen).toMatch(/^2024-11-09T/);
  });

  it("token: with one set every request needs it, and it never appears in an answer", async () => {
    const token = "console-token-5f2a9c";
    const locked = consoleApp(env, { token, requireToken: true });
    expect((await get(locked, "/api/overview")).status).toBe(401);
    expect((await get(locked, "/api/overview", { headers: { authorization: "Bearer wrong-token-000" } })).status).toBe(401);
    const ok = await get(locked, "/api/overview", { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain(token);
    const once = await locked.request(`/runs?token=${token}`);
    expect(once.status).toBe(303);
    expect(once.headers.get("location")).toBe("/runs");
    const cookie = once.headers.get("set-cookie")!.split(";")[0]!;
    const page = await get(locked, "/runs", { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(token);
    expect(() => consoleApp(env, { requireToken: true })).toThrow(/LAKE_CONSOLE_TOKEN/);
    await expect(startConsole(env, { host: "0.0.0.0", port: 0 })).rejects.toThrow(/LAKE_CONSOLE_TOKEN/);
  });

  it("repair: refused without the token, without the confirmation and for unknown input; with them the deleted day is republished", async () => {
    const token = "console-token-7c1e0b";
    const repair = (source: string, day: string) => repairDay(runtime, env.registry, source, day);
    const body = JSON.stringify({ source: "wt", day: AUDIT_DAY });
    const post = (a: ReturnType<typeof consoleApp>, headers: Record<string, string>, b = body) =>
      get(a, "/api/repair", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: b });
    const confirm = { "x-lake-confirm": `repair wt ${AUDIT_DAY}` };
    // Without a token the console cannot change anything, even with a repair action given.
    const open = await post(consoleApp(env, { repair }), confirm);
    expect(open.status).toBe(403);
    expect(open.body.error).toMatch(/LAKE_CONSOLE_TOKEN/);
    const app2 = consoleApp(env, { token, repair });
    expect((await post(app2, confirm)).status).toBe(401);
    expect((await post(app2, { ...confirm, authorization: "Bearer wrong-token-000" })).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    const unconfirmed = await post(app2, auth);
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.error).toContain(`x-lake-confirm: repair wt ${AUDIT_DAY}`);
    expect((await post(app2, { ...auth, "x-lake-confirm": "repair wt 2024-11-07" })).status).toBe(400);
    expect((await post(app2, { ...auth, ...confirm }, JSON.stringify({ source: "nope", day: AUDIT_DAY }))).status).toBe(400);
    expect((await post(app2, { ...auth, ...confirm }, JSON.stringify({ source: "wt", day: "2024-11-06' OR 1=1" }))).status).toBe(400);
    expect((await post(app2, { ...auth, ...confirm }, "not json")).status).toBe(400);
    // Nothing was repaired by the refused requests.
    const before = (await get(app, "/api/audit?source=wt")).body.datasets[0].days.find((d: Json) => d.day === AUDIT_DAY);
    expect(before.difference).toBe(-deleted);
    const done = await post(app2, { ...auth, ...confirm });
    expect(done.status, done.text).toBe(200);
    expect(done.body.stages.map((s: Json) => [s.app, s.failed])).toEqual([["wt-extract-soc", 0]]);
    expect(done.text).not.toContain(token);
    const after = (await get(app, "/api/audit?source=wt")).body.datasets[0];
    expect(after.days.every((d: Json) => d.difference === 0)).toBe(true);
    // The audit page offers the action only with the token.
    expect((await get(app, "/audit")).text).not.toContain("data-repair");
  });
});

describeService(PG_SERVICES, "console API on PostgREST + PostgreSQL", () => {
  let runtime: LakeRuntime;
  let app: ReturnType<typeof consoleApp>;
  let runs = "";
  beforeAll(async () => {
    let runDay: string;
    ({ runtime, runDay } = await postgresLake());
    runs = `&from=${runDay}&to=${parseDay(runDay, runtime.zone).plus({ days: 1 }).toISODate()}`;
    await breakDay(runtime);
    const registry = await defaultRegistry();
    app = consoleApp({ runtime, registry: { codes: () => ["wt"], has: (c: string) => c === "wt", source: (c: string) => registry.source(c) } as never, debug: false });
  }, 180_000);
  afterAll(async () => {
    await runtime.close();
  });

  sharedFlows(() => ({ app, runtime, runs }));

  it("no driver credential reaches an answer", async () => {
    for (const url of ["/api/overview", "/api/runs", "/api/coverage", "/api/devices", "/api/audit", "/", "/runs", "/coverage", "/devices", "/audit"]) {
      const r = await get(app, url);
      expect(r.status, url).toBe(200);
      expect(r.text).not.toContain(serviceEnv("POSTGREST_JWT")!);
    }
  });
});
