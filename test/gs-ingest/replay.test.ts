/**
 * GRIDSMART and the two clocks: the device clock is compared with the host's real time of the request, whatever
 * clock the lake runs on (a replay with LAKE_CLOCK), and a device answer that cannot be read fails that device's
 * days for a later run instead of losing their times.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { secondAlignmentDelay } from "../../src/sources/gs/device-fake.js";
import { demoDevices, type SimDevice } from "../../src/sources/gs/simulate.js";
import gsSource from "../../src/sources/gs/source.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { makeHarness, RAW, STD, type Harness } from "./harness.js";

const READY = "atd-datalake-ready";
const gsReady = gsSource.stage("gs-ready").main;
// Traffic like the demo's (a few vehicles in every hour of the night): the day's rows then show what kind of clock
// each device has on the DST-change day, whenever it was read.
const [V8, V7, V4] = demoDevices({ vehiclesPerZonePerDay: 300, zonesPerDevice: 3 }) as [SimDevice, SimDevice, SimDevice];
const FIXED: SimDevice = { ...V8, ip: "10.66.1.31", street1: "Fixed", street2: "Clock", followsDst: false, driftSeconds: 7, atdDeviceId: 6131, locationId: "LOC16-000931", seed: 44 };
const DAYS = ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04"];
const NIGHT = "2024-11-05T09:00:00-06:00";

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

/** Ingest, standardize and ready for the November window on the lake clock NIGHT; the host's real time realNow. */
async function night(realNow?: string) {
  const h = await makeHarness({ devices: [V8, V7, V4, FIXED].map((device) => ({ device, days: DAYS })), now: NIGHT, ...(realNow ? { realNow } : {}) });
  harnesses.push(h);
  expect(await h.insert({ start_date: DAYS[0] })).toMatchObject({ processed: 16, failed: 0 });
  expect(await h.standard({ start_date: DAYS[0] })).toMatchObject({ processed: 16, failed: 0 });
  // 2024-11-04 of the two clocks ahead of local midnight (v7 17 minutes fast, v4 on UTC days) waits for 11-05's file.
  expect(await gsReady({ start_date: "2024-11-02", end_date: "2024-11-05" }, { runtime: h.runtime })).toMatchObject({ processed: 10, skipped: 2, failed: 0 });
  const zones = new Map<string, string>();
  for (const k of h.keys(STD)) if (!/site|unit_data/.test(k)) zones.set(k, (await h.storage.get(STD, k)).toString("utf8"));
  const counts = new Map<string, unknown>();
  for (const k of h.keys(READY)) counts.set(k, (await h.json(READY, k)).counts);
  const site = await h.json(RAW, "2024/11/05/gs/Burnet_Richcreek_gs_2024-11-05_site.json");
  return { zones, counts, datetime: site.datetime };
}

