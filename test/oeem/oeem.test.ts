/**
 * OEEM (seed-systems §1, §6.1): entity fan-out with watermarks, the probe, run-numbered raw objects, parse/upload by
 * completion markers, and bad input, against the ESPI and datastore fakes on the embedded default.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { DateTime } from "luxon";
import oeem from "../../src/sources/oeem/source.js";
import { defaultCustomers, startDatastoreFake, startEspiFake, type DatastoreFake, type EspiFake, type FakeCustomer } from "../../src/sources/oeem/fakes.js";
import { entityBase, fetchBoundary, parseRunName, runName } from "../../src/support/entities.js";
import { readEspi } from "../../src/sources/oeem/espi.js";
import { Catalog } from "../../src/support/catalog.js";
import { testRuntime, tempDir } from "../core/helpers.js";
import type { LakeRuntime } from "../../src/support/runtime.js";

const LA = "America/Los_Angeles";
const T0 = DateTime.fromISO("2026-06-15T12:00:00", { zone: LA }).toMillis();
const DAY = 86_400_000;

describe("oeem: names and the fetch boundary", () => {
  it("run-numbered names escape underscores in ids and parse back", () => {
    const name = runName(["proj_A_1", "up_1%x/y"], 12, "xml");
    expect(name).toBe("proj%5FA%5F1_up%5F1%25x%2Fy_12.xml");
    expect(parseRunName(name)).toEqual({ parts: ["proj_A_1", "up_1%x/y"], run: 12, ext: "xml" });
    expect(parseRunName("no-run.xml")).toBeUndefined();
  });

  it("the boundary is the utility's end of day in its zone, lag days back, across DST (07:00 UTC in summer, 08:00 in winter)", () => {
    const policy = { zone: LA, endOfDay: "00:00", lagDays: 2, lookBackYears: 4 };
    expect(fetchBoundary(T0, policy).toUTC().toISO()).toBe("2026-06-13T07:00:00.000Z");
    expect(fetchBoundary(Date.parse("2026-01-15T20:00:00Z"), policy).toUTC().toISO()).toBe("2026-01-13T08:00:00.000Z");
    // Before the end-of-day time of the lagged day: the previous day's.
    expect(fetchBoundary(Date.parse("2026-06-15T10:00:00Z"), { ...policy, endOfDay: "06:00" }).toUTC().toISO()).toBe("2026-06-12T13:00:00.000Z");
    // The fall-back day: 00:00 on 2026-11-01 is still PDT.
    expect(fetchBoundary(Date.parse("2026-11-03T12:00:00Z"), policy).toUTC().toISO()).toBe("2026-11-01T07:00:00.000Z");
  });

  it("malformed XML names its line; a reading that cannot be read is reported with its line", () => {
    expect(() => readEspi("<feed>\n<entry>\n</feed>\n", "raw/x.xml")).toThrow(/raw\/x.xml: malformed ESPI XML at line 3/);
    const doc = readEspi(
      `<feed xmlns:espi="e">\n<entry><content><espi:IntervalBlock>\n<espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration><espi:start>100</espi:start></espi:timePeriod><espi:value>2</espi:value></espi:IntervalReading>\n<espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration><espi:start>3700</espi:start></espi:timePeriod><espi:value>x</espi:value></espi:IntervalReading>\n</espi:IntervalBlock></content></entry></feed>`,
      "f",
    );
    expect(doc.readings).toHaveLength(1);
    expect(doc.bad).toEqual([{ line: 4, reason: "value is not a number", text: "start=3700 duration=3600 value=x" }]);
  });
});

describe("oeem: the source end to end (fakes, embedded default)", () => {
  let runtime: LakeRuntime;
  let home: string;
  let espi: EspiFake;
  let store: DatastoreFake;
  let now: number;
  let reject: ((type: string, n: number) => boolean) | undefined;

  async function start(customers?: FakeCustomer[]) {
    home = tempDir();
    now = T0;
    espi = await startEspiFake({ clock: () => now, intervalSeconds: 86_400, since: "2015-01-01", ...(customers ? { customers } : {}) });
    store = await startDatastoreFake({ reject: (t, n) => reject?.(t, n) ?? false, refuseProjects: ["proj_refused"] });
    runtime = testRuntime(home, { clock: () => now });
    runtime.overrideSourceConfig("oeem", { auth: { url: espi.authUrl }, espi: { url: espi.espiUrl }, datastore: { url: store.url, batchSize: { consumption_record: 500 } } });
  }
  const run = (stage: string, extra: Record<string, unknown> = {}) => oeem.stage(stage).main({ last_run_date: "0", ...extra }, { runtime });
  const catalog = async () => new Catalog(await runtime.driver("catalog", false), "oeem", { zone: runtime.zone });
  const rows = async (purpose: "raw" | "standardized" | "ready") => (await catalog()).list(runtime.repository(purpose, false));
  const usageRequests = () => espi.requests.filter((r) => r.min && !r.path.endsWith("probe"));

  beforeEach(() => {
    reject = undefined;
  });
  afterEach(async () => {
    await runtime.close();
    await espi.stop();
    await store.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("first run fetches 4 years; a rerun with no new data creates nothing; a later run fetches exactly from the prior max reading", async () => {
    await start();
    const first = await run("fetch");
    // Three usage points: two fetched, the malformed one failed (entity and line named), the others unaffected.
    expect([first.processed, first.failed]).toEqual([2, 1]);
    expect(first.failures[0]!.error).toMatch(/proj_B_2\/up_2_elec \(ESPI answer\): malformed ESPI XML at line \d+/);
    const raw = await rows("raw");
    expect(raw.map((e) => e.pointer.split("/").pop()).sort()).toEqual(["proj%5FA%5F1_up%5F1%5Felec_0.xml", "proj%5FA%5F1_up%5F1%5Fgas_0.xml"]);
    const elec = raw.find((e) => e.base === entityBase(["proj_A_1", "up_1_elec"]))!;
    // 4 years back from the boundary (2026-06-13 00:00 Pacific), up to it.
    expect(elec.collectionDate.toUTC().toISO()).toBe("2022-06-13T07:00:00.000Z");
    const firstReq = usageRequests().find((r) => r.path.endsWith("up_1_elec"))!;
    expect([firstReq.min, firstReq.max]).toEqual(["2022-06-13T07:00:00.000Z", "2026-06-13T06:59:59.000Z"]);
    expect(elec.metadata).toMatchObject({ run: 0, parts: ["proj_A_1", "up_1_elec"], previous: "new" });
    const wm1 = elec.collectionEnd!;

    // Same day again: the probe vetoes both (nothing newer), nothing is written, no run number is taken.
    const before = espi.requests.length;
    const second = await run("fetch");
    expect([second.processed, second.skipped, second.failed]).toEqual([0, 2, 1]);
    expect(second.skipReasons).toMatchObject({ "no new data": 2 });
    expect(await rows("raw")).toHaveLength(2);
    expect(espi.requests.slice(before).filter((r) => r.min && r.path.includes("up_1_elec"))).toHaveLength(1); // the probe only

    // Three days later: the electric point fetches exactly from its max reading; gas stopped publishing: no new data.
    now += 3 * DAY;
    const third = await run("fetch");
    expect([third.processed, third.skipped]).toEqual([1, 1]);
    const req = usageRequests().filter((r) => r.path.endsWith("up_1_elec")).pop()!;
    expect(req.min).toBe(wm1.toUTC().toISO());
    const newest = (await rows("raw")).filter((e) => e.base === elec.base).pop()!;
    expect(newest.pointer.endsWith("proj%5FA%5F1_up%5F1%5Felec_1.xml")).toBe(true);
    expect(newest.collectionDate.toMillis()).toBe(wm1.toMillis());
  });

  it("parse/upload pick up only the objects lacking their markers; parents go first; a rerun adds no duplicates", async () => {
    await start();
    await run("fetch");
    expect((await run("parse")).processed).toBe(2);
    const up1 = await run("upload");
    expect([up1.processed, up1.failed]).toEqual([2, 0]);
    const order = store.batches.map((b) => b.type);
    expect(order.indexOf("project")).toBeLessThan(order.indexOf("consumption_metadata"));
    expect(order.indexOf("consumption_metadata")).toBeLessThan(order.indexOf("consumption_record"));
    const records = store.records.size;
    expect(records).toBeGreaterThan(1400); // 4 years of daily readings (electric) + gas up to its stop
    expect((await rows("ready")).map((e) => e.pointer.split("/").pop()).sort()).toEqual(["proj%5FA%5F1_up%5F1%5Felec_0.uploaded", "proj%5FA%5F1_up%5F1%5Fgas_0.uploaded"]);

    now += 3 * DAY;
    await run("fetch");
    expect((await run("parse")).processed).toBe(1);
    expect((await run("upload")).processed).toBe(1);
    expect(store.records.size).toBe(records + 3);
    expect([(await run("parse")).processed, (await run("upload")).processed]).toEqual([0, 0]);

    // A forced re-upload of everything sends the same rows again: upserts, no duplicates.
    expect((await run("upload", { force: true })).processed).toBe(3);
    expect(store.records.size).toBe(records + 3);
  });

  it("without state the watermark is inferred from the lake; concurrent allocators never share a run number", async () => {
    await start();
    await run("fetch");
    const cat = await catalog();
    const state = runtime.stateRepository(false);
    const marks = await cat.list(state, { ext: { like: "watermark:*" } });
    expect(marks).toHaveLength(2);
    await cat.delete(marks);
    const again = await run("fetch");
    expect([again.processed, again.skipped]).toEqual([0, 2]); // inferred: nothing new

    const { EntityState } = await import("../../src/support/entities.js");
    const { SqliteCatalog } = await import("../../src/drivers/catalog/sqlite.js");
    const file = `${home}/catalog.sqlite`;
    const allocators = [0, 1, 2].map(() => new EntityState(new Catalog(new SqliteCatalog(file), "oeem", { zone: LA }), state, "raw", "oeem-fetch"));
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => allocators[i % 3]!.allocateRun("e_1")));
    expect(new Set(got).size).toBe(30);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it("a fetch takes its entity's lease: one held elsewhere is skipped, an expired one taken over; two concurrent fetches leave no orphan object", async () => {
    await start();
    const { EntityState, FETCH_HELD } = await import("../../src/support/entities.js");
    const other = new EntityState(await catalog(), runtime.stateRepository(false), runtime.repository("raw", false), "oeem-fetch");
    const elec = entityBase(["proj_A_1", "up_1_elec"]);
    const held = await other.lease(elec, "another-host:42", runtime.realClock(), 3_600_000);
    expect("release" in held).toBe(true);
    const first = await run("fetch");
    expect([first.processed, first.skipped, first.failed]).toEqual([1, 1, 1]);
    expect(first.skipReasons).toMatchObject({ [FETCH_HELD]: 1 });
    expect((await rows("raw")).map((e) => e.base)).toEqual([entityBase(["proj_A_1", "up_1_gas"])]);
    expect(await other.lease(elec, "third", runtime.realClock(), 1_000)).toEqual({ holder: expect.stringMatching(/^another-host:42 until /) });
    await (held as { release(): Promise<void> }).release();
    expect((await run("fetch")).processed).toBe(1); // free again: fetched

    // A lease whose holder died (past its until) is taken over.
    now += 3 * DAY;
    await other.lease(elec, "crashed", runtime.realClock() - 7_200_000, 3_600_000);
    expect((await run("fetch")).processed).toBe(1);

    // Two fetches at once: each entity is fetched by one of them; every raw object has its catalog row.
    now += 3 * DAY;
    const both = await Promise.all([run("fetch"), run("fetch")]);
    expect(both[0]!.processed + both[1]!.processed).toBe(1); // gas stopped publishing: only elec is new
    const raw = await rows("raw");
    const { readdirSync } = await import("node:fs");
    const objects = readdirSync(`${home}/lake/${runtime.repository("raw", false)}`, { recursive: true }).map(String).filter((f) => f.endsWith(".xml"));
    expect(objects.map((f) => f.split("/").pop()).sort()).toEqual(raw.map((e) => e.pointer.split("/").pop()).sort());
    expect(raw.filter((e) => e.base === elec)).toHaveLength(3);
    expect(await (await catalog()).list(runtime.stateRepository(false), { ext: { like: "lease:*" } })).toEqual([]); // released
  });

  it("bad input: an empty usage point is 'no new data', a refused project's children are orphans, a rejected batch fails its item only", async () => {
    const customers: FakeCustomer[] = [
      ...defaultCustomers(() => T0, false),
      { id: "cust_3", project: "proj_refused", token: "tok-3-xyz", usagePoints: [{ id: "up_3", kind: 0 }, { id: "up_empty", kind: 0, empty: true }] },
    ];
    await start(customers);
    const f = await run("fetch");
    expect([f.processed, f.skipped, f.failed]).toEqual([4, 1, 0]);
    expect(await rows("raw")).toHaveLength(4);
    expect((await run("parse")).processed).toBe(4);

    // The datastore rejects the first record batch it gets: that item fails (type and batch named), the rest goes on.
    reject = (t, n) => t === "consumption_record" && n === 1;
    const up = await run("upload");
    expect([up.processed, up.failed]).toEqual([3, 1]);
    expect(up.failures[0]!.error).toMatch(/consumption_record batch 1 \(rows 1-500 of \d+\).*HTTP 400/);
    // proj_refused: "no project found" (null id) → its metadata and records are orphans, skipped and counted.
    expect(up.rowsLeftOut).toMatchObject({ "project refused by the datastore": 1, "orphan consumption_metadata (its parent has no datastore id)": 1 });
    expect(up.rowsLeftOut!["orphan consumption_record (its parent has no datastore id)"]).toBeGreaterThan(1400);
    expect(await rows("ready")).toHaveLength(3);

    reject = undefined;
    const before = store.records.size;
    const rerun = await run("upload");
    expect([rerun.processed, rerun.failed]).toEqual([1, 0]);
    const all = await rows("ready");
    expect(all).toHaveLength(4);
    // The re-sent item's rows: upserted, so the datastore holds each reading once.
    const perPoint = new Map<string, number>();
    for (const k of store.records.keys()) perPoint.set(k.split("/")[0]!, (perPoint.get(k.split("/")[0]!) ?? 0) + 1);
    expect(store.records.size).toBeGreaterThanOrEqual(before);
    expect([...perPoint.values()].every((n) => n <= 1462)).toBe(true);
  });

  it("a malformed raw object fails at parse with its file and line; a bad reading is quarantined with its line", async () => {
    await start();
    await run("fetch");
    const cat = await catalog();
    const raw = await rows("raw");
    const storage = await runtime.driver("storage", false);
    const bad = raw[0]!;
    await storage.put(runtime.repository("raw", false), bad.pointer, Buffer.from("<feed>\n<entry>\n</feed>\n"));
    const good = raw[1]!;
    const text = (await storage.get(runtime.repository("raw", false), good.pointer)).toString("utf8");
    await storage.put(runtime.repository("raw", false), good.pointer, Buffer.from(text.replace(/<espi:value>[^<]*<\/espi:value>/, "<espi:value>oops</espi:value>")));
    void cat;
    const p = await run("parse");
    expect([p.processed, p.failed]).toEqual([1, 1]);
    expect(p.failures[0]!.error).toMatch(new RegExp(`${bad.pointer.replace(/[.%]/g, "\\$&")}: malformed ESPI XML at line 3`));
    expect(p.rowsLeftOut).toMatchObject({ "quarantined: value is not a number": 1 });
  });
});
