/**
 * The source kit: what a declared stage gets from the kit without writing it (compare loop, reading, writing,
 * catalog rows, counting, perfmet, the publish sequence, grouping), on memory drivers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import { createMemoryPublisher, type MemoryPublisher } from "../../src/drivers/publisher/memory.js";
import { defineSource, defineStage, validateWith, type StageContext } from "../../src/support/kit.js";
import { SourceRegistry } from "../../src/support/registry.js";
import { TerminalError } from "../../src/support/errors.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import type { UnitDataDriver } from "../../src/support/drivers.js";
import { testRuntime, tempDir } from "./helpers.js";

const ZONE = "America/Chicago";
const day = (d: string) => DateTime.fromISO(d, { zone: ZONE });
const DAYS = ["2024-11-02", "2024-11-03", "2024-11-04"];

interface KtConfig {
  failDay?: string;
  skipDay?: string;
  /** Rows of the join stage that break a rule, quarantined. */
  quarantineDay?: string;
}

/** Behaviour steered per test. */
const steer: { failPublishDay?: string; recordSkipDay?: string; idScheme?: string; rowsPerItem?: number; makeError?: string } = {};

const kt = defineSource<KtConfig>({
  code: "kt",
  name: "Kit Test",
  datasets: { kt: { production: "kt-rows", debug: "kt-rows-test", rowId: "id" } },
  devices: { type: "KT", keys: ["device_type", "name"] },
  stages: [
    defineStage<KtConfig>({
      kind: "ingest",
      name: "make",
      description: "kt: two objects a day (a and b)",
      perfmet: "Ingest",
      to: "raw",
      compareOn: "base+ext",
      storesInventory: true,
      items: (ctx) => ctx.providers.list(() => DAYS.flatMap((d) => ["a", "b"].map((base) => ({ base, ext: "txt", date: day(d), payload: d, label: `${base}-${d}` })))),
      process(item, ctx) {
        if (item.provItem.payload === ctx.config.failDay && item.base === "b") throw new TerminalError(steer.makeError ?? `bad input for ${item.label}`);
        ctx.observe(item.base, "Made", { observation: 1, collectionDate: item.date });
        return { ext: "txt", body: `${item.base} ${item.date.toISODate()}\n1\n2\n`, rows: 2 };
      },
    }),
    defineStage<KtConfig>({
      kind: "transform",
      name: "join",
      description: "kt: the objects of a day and base, as one unit",
      perfmet: "Ready",
      from: "raw",
      to: "ready",
      compareOn: "base",
      groupBy: "base",
      select: { ext: "txt" },
      processGroup(group, ctx) {
        if (group.date.toISODate() === ctx.config.skipDay) return ctx.skip("skipped on purpose");
        if (group.date.toISODate() === ctx.config.quarantineDay) {
          ctx.quarantine({ reason: "volume out of range", file: group.items[0]!.label, line: 3, field: "volume", value: -5 });
          ctx.quarantine({ reason: "volume out of range", line: 9, field: "volume", value: 1e20 });
          ctx.quarantine({ reason: "time outside the day", line: 4, text: "2023-01-01 00:00:00,1,2" });
        }
        return { ext: "json", json: { base: group.base, items: group.items.length }, rows: group.items.length };
      },
    }),
    defineStage<KtConfig>({
      kind: "publish",
      name: "publish",
      description: "kt: ready → rows",
      perfmet: "Publish",
      from: "ready",
      compareOn: "base+ext",
      dataset: "kt",
      *rows({ item, body }, ctx) {
        if (item.date.toISODate() === steer.recordSkipDay) {
          ctx.skip("not publishable", { record: { why: "test" } });
          return;
        }
        const doc = JSON.parse(body.toString("utf8")) as { base: string; items: number };
        const id = (k: number) => `${steer.idScheme ?? ""}${doc.base}-${item.date.toISODate()}${k ? `-${k + 1}` : ""}`;
        yield [{ id: id(0), n: doc.items }];
        if (item.date.toISODate() === steer.failPublishDay) throw new TerminalError("publisher went away mid-item");
        yield Array.from({ length: (steer.rowsPerItem ?? 2) - 1 }, (_, k) => ({ id: id(k + 1), n: doc.items }));
      },
    }),
  ],
});

