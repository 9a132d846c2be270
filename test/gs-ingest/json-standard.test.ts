import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { zipSync } from "fflate";
import { afterEach, describe, expect, it } from "vitest";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import { DateTime } from "luxon";
import { demoDevices, zoneVehicles, type SimDevice } from "../../src/sources/gs/simulate.js";
import { pyStrEpochMs } from "../../src/util/dates.js";
import gsSource from "../../src/sources/gs/source.js";
import { makeHarness, RAW, STD, type Harness } from "./harness.js";

const READY = "atd-datalake-ready";
const gsReady = gsSource.stage("gs-ready").main;

const [V8, V7, V4] = demoDevices({ vehiclesPerZonePerDay: 24, zonesPerDevice: 3 }) as [SimDevice, SimDevice, SimDevice];
const DAYS = ["2024-11-16", "2024-11-17", "2024-11-18", "2024-11-19"];
const GOLDEN = path.join(import.meta.dirname, "../fixtures/gs/stage");
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Compares with a stored file; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, text: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, "utf8"));
}

function writes(hh: Harness, pattern: RegExp): string[] {
  const seen: string[] = [];
  hh.runtime.events.on("write", (e) => {
    if (pattern.test(e.key)) seen.push(e.key);
  });
  return seen;
}

describe("gs-json-standard", () => {
  it("one JSON per zone for each version and layout, site file copied, unit data once, observations per day", async () => {
    h = await makeHarness({ devices: [V8, V7, V4].map((device) => ({ device, days: DAYS })) });
    await h.insert({ start_date: "2024-11-16" });
    const unitWrites = writes(h, /unit_data/);
    const s = await h.standard({ last_run_date: "0", start_date: "2024-11-16" });
    expect(s).toMatchObject({ processed: 12, failed: 0 });
    const std = h.keys(STD);
    expect(std.filter((k) => k.endsWith(".json") && !/site|unit_data/.test(k))).toHaveLength(12 * 3);
    // Site file copied once per base, dated its own day; unit data copied once (B13), not per item.
    expect(std.filter((k) => k.includes("site.json"))).toEqual([
      "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json",
      "2024/11/20/gs/Congress_Oltorf&Live Oak_gs_2024-11-20_site.json",
      "2024/11/20/gs/Lamar_38th_gs_2024-11-20_site.json",
    ]);
    expect((await h.storage.get(STD, std.find((k) => k.includes("Burnet") && k.includes("site"))!)).equals(await h.storage.get(RAW, "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json"))).toBe(true);
    expect(unitWrites).toEqual(["2024/11/20/gs/Austin_gs_2024-11-20_unit_data.json"]);

    const guid = (V7.zones[0]!.id.match(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/) ?? []).slice(1).join("-");
    const v7key = `2024/11/18/gs/Lamar_38th_gs_2024-11-18_${guid}.json`;
    const v7text = (await h.storage.get(STD, v7key)).toString("utf8");
    golden("Lamar_38th_gs_2024-11-18_zone0.json", v7text);
    const v7 = JSON.parse(v7text);
    expect(Object.keys(v7.header)).toEqual(["data_type", "zip_name", "origin_filename", "target_filename", "collection_date", "processing_date", "version", "guid", "day_covered"]);
    expect(v7.header).toMatchObject({ zip_name: "Lamar_38th_gs_2024-11-18.zip", version: 7, guid, day_covered: -1 }); // clock 17 min fast
    expect(v7.data.every((r: { timestamp_adj?: string }) => typeof r.timestamp_adj === "string")).toBe(true);
    golden("Burnet_Richcreek_gs_2024-11-20_site.json", (await h.storage.get(RAW, "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json")).toString("utf8"));

    const covered = async (base: string) => (await h!.json(STD, std.find((k) => k.includes(`/${base}_gs_2024-11-17_`) && !k.includes("site"))!)).header.day_covered;
    expect(await covered("Burnet_Richcreek")).toBe(0);
    expect(await covered("Congress_Oltorf&Live Oak")).toBe(-1); // v4 files are UTC days

    // Perfmet: one observation per intersection per day (B30), data = vehicles with a device time.
    const obs = [...(h.perfmet.tables.get(h.perfmet.names.obs)?.values() ?? [])] as { sensor_name: string; collection_date: number; data: number }[];
    expect(obs).toHaveLength(12);
    expect(new Set(obs.map((o) => `${o.sensor_name}|${o.collection_date}`)).size).toBe(12);

    const again = await h.standard({ last_run_date: "0", start_date: "2024-11-16" });
    expect(again).toMatchObject({ processed: 0, failed: 0 });
  });

  it("a zip whose entry climbs out, a corrupt zip: that item fails with a message, the others go on", async () => {
    h = await makeHarness({
      devices: [
        { device: V8, days: DAYS, behaviour: { mode: "climbing-zip", routes: ["bydate"] } },
        { device: V7, days: DAYS, behaviour: { mode: "corrupt-zip", routes: ["bydate"] } },
        { device: V4, days: DAYS },
      ],
    });
    await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    const s = await h.standard({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(s).toMatchObject({ processed: 1, failed: 2 });
    const errors = s.failures.map((f) => `${f.item}: ${f.error}`).join("\n");
    expect(errors).toMatch(/Burnet_Richcreek\/zip\/2024-11-19: .*Burnet_Richcreek_gs_2024-11-19.zip: entry ".*\.\.\/tmp\/evil.csv" climbs out of the archive folder/);
    expect(errors).toMatch(/Lamar_38th\/zip\/2024-11-19: .*not a readable zip archive/);
    expect(h.keys(STD).filter((k) => /Burnet|Lamar/.test(k))).toEqual([]);
    expect([...h.catalog.rows.values()].filter((r) => r.repository === STD && /Burnet|Lamar/.test(r.id_base))).toEqual([]);
  });

  it("the site file is still copied when the base's first item of the run fails", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS }] });
    await h.insert({ start_date: "2024-11-18", end_date: "2024-11-20" });
    await h.storage.put(RAW, "2024/11/18/gs/Burnet_Richcreek_gs_2024-11-18.zip", Buffer.from("not a zip"));
    const s = await h.standard({ start_date: "2024-11-18", end_date: "2024-11-20" });
    expect(s).toMatchObject({ processed: 1, failed: 1 });
    expect(h.keys(STD).filter((k) => k.includes("site.json"))).toEqual(["2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json"]);
  });

  it("an unknown count version or empty zone files fail that item only (B14)", async () => {
    h = await makeHarness({ devices: [V8, V4].map((device) => ({ device, days: DAYS })) });
    await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    const enc = new TextEncoder();
    const mac = V8.mac.replace(/:/g, "-");
    await h.storage.put(RAW, "2024/11/19/gs/Burnet_Richcreek_gs_2024-11-19.zip", zipSync({ [`${mac}/2024-11-19/a.csv`]: enc.encode("9,23,1.5,-360\r\n") }));
    let s = await h.standard({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(s).toMatchObject({ processed: 1, failed: 1 });
    expect(s.failures[0]!.error).toMatch(/a.csv says count format version "9"; only versions 4, 7 and 8 are supported/);
    await h.storage.put(RAW, "2024/11/19/gs/Burnet_Richcreek_gs_2024-11-19.zip", zipSync({ [`${mac}/2024-11-19/a.csv`]: new Uint8Array(0) }));
    s = await h.standard({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(s).toMatchObject({ processed: 0, failed: 1 });
    expect(s.failures[0]!.error).toMatch(/every zone file is empty/);
  });

  it("B43: a device on daylight time read in summer gets delta ≈ 0 and day_covered 0", async () => {
    const summer = ["2024-07-08", "2024-07-09"];
    h = await makeHarness({ devices: [{ device: V8, days: summer }], now: "2024-07-10T10:00:00-05:00" });
    await h.insert({ start_date: "2024-07-08" });
    const site = await h.json(RAW, "2024/07/10/gs/Burnet_Richcreek_gs_2024-07-10_site.json");
    expect(site.datetime).toMatchObject({ DateTime: "7/10/2024 10:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)" });
    await h.standard({ start_date: "2024-07-08" });
    expect(h.logs.some((l) => /Burnet_Richcreek_gs_2024-07-09.zip: v8 type A, 3 zones, \d+ vehicles, day_covered 0, clock delta 0 s/.test(l.message))).toBe(true);
    const zones = h.keys(STD).filter((k) => k.includes("2024-07-09_") && !k.includes("site"));
    for (const k of zones) {
      const z = await h.json(STD, k);
      expect(z.header.day_covered).toBe(0);
      for (const r of z.data) expect(r.timestamp_adj.startsWith("2024-07-09 ")).toBe(true);
    }
  });

  it("the fall-back day: 25 hours of one device day, both offsets, day_covered 0 for every zone (B44)", async () => {
    h = await makeHarness({ devices: [{ device: { ...V8, vehiclesPerZonePerDay: 400 }, days: ["2024-11-02", "2024-11-03", "2024-11-04"] }] });
    await h.insert({ start_date: "2024-11-02" });
    await h.standard({ start_date: "2024-11-02" });
    const keys = h.keys(STD).filter((k) => k.startsWith("2024/11/03/") && !k.includes("site"));
    expect(keys).toHaveLength(3);
    const offsets = new Set<string>();
    for (const k of keys) {
      const z = await h.json(STD, k);
      expect(z.header.day_covered).toBe(0);
      for (const r of z.data) {
        expect(r.timestamp_adj.startsWith("2024-11-03 ")).toBe(true);
        offsets.add(r.timestamp_adj.slice(-6));
        if (r.timestamp_adj.slice(11, 13) === "01") offsets.add(`01${r.timestamp_adj.slice(-6)}`);
      }
    }
    expect([...offsets].sort()).toEqual(["-05:00", "-06:00", "01-05:00", "01-06:00"]);
  });

  it("unit data goes to standardized once per change (B13), dated its own day", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS }], now: "2024-11-18T10:00:00-06:00" });
    await h.insert({ start_date: "2024-11-16" }); // stores unit data dated 11-18 (days 16, 17)
    const later = new LakeRuntime(h.runtime.config, h.dir, { storage: h.storage, catalog: h.catalog, perfmet: h.perfmet, unitdata: { driverName: "t", devices: async () => h!.inventory } }, { clock: fixedClock("2024-11-20T10:00:00-06:00"), events: h.runtime.events });
    const { main } = (await import("../../src/sources/gs/source.js")).default.stage("gs-insert-lake");
    await main({ start_date: "2024-11-16" }, { runtime: later }); // days 18, 19 and unit data dated 11-20
    const unitWrites = writes(h, /unit_data/);
    const s = await h.standard({ start_date: "2024-11-16", end_date: "2024-11-20" });
    expect(s.processed).toBe(4);
    expect(unitWrites).toEqual(["2024/11/18/gs/Austin_gs_2024-11-18_unit_data.json", "2024/11/20/gs/Austin_gs_2024-11-20_unit_data.json"]);
  });
});