describe("GRIDSMART with an injected clock", () => {
  it("a replay gives the outputs of a run at that time, and two replays are identical (real time of the request)", async () => {
    const atThatTime = await night();
    const summerReplay = await night("2026-07-15T17:00:00Z");
    const winterReplay = await night("2027-01-20T17:00:00Z");
    // The site file records what happened: the device read now, beside the host's real time then.
    expect(atThatTime.datetime).toEqual({ DateTime: "11/5/2024 9:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "11/05/2024 03:00:00 PM" });
    expect(summerReplay.datetime).toEqual({ DateTime: "7/15/2026 12:00:00 PM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "07/15/2026 05:00:00 PM" });
    expect(atThatTime.zones.size).toBe(4 * 4 * 3);
    // Every standardized zone file byte for byte (headers are dated by the lake's clock), every ready row.
    for (const replay of [summerReplay, winterReplay]) {
      expect([...replay.zones.keys()]).toEqual([...atThatTime.zones.keys()]);
      for (const [k, text] of atThatTime.zones) expect(replay.zones.get(k), k).toBe(text);
      expect(replay.counts).toEqual(atThatTime.counts);
    }
    expect(atThatTime.counts.size).toBe(10);
  });

  it("LAKE_CLOCK moves the lake's clock only: the real clock stays the host's", () => {
    const home = mkdtempSync(path.join(tmpdir(), "lake-gs-clock-"));
    try {
      const runtime = LakeRuntime.create({ overrides: { home }, env: { LAKE_CLOCK: NIGHT } });
      expect(runtime.clock()).toBeLessThan(Date.parse("2024-11-06T00:00:00Z"));
      expect(Math.abs(runtime.realClock() - Date.now())).toBeLessThan(60_000);
      const plain = LakeRuntime.create({ overrides: { home }, env: {} });
      expect(Math.abs(plain.clock() - plain.realClock())).toBeLessThan(60_000);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("the device fake holds a clock answer back only when its second is about to end", () => {
    expect(secondAlignmentDelay(Date.parse("2024-11-05T15:00:00.000Z"))).toBe(0);
    expect(secondAlignmentDelay(Date.parse("2024-11-05T15:00:00.849Z"))).toBe(0);
    expect(secondAlignmentDelay(Date.parse("2024-11-05T15:00:00.900Z"))).toBe(101);
    expect(secondAlignmentDelay(Date.parse("2024-11-05T15:00:00.999Z"))).toBe(2);
  });
});

describe("GRIDSMART answers that cannot be read", () => {
  it("a garbage datetime.json fails that device's days, which the next run ingests once the device answers", async () => {
    const h = await makeHarness({ devices: [{ device: V8, days: DAYS, behaviour: { mode: "garbage", routes: ["datetime"] } }, { device: V4, days: DAYS }], now: NIGHT });
    harnesses.push(h);
    const s = await h.insert({ start_date: DAYS[0] });
    expect(s).toMatchObject({ processed: 4, failed: 1 });
    expect(s.failures[0]!.item).toMatch(new RegExp(`^device ${V8.ip.replace(/\./g, "\\.")} `));
    expect(s.failures[0]!.error).toMatch(/datetime\.json: datetime\.DateTime "13\/45\/2024 99:99:99 XM" is not a device time .*; the device's days are not ingested \(retried on the next run\)/);
    expect(h.keys(RAW).filter((k) => k.includes("Burnet"))).toEqual([]);
    h.fake.setBehaviour(V8.ip, undefined);
    expect(await h.insert({ start_date: DAYS[0] })).toMatchObject({ processed: 4, failed: 0 });
    const std = await h.standard({ start_date: DAYS[0] });
    expect(std).toMatchObject({ processed: 8, failed: 0 });
    expect(h.logs.filter((l) => l.level === "warn" && /dropped/.test(l.message))).toEqual([]);
  });

  it("a stored site file without a readable clock fails its days (retried), and writes no zone file without times", async () => {
    const h = await makeHarness({ devices: [{ device: V8, days: DAYS }], now: NIGHT });
    harnesses.push(h);
    await h.insert({ start_date: DAYS[0] });
    const key = "2024/11/05/gs/Burnet_Richcreek_gs_2024-11-05_site.json";
    const good = await h.storage.get(RAW, key);
    const site = JSON.parse(good.toString("utf8"));
    await h.storage.put(RAW, key, Buffer.from(JSON.stringify({ ...site, datetime: { DateTime: "garbage", TimeZoneId: site.datetime.TimeZoneId, HostTimeUTC: site.datetime.HostTimeUTC } })));
    const bad = await h.standard({ start_date: DAYS[0] });
    expect(bad).toMatchObject({ processed: 0, failed: 4 });
    expect(bad.failures[0]!.error).toMatch(new RegExp(`the device clock of site file atd-datalake-raw/${key} cannot be read \\(datetime.DateTime "garbage" is not a device time`));
    expect(h.keys(STD).filter((k) => !/unit_data|site/.test(k))).toEqual([]);
    await h.storage.put(RAW, key, good);
    expect(await h.standard({ start_date: DAYS[0] })).toMatchObject({ processed: 4, failed: 0 });
  });
});
