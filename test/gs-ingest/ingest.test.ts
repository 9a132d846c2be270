import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ETLApp, parseOptions, runApp, type AppClass } from "../../src/support/etl-app.js";
import type { UpdateItem } from "../../src/support/last-update.js";
import { dayArchive, demoDevices, siteJson, unitDevice, type SimDevice } from "../../src/sources/gs/simulate.js";
import { inventoryOf, makeHarness, RAW, type Harness } from "./harness.js";
import gsSource from "../../src/sources/gs/source.js";

/** The declared stage's app class, to watch it from a subclass. */
const GsInsertLake = gsSource.stage("gs-insert-lake").App as unknown as typeof ConcreteApp;
abstract class ConcreteApp extends ETLApp {
  protected override async etlActivity(): Promise<number> {
    return 0;
  }
}

const [V8, V7, V4] = demoDevices({ vehiclesPerZonePerDay: 24, zonesPerDevice: 3 }) as [SimDevice, SimDevice, SimDevice];
const DAYS = ["2024-11-17", "2024-11-18", "2024-11-19", "2024-11-20"];
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("gs-insert-lake", () => {
  it("stores each device day's zip, one site file per base (today) and the unit data; a rerun adds nothing", async () => {
    h = await makeHarness({ devices: [V8, V4].map((device) => ({ device, days: DAYS })) });
    const s = await h.insert({ last_run_date: "0", start_date: "2024-11-17" });
    expect(s).toMatchObject({ processed: 6, failed: 0 });
    expect(h.keys(RAW)).toEqual([
      "2024/11/17/gs/Burnet_Richcreek_gs_2024-11-17.zip",
      "2024/11/17/gs/Congress_Oltorf&Live Oak_gs_2024-11-17.zip",
      "2024/11/18/gs/Burnet_Richcreek_gs_2024-11-18.zip",
      "2024/11/18/gs/Congress_Oltorf&Live Oak_gs_2024-11-18.zip",
      "2024/11/19/gs/Burnet_Richcreek_gs_2024-11-19.zip",
      "2024/11/19/gs/Congress_Oltorf&Live Oak_gs_2024-11-19.zip",
      "2024/11/20/gs/Austin_gs_2024-11-20_unit_data.json",
      "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json",
      "2024/11/20/gs/Congress_Oltorf&Live Oak_gs_2024-11-20_site.json",
    ]); // today (11-20) is not over: not fetched
    const site = await h.json(RAW, "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json");
    expect(Object.keys(site)).toEqual(["header", "site", "datetime", "hardware_info"]);
    expect(site.header).toEqual({
      data_type: "gs_site",
      target_filename: "Burnet_Richcreek_site_2024-11-20.json",
      collection_date: "2024-11-20 00:00:00-06:00",
      device_net_addr: V8.ip,
    });
    // datetime reduced to three keys; HostTimeUTC is this host's UTC clock (10:00 CST = 16:00 UTC).
    expect(site.datetime).toEqual({ DateTime: "11/20/2024 10:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "11/20/2024 04:00:00 PM" });
    expect(site.site.Location.Street1).toBe("Burnet");
    const ud = await h.json(RAW, "2024/11/20/gs/Austin_gs_2024-11-20_unit_data.json");
    expect(ud.header.data_type).toBe("gs_unit_data");
    expect(Object.keys(ud.devices[0])).toEqual(Object.keys(unitDevice(V8)));
    // Raw holds the archive untouched, byte for byte.
    expect((await h.storage.get(RAW, "2024/11/18/gs/Burnet_Richcreek_gs_2024-11-18.zip")).equals(Buffer.from(dayArchive(V8, "2024-11-18")))).toBe(true);
    const rows = [...h.catalog.rows.values()].filter((r) => r.id_ext === "zip");
    expect(rows).toHaveLength(6);
    const again = await h.insert({ last_run_date: "0", start_date: "2024-11-17" });
    expect(again).toMatchObject({ processed: 0, failed: 0 });
  });

  it("the raw site file writes the device's site answer as the original does (json.dumps of json.loads): 13.0 stays 13.0, 2^63-1 keeps its digits", async () => {
    const answer = JSON.stringify(siteJson(V8)).replace(/^\{/, '{"SiteVersion": 13.0, "Serial": 9223372036854775807, "Tiny": 1e-05, "Neg": -0.0, ');
    h = await makeHarness({ devices: [{ device: V8, days: DAYS.slice(0, 1), siteText: answer }] });
    expect(await h.insert({ last_run_date: "0", start_date: "2024-11-17" })).toMatchObject({ failed: 0 });
    const text = (await h.storage.get(RAW, "2024/11/20/gs/Burnet_Richcreek_gs_2024-11-20_site.json")).toString("utf8");
    expect(text).toContain('"site": {"SiteVersion": 13.0, "Serial": 9223372036854775807, "Tiny": 1e-05, "Neg": -0.0, "Id": "');
    expect(text).not.toContain("9223372036854775808");
  });

  it("filters the inventory: removed, no location, duplicate IP, -f regex; a null primary street does not crash (B17)", async () => {
    const inv = inventoryOf([V8, V7, V4]);
    const removed = { ...inv[0]!, device_ip: "10.0.0.1", device_status: " removed " };
    const noLoc = { ...inv[0]!, device_ip: "10.0.0.2", atd_location_id: "nan" };
    const dup = { ...inv[1]!, device_ip: ` ${V7.ip.toUpperCase()} ` };
    const nullStreet = { ...inv[2]!, primary_st: null };
    h = await makeHarness({ devices: [V8, V7, V4].map((device) => ({ device, days: DAYS })), inventory: [removed, noLoc, inv[0]!, inv[1]!, dup, nullStreet] });
    const all = await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(all).toMatchObject({ processed: 3, failed: 0 });
    expect(h.logs.some((l) => l.level === "warn" && /Device address .* is duplicated/.test(l.message))).toBe(true);
    const contacted = new Set(h.fake.requests.map((r) => r.split(" ")[0]));
    expect([...contacted].sort()).toEqual([V8.ip, V7.ip, V4.ip].sort());

    h.fake.requests.length = 0;
    const only = await h.insert({ start_date: "2024-11-18", end_date: "2024-11-18", name_filter: "LAMAR" });
    expect(only).toMatchObject({ processed: 1 });
    expect(new Set(h.fake.requests.map((r) => r.split(" ")[0]))).toEqual(new Set([V7.ip]));
    // "^_" matches the device whose primary street is null (street text "_ OLTORF ST / LIVE OAK ST" → "/" → "&").
    h.fake.requests.length = 0;
    await h.insert({ start_date: "2024-11-17", end_date: "2024-11-17", name_filter: "^_ OLTORF ST & LIVE" });
    expect(new Set(h.fake.requests.map((r) => r.split(" ")[0]))).toEqual(new Set([V4.ip]));
  });

  it("a device that times out is reported and the run goes on", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS, behaviour: { mode: "timeout" } }, { device: V4, days: DAYS }], sources: { timeoutMs: 1500 } });
    const s = await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(s.processed).toBe(1);
    expect(s.failed).toBe(1);
    expect(s.failures[0]!.item).toBe(`device ${V8.ip} (${unitDevice(V8).primary_st}_${unitDevice(V8).cross_st})`);
    expect(s.failures[0]!.error).toMatch(/no answer within 1500 ms \(sources.gs.timeoutMs\)/);
    expect(h.keys(RAW).filter((k) => k.endsWith(".zip"))).toEqual(["2024/11/19/gs/Congress_Oltorf&Live Oak_gs_2024-11-19.zip"]);
  });

  it("a counts list that never answers times out too (B17: no request without a timeout)", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS, behaviour: { mode: "timeout", routes: ["counts"] } }], sources: { timeoutMs: 1500 } });
    const s = await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    expect(s).toMatchObject({ processed: 0, failed: 1 });
    expect(s.failures[0]!.error).toMatch(/counts.json: no answer within/);
  });

  it("stores no site file when the day's counts download fails (B41), and leaves no temp file (B42)", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS, behaviour: { mode: "fail", status: 503, routes: ["bydate"] } }, { device: V4, days: DAYS }] });
    const leftovers: string[][] = [];
    class Watched extends GsInsertLake {
      protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
        try {
          return await super.innerLoopActivity(item);
        } finally {
          leftovers.push(readdirSync(await this.tempDir()));
        }
      }
    }
    const App = Watched as unknown as AppClass;
    const s = await runApp(App, parseOptions(App, { start_date: "2024-11-18", end_date: "2024-11-20" }), { runtime: h.runtime });
    expect(s).toMatchObject({ processed: 2, failed: 2 });
    expect(s.failures.map((f) => f.error).join("\n")).toMatch(/HTTP 503/);
    expect(h.keys(RAW).filter((k) => k.includes("Burnet"))).toEqual([]);
    expect(h.keys(RAW).filter((k) => k.includes("site.json"))).toEqual(["2024/11/20/gs/Congress_Oltorf&Live Oak_gs_2024-11-20_site.json"]);
    expect(leftovers).toHaveLength(4);
    for (const l of leftovers) expect(l).toEqual([]);
  });

  it("retries a failing device through the framework's retry policy", async () => {
    h = await makeHarness({ devices: [{ device: V8, days: DAYS, behaviour: { mode: "fail", status: 500, routes: ["site"] } }] });
    let calls = 0;
    const origin = h.fake;
    const tick = setInterval(() => {
      calls = origin.requests.filter((r) => r.endsWith("site.json")).length;
      if (calls >= 2) origin.setBehaviour(V8.ip, undefined);
    }, 5);
    (h.runtime.config as { retry: { retries: number; minTimeoutMs: number; maxTimeoutMs: number } }).retry = { retries: 5, minTimeoutMs: 20, maxTimeoutMs: 40 };
    const s = await h.insert({ start_date: "2024-11-19", end_date: "2024-11-19" });
    clearInterval(tick);
    expect(s).toMatchObject({ processed: 1, failed: 0 });
    expect(origin.requests.filter((r) => r.endsWith("site.json")).length).toBeGreaterThanOrEqual(3);
  });
});