describe("gs-json-standard and gs-ready: clocks and site files across the DST windows", () => {
  /** True instants of a device's vehicles in local day D (every zone counts: 3 zones, all IncludeInData). */
  function trueVehicles(dev: SimDevice, d: string): number[] {
    const from = DateTime.fromISO(d, { zone: "America/Chicago" });
    const out: number[] = [];
    dev.zones.forEach((_, i) => out.push(...zoneVehicles(dev, i, from.toMillis(), from.plus({ days: 1 }).toMillis()).map((v) => v.ms)));
    return out.sort((a, b) => a - b);
  }

  async function readyTimes(hh: Harness, base: string, d: string): Promise<number[]> {
    const c = await hh.json(READY, `${d.replace(/-/g, "/")}/gs/${base}_gs_${d}_counts.json`);
    return (c.counts as { timestamp_adj: string }[]).map((r) => pyStrEpochMs(r.timestamp_adj)!).sort((a, b) => a - b);
  }

  it("a clock kept at -06:00 all year under the Central label is exact on every day of the March window; no day is skipped", async () => {
    const fixed: SimDevice = { ...V8, followsDst: false, vehiclesPerZonePerDay: 40 };
    h = await makeHarness({ devices: [{ device: fixed, days: ["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11"] }], now: "2024-03-12T10:00:00-05:00" });
    await h.insert({ start_date: "2024-03-08" });
    const site = await h.json(RAW, "2024/03/12/gs/Burnet_Richcreek_gs_2024-03-12_site.json");
    // Read during daylight time, the clock shows 9:00 (its -06:00), not the 10:00 of Central daylight time.
    expect(site.datetime).toEqual({ DateTime: "3/12/2024 9:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "03/12/2024 03:00:00 PM" });
    expect(await h.standard({ start_date: "2024-03-08" })).toMatchObject({ processed: 4, failed: 0 });
    for (const d of ["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11"]) {
      expect(h.logs.some((l) => l.message.includes(`Burnet_Richcreek_gs_${d}.zip:`) && l.message.includes("clock delta 0 s"))).toBe(true);
    }
    const covered = async (d: string) => (await h!.json(STD, h!.keys(STD).find((k) => k.includes(`_gs_${d}_`) && !/site|unit_data/.test(k))!)).header.day_covered;
    // Its day starts at 00:00 -06:00: at local midnight in standard time, an hour after it in daylight time (03-11).
    expect([await covered("2024-03-09"), await covered("2024-03-10"), await covered("2024-03-11")]).toEqual([0, 0, 1]);
    const ready = await gsReady({ start_date: "2024-03-09", end_date: "2024-03-12" }, { runtime: h.runtime });
    expect(ready).toMatchObject({ processed: 3, failed: 0, skipReasons: {} });
    for (const d of ["2024-03-09", "2024-03-10", "2024-03-11"]) {
      const got = await readyTimes(h, "Burnet_Richcreek", d);
      const want = trueVehicles(fixed, d);
      expect(got.length, d).toBe(want.length);
      // Each vehicle at its true instant (the device writes hundredths, the lake keeps tenths).
      expect(got.every((ms, i) => Math.abs(ms - want[i]!) <= 60), d).toBe(true);
    }
  });

  it("November days use the November site file, not March's; every raw site file reaches standardized; a far one warns", async () => {
    const dev: SimDevice = { ...V8, driftSeconds: 0, vehiclesPerZonePerDay: 30 };
    h = await makeHarness({ devices: [{ device: dev, days: ["2024-03-10", "2024-03-11"] }], now: "2024-03-12T10:00:00-05:00", sources: { siteFileHorizonDays: 3 } });
    await h.insert({ start_date: "2024-03-10" });
    // By November the clock has drifted 40 s ahead; the device is read again on 2024-11-06.
    dev.driftSeconds = 40;
    h.fake.setDays(dev.ip, ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04", "2024-11-05"]);
    h.at("2024-11-06T10:00:00-06:00");
    await h.insert({ start_date: "2024-11-01" });
    // A site file captured later, nearest to none of the days (put there as another ingest would).
    const late = "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json";
    await h.storage.put(RAW, late, await h.storage.get(RAW, "2024/11/06/gs/Burnet_Richcreek_gs_2024-11-06_site.json"));
    const lateDay = DateTime.fromISO("2024-11-20", { zone: "America/Chicago" }).toMillis();
    await h.catalog.upsert([{ repository: RAW, data_source: "gs", id_base: "Burnet_Richcreek", id_ext: "site.json", pointer: late, collection_date: lateDay, collection_end: null, processing_date: lateDay, metadata: null }]);

    const s = await h.standard({ start_date: "2024-03-01" });
    expect(s).toMatchObject({ processed: 7, failed: 0 });
    const delta = (d: string) => h!.logs.find((l) => l.message.startsWith(`Burnet_Richcreek_gs_${d}.zip:`))?.message.match(/clock delta (-?\d+) s/)?.[1];
    expect(["2024-03-10", "2024-03-11"].map(delta)).toEqual(["0", "0"]);
    expect(["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04", "2024-11-05"].map(delta)).toEqual(["-40", "-40", "-40", "-40", "-40"]);
    expect(h.keys(STD).filter((k) => k.includes("site.json"))).toEqual([
      "2024/03/12/gs/Burnet_Richcreek_gs_2024-03-12_site.json",
      "2024/11/06/gs/Burnet_Richcreek_gs_2024-11-06_site.json",
      late,
    ]);
    const far = h.logs.filter((l) => l.level === "warn" && l.message.includes("siteFileHorizonDays")).map((l) => l.message);
    expect(far).toEqual([
      "Burnet_Richcreek: the site file dated 2024-11-06 is the nearest there is for 2 days 2024-11-01 to 2024-11-02, 4-5 days away (more than sources.gs.siteFileHorizonDays = 3); its zones and clock reading were used",
    ]);
    // The November vehicles are at their true instants once gs-ready has stitched the days.
    expect(await gsReady({ start_date: "2024-11-02", end_date: "2024-11-05" }, { runtime: h.runtime })).toMatchObject({ processed: 3, failed: 0 });
    const got = await readyTimes(h, "Burnet_Richcreek", "2024-11-03");
    const want = trueVehicles(dev, "2024-11-03");
    expect(got.length).toBe(want.length);
    expect(got.every((ms, i) => Math.abs(ms - want[i]!) <= 60)).toBe(true);
    // A rerun copies nothing again.
    const siteWrites = writes(h, /site\.json/);
    expect(await h.standard({ start_date: "2024-03-01" })).toMatchObject({ processed: 0, failed: 0 });
    expect(siteWrites).toEqual([]);
  });
});