describe("the source kit", () => {
  let runtime: LakeRuntime;
  let catalog: MemoryCatalog;
  let publisher: MemoryPublisher;
  let perfmet: MemoryPerfmet;
  const inventoryCalls: unknown[] = [];
  const unitdata: UnitDataDriver = {
    driverName: "test",
    async devices(request) {
      inventoryCalls.push(request);
      return [{ device_type: "KT", name: "one" }];
    },
  };
  const run = (stage: string, args: Record<string, unknown> = {}) =>
    kt.stage(stage).main({ start_date: "2024-11-01", end_date: "2024-11-06", ...args }, { runtime });

  beforeEach(() => {
    catalog = new MemoryCatalog();
    publisher = createMemoryPublisher();
    perfmet = new MemoryPerfmet();
    inventoryCalls.length = 0;
    steer.failPublishDay = undefined;
    steer.recordSkipDay = undefined;
    steer.idScheme = undefined;
    steer.rowsPerItem = undefined;
    steer.makeError = undefined;
    runtime = testRuntime(tempDir(), { drivers: { catalog, storage: new MemoryStorage(), publisher, perfmet, unitdata } });
  });
  afterEach(() => runtime.close());

  it("names stages <code>-<name>, finds them through the registry, and refuses unknown ones with the known list", async () => {
    expect(kt.stageNames).toEqual(["kt-make", "kt-join", "kt-publish"]);
    const registry = new SourceRegistry({ kt: async () => ({ default: kt }) });
    expect((await registry.stage("kt-join")).decl.name).toBe("join");
    await expect(registry.stage("kt-nope")).rejects.toThrow(/stages of kt: kt-make, kt-join, kt-publish/);
    await expect(registry.stage("zz-make")).rejects.toThrow(/Unknown stage "zz-make" \(known: kt-make, kt-join, kt-publish\)/);
    expect(() => defineSource({ code: "Bad-Code", name: "x", stages: [] })).toThrow(/lower-case letters and digits/);
  });

  it("ingest: writes each output with its catalog row, counts rows, stores the inventory once, writes observations", async () => {
    const s = await run("make");
    expect(s).toMatchObject({ processed: 6, failed: 0, records: 12 });
    expect(inventoryCalls).toEqual([{ dataSource: "kt", deviceType: "KT", keys: ["device_type", "name"] }]);
    const raw = catalogRows(catalog, "atd-datalake-raw");
    expect(raw.filter((r) => r.id_ext === "txt")).toHaveLength(6);
    expect(raw.filter((r) => r.id_ext === "unit_data.json")).toHaveLength(1);
    const obs = await perfmet.readObs({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(obs.map((o) => `${o.sensor_name}/${o.data_source}`).sort()).toEqual(["a/Kit Test", "a/Kit Test", "a/Kit Test", "b/Kit Test", "b/Kit Test", "b/Kit Test"]);
    const again = await run("make");
    expect(again).toMatchObject({ processed: 0, skipped: 6, records: 0 });
  });

  it("an item's observations and quarantine are written before its own catalog row (a kill between cannot lose them: a rerun skips a done item)", async () => {
    const order: string[] = [];
    class LoggedCatalog extends MemoryCatalog {
      override async upsert(records: Parameters<MemoryCatalog["upsert"]>[0]): Promise<void> {
        for (const e of records) order.push(`catalog ${e.repository} ${e.id_base} ${e.id_ext}`);
        return super.upsert(records);
      }
    }
    class LoggedPerfmet extends MemoryPerfmet {
      override async writeObs(rows: Parameters<MemoryPerfmet["writeObs"]>[0]): Promise<void> {
        for (const r of rows) order.push(`obs ${r.sensor_name} ${r.data_type}`);
        return super.writeObs(rows);
      }
    }
    catalog = new LoggedCatalog();
    perfmet = new LoggedPerfmet();
    await runtime.close(); // this test's runtime: with the logging drivers
    runtime = testRuntime(tempDir(), { drivers: { catalog, storage: new MemoryStorage(), publisher, perfmet, unitdata } });
    expect(await run("make", { end_date: "2024-11-03" })).toMatchObject({ processed: 2 });
    const made = order.filter((l) => / a txt$| a Made$/.test(l));
    expect(made).toEqual(["obs a Made", "catalog atd-datalake-raw a txt"]);
    order.length = 0;
    await kt.stage("join").main({ start_date: "2024-11-01", end_date: "2024-11-03" }, { runtime: withSource(runtime, { quarantineDay: "2024-11-02" }) });
    const joined = order.filter((l) => l.includes(" a "));
    expect(joined.indexOf("catalog atd-datalake-ready a json")).toBeGreaterThan(-1);
    expect(joined.indexOf("obs a Quarantined rows: volume out of range")).toBeLessThan(joined.indexOf("catalog atd-datalake-ready a json"));
    expect(joined.findIndex((l) => /quarantine/.test(l) && l.startsWith("catalog"))).toBeLessThan(joined.indexOf("catalog atd-datalake-ready a json"));
    withSource(runtime, {});
  });

  it("a failing item leaves no catalog row and no observation; the others go on; a rerun redoes only it", async () => {
    const s = await kt.stage("make").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) });
    expect(s.failed).toBe(1);
    expect(s.failures[0]!.error).toMatch(/bad input for b-2024-11-03/);
    const raw = (catalogRows(catalog, "atd-datalake-raw")).filter((r) => r.id_ext === "txt");
    expect(raw.map((r) => `${r.id_base}`).length).toBe(5);
    const obs = await perfmet.readObs({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(obs).toHaveLength(5);
    withSource(runtime, {});
    const rerun = await run("make");
    expect(rerun).toMatchObject({ processed: 1, skipped: 5, failed: 0 });
  });

  it("grouped transform: one unit per (day, base) on the first run and on the rerun; skips counted in that unit", async () => {
    await run("make");
    const first = await kt.stage("join").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { skipDay: "2024-11-04" }) });
    expect(first).toMatchObject({ processed: 4, skipped: 2, failed: 0 });
    expect(first.skipReasons).toEqual({ "skipped on purpose": 2 });
    const rerun = await kt.stage("join").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { skipDay: "2024-11-04" }) });
    expect(rerun).toMatchObject({ processed: 0, skipped: 6 });
    expect(rerun.skipReasons).toEqual({ "already done": 4, "skipped on purpose": 2 });
  });

  it("publish: rows go out in order, the day's catalog row only after they did; a failure mid-item records nothing", async () => {
    await run("make");
    await run("join");
    steer.failPublishDay = "2024-11-03";
    const s = await run("publish");
    expect(s).toMatchObject({ processed: 4, failed: 2 });
    const published = (catalogRows(catalog, "socrata")).map((r) => `${r.id_base}/${new Date(r.collection_date).toISOString().slice(0, 10)}`);
    expect(published).toHaveLength(4);
    expect(published.some((p) => p.includes("2024-11-03"))).toBe(false);
    expect(await publisher.countRows("kt-rows")).toBe(8);
    steer.failPublishDay = undefined;
    const rerun = await run("publish");
    expect(rerun).toMatchObject({ processed: 2, skipped: 4, failed: 0, records: 4 });
    expect(await publisher.countRows("kt-rows")).toBe(12);
  });

  it("publish: a skip with a record is remembered in the public catalog and not retried; -F retries it", async () => {
    await run("make");
    await run("join");
    steer.recordSkipDay = "2024-11-02";
    const s = await run("publish");
    expect(s).toMatchObject({ processed: 4, skipped: 2 });
    const markers = (catalogRows(catalog, "socrata")).filter((r) => r.metadata && "skipped" in r.metadata);
    expect(markers.map((m) => m.metadata)).toEqual([
      { skipped: "not publishable", why: "test" },
      { skipped: "not publishable", why: "test" },
    ]);
    expect(markers.every((m) => m.pointer === "kt-rows")).toBe(true);
    expect(await run("publish")).toMatchObject({ processed: 0, skipped: 6 });
    steer.recordSkipDay = undefined;
    expect(await run("publish", { force: true })).toMatchObject({ processed: 6, failed: 0 });
  });

  it("republishing replaces: rows the new version no longer has are deleted (fewer rows, a new id scheme), none duplicated", async () => {
    await run("make");
    await run("join");
    steer.rowsPerItem = 3;
    await run("publish");
    const ids = () => publisher.rows("kt-rows").map((r) => String(r.id)).sort();
    expect(ids()).toHaveLength(18);
    // The fixed source yields two rows per item: a forced rerun leaves exactly those.
    steer.rowsPerItem = 2;
    const fewer = await run("publish", { force: true });
    expect(fewer).toMatchObject({ processed: 6, failed: 0, records: 12 });
    expect(ids()).toHaveLength(12);
    expect(ids().some((id) => id.endsWith("-3"))).toBe(false);
    // A new row-id scheme: the old rows go, the count stays.
    steer.idScheme = "v2:";
    await run("publish", { force: true });
    expect(ids()).toHaveLength(12);
    expect(ids().every((id) => id.startsWith("v2:"))).toBe(true);
    // Simulated: nothing deleted, the deletes planned.
    steer.idScheme = "v3:";
    const planned = await run("publish", { force: true, simulate: true });
    expect(ids().every((id) => id.startsWith("v2:"))).toBe(true);
    expect(planned.plan!.filter((p) => p.kind === "publish" && p.detail.startsWith("delete"))).toHaveLength(6);
  });

  it("a new row-id scheme version: the old version's rows are deleted before the new go up; the version is kept with the publication", async () => {
    const calls: string[] = [];
    const logged = {
      ...publisher,
      upsert: (...a: Parameters<MemoryPublisher["upsert"]>) => (calls.push(`upsert ${a[1].map((r) => r.id).join(",")}`), publisher.upsert(...a)),
      delete: (...a: Parameters<MemoryPublisher["delete"]>) => (calls.push(`delete ${a[1].join(",")}`), publisher.delete(...a)),
    };
    runtime = testRuntime(tempDir(), { drivers: { catalog, storage: new MemoryStorage(), publisher: logged, perfmet, unitdata } });
    await run("make");
    await run("join");
    await run("publish");
    const ids = () => publisher.rows("kt-rows").map((r) => String(r.id)).sort();
    expect(ids()).toHaveLength(12);
    const declared = kt.datasets!.kt!;
    try {
      // The new scheme makes ids that partly coincide with the old ones ("a-…" stays, "-2" rows get a new form).
      declared.rowIdVersion = 2;
      steer.idScheme = "";
      steer.rowsPerItem = 1;
      calls.length = 0;
      const r = await run("publish", { force: true });
      expect(r).toMatchObject({ processed: 6, failed: 0 });
      // Per item: every id of the old version deleted first (also the one the new version makes again), then the upsert.
      const first = calls.findIndex((c) => c.startsWith("upsert"));
      expect(calls[first - 1]).toMatch(/^delete (a|b)-2024-11-0\d,(a|b)-2024-11-0\d-2$/);
      expect(calls.filter((c) => c.startsWith("delete"))).toHaveLength(6);
      expect(ids()).toHaveLength(6);
      const published = catalogRows(catalog, runtime.repository("public", false));
      expect(published.map((e) => (e.metadata as { rowIdVersion?: number } | null)?.rowIdVersion)).toEqual(Array(6).fill(2));
      // Same version again: the ordinary sequence (upsert, then only the ids no longer made are deleted: none).
      calls.length = 0;
      await run("publish", { force: true });
      expect(calls.filter((c) => c.startsWith("delete"))).toEqual([]);
      expect(ids()).toHaveLength(6);
    } finally {
      delete declared.rowIdVersion;
    }
  });

  it("an item failing the same way on 3 runs is failed-terminal: later runs skip it and succeed; a fix of its source or -F retries it", async () => {
    const fail = () => kt.stage("make").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) });
    const first = await fail();
    expect(first.failures).toEqual([{ item: "b/txt/2024-11-03", error: "bad input for b-2024-11-03" }]);
    expect((await fail()).failed).toBe(1);
    const third = await fail();
    expect(third.failures).toEqual([{ item: "b/txt/2024-11-03", error: "bad input for b-2024-11-03", terminal: true }]);
    const marker = catalogRows(catalog, "atd-datalake-state").find((r) => r.id_ext === "failed:kt-make:txt")!;
    expect(marker.metadata).toMatchObject({ stage: "kt-make", runs: 3, terminal: true, error: "bad input for b-2024-11-03" });
    const fourth = await fail();
    expect(fourth).toMatchObject({ processed: 0, failed: 0 });
    expect(Object.keys(fourth.skipReasons).some((r) => r.startsWith("failed the same way on 3 runs (terminal)"))).toBe(true);
    // -F tries it again (and it fails again); once the input is fixed, a forced run clears the record.
    expect((await kt.stage("make").main({ start_date: "2024-11-03", end_date: "2024-11-03", force: true }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) })).failed).toBe(1);
    const fixed = await kt.stage("make").main({ start_date: "2024-11-03", end_date: "2024-11-03", force: true }, { runtime: withSource(runtime, {}) });
    expect(fixed).toMatchObject({ processed: 2, failed: 0 });
    expect(catalogRows(catalog, "atd-datalake-state").filter((r) => r.id_ext.startsWith("failed:"))).toEqual([]);
  });

  it("a different failure restarts the count: only the same failure on consecutive runs is terminal", async () => {
    await kt.stage("make").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) });
    await kt.stage("make").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) });
    steer.makeError = "a different problem";
    const third = await kt.stage("make").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { failDay: "2024-11-03" }) });
    expect(third.failures[0]!.terminal).toBeUndefined();
    expect(catalogRows(catalog, "atd-datalake-state")[0]!.metadata).toMatchObject({ runs: 1, terminal: false });
  });

  it("quarantined rows: counted by reason, written with where and why beside the day, in perfmet, never an item of a later stage", async () => {
    await run("make");
    const s = await kt.stage("join").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime: withSource(runtime, { quarantineDay: "2024-11-03" }) });
    expect(s).toMatchObject({ processed: 6, failed: 0 });
    expect(s.rowsLeftOut).toEqual({ "quarantined: volume out of range": 4, "quarantined: time outside the day": 2 });
    const q = catalogRows(catalog, "atd-datalake-ready").filter((r) => r.id_ext.endsWith(".quarantine.json"));
    expect(q.map((r) => r.pointer).sort()).toEqual(["2024/11/03/kt/a_kt_2024-11-03_day.quarantine.json", "2024/11/03/kt/b_kt_2024-11-03_day.quarantine.json"]);
    const doc = JSON.parse((await runtime.driver("storage", false).then((d) => d.get("atd-datalake-ready", q[0]!.pointer))).toString("utf8"));
    expect(doc.header).toMatchObject({ stage: "kt-join", rows: 3 });
    expect(doc.rows).toEqual([
      { reason: "volume out of range", file: expect.stringContaining("2024-11-03"), line: 3, field: "volume", value: -5 },
      { reason: "volume out of range", line: 9, field: "volume", value: 1e20 },
      { reason: "time outside the day", line: 4, text: "2023-01-01 00:00:00,1,2" },
    ]);
    const obs = await perfmet.readObs({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(obs.filter((o) => o.data_type.startsWith("Quarantined rows")).map((o) => `${o.sensor_name} ${o.data_type} ${o.data}`).sort()).toEqual([
      "a Quarantined rows: time outside the day 1",
      "a Quarantined rows: volume out of range 2",
      "b Quarantined rows: time outside the day 1",
      "b Quarantined rows: volume out of range 2",
    ]);
    // The publish stage reads the ready layer: the quarantine objects are not items; its rerun is a no-op.
    const pub = await run("publish");
    expect(pub).toMatchObject({ processed: 6, failed: 0 });
    expect(await publisher.countRows("kt-rows")).toBe(12);
    expect((await kt.stage("join").main({ start_date: "2024-11-01", end_date: "2024-11-06" }, { runtime })).processed).toBe(0);
  });

  it("simulation writes nothing anywhere and plans what it would write", async () => {
    const s = await run("make", { simulate: true });
    expect(s.processed).toBe(6);
    expect(s.plan!.filter((p) => p.kind === "storage")).toHaveLength(7);
    expect(catalogRows(catalog, "atd-datalake-raw")).toHaveLength(0);
    expect(await perfmet.readObs({ from: 0, to: Number.MAX_SAFE_INTEGER })).toHaveLength(0);
  });

  it("validates the source's settings with its schema (Standard Schema), naming every issue", () => {
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (v: unknown) =>
          typeof (v as { dir?: unknown }).dir === "string"
            ? { value: v as { dir: string } }
            : { issues: [{ message: "expected a folder", path: ["dir"] }, { message: "unknown key", path: [{ key: "extra" }] }] },
      },
    };
    expect(validateWith(schema, { dir: "x" }, "sources.kt")).toEqual({ dir: "x" });
    expect(() => validateWith(schema, {}, "sources.kt")).toThrow("sources.kt.dir: expected a folder; sources.kt.extra: unknown key");
  });
});

function catalogRows(catalog: MemoryCatalog, repository: string) {
  return [...catalog.rows.values()].filter((r) => r.repository === repository);
}

/** The runtime with sources.kt replaced for one run. */
function withSource(runtime: LakeRuntime, settings: KtConfig): LakeRuntime {
  runtime.overrideSourceConfig("kt", settings as Record<string, unknown>);
  return runtime;
}

export type { StageContext };
