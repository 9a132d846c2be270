import { readFileSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { pyJson } from "../../src/util/pyjson.js";
import { parsePyJson } from "../../src/util/pyjson-parse.js";
import { clockCorrection, readDeviceClock, readTimeZoneLabel, type DeviceClockReading } from "../../src/sources/gs/clock.js";
import { detectVersion, roundHalfEven, standardizeDay, wallTime, zoneJson, type StandardizeInput, type ZoneOutput } from "../../src/sources/gs/standardize.js";
import type { GsRow } from "../../src/sources/gs/types.js";
import type { ZoneCsv } from "../../src/sources/gs/zip.js";

const FIX = path.join(import.meta.dirname, "../fixtures/gs");
const ZONE = "America/Chicago";
const day = DateTime.fromISO("2019-06-01", { zone: ZONE });
const processed = DateTime.fromISO("2019-06-02T08:00:14.469", { zone: ZONE });
const csv = (guid: string, text: string): ZoneCsv => ({ guid, filename: `${guid}.csv`, path: `mac/2019-06-01/${guid}.csv`, data: Buffer.from(text) });
const fixture = (name: string) => readFileSync(path.join(FIX, name), "utf8");
const json = (z: ZoneOutput) => zoneJson(z).toString("latin1");
/** The rows of a zone output, read back from its JSON. */
const rows = (z: ZoneOutput) => (parsePyJson(json(z)) as { data: GsRow[] }).data;

/** The documentation's site clock: an Eastern device read at 2:32:13 AM while the host said 06:34:06 UTC. */
const EASTERN = { DateTime: "6/3/2019 2:32:13 AM", TimeZoneId: "(UTC-05:00) Eastern Time (US & Canada)", HostTimeUTC: "06/03/2019 06:34:06 AM" };
const CENTRAL_NTP = { DateTime: "6/2/2019 8:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "06/02/2019 01:00:00 PM" };

function input(over: Partial<StandardizeInput>): StandardizeInput {
  return {
    zones: [],
    base: "Burnet_Richcreek",
    day,
    zipName: "Burnet_Richcreek_gs_2019-06-01.zip",
    processingDate: processed,
    siteDateTime: EASTERN,
    zone: ZONE,
    toleranceMinutes: 5,
    where: "test.zip",
    ...over,
  };
}

describe("GRIDSMART standardization (golden files)", () => {
  it("v8: column types, clock correction in the zone's real offset, tenths carry, dropped rows", () => {
    const r = standardizeDay(input({ zones: [csv("2c6dff02-cb0c-4da0-adc5-28dd1946df40", fixture("v8-zone.csv"))] }));
    expect(r.version).toBe(8);
    const z = r.zones[0]!;
    const text = json(z);
    expect(text).toBe(fixture("v8-standardized.json").trim());
    // Written from the CSV bytes, it is what json.dumps writes of the values it holds.
    expect(pyJson(parsePyJson(text))).toBe(text);
    // Row 4 has no utc_offset: dropped and counted (like the original).
    expect(r.dropped).toEqual({ "utc_offset is missing": 1 });
    expect(r.perf.count).toBe(3);
    // delta: host 06:34:06Z − device 02:32:13 EDT (06:32:13Z) = +113 s (the original read -05:00 and got −58:07, B43).
    expect(r.correction!.deltaMs).toBe(113_000);
  });

  it("v4: UTC timestamps with microseconds, count_version int, missing value → null in a float column", () => {
    const r = standardizeDay(
      input({ zones: [csv("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", fixture("v4-zone.csv"))], base: "Congress_Oltorf", zipName: "Congress_Oltorf_gs_2019-06-01.zip", siteDateTime: CENTRAL_NTP }),
    );
    const z = r.zones[0]!;
    expect(json(z)).toBe(fixture("v4-standardized.json").trim());
    expect(pyJson(parsePyJson(json(z)))).toBe(json(z));
    expect(r.correction!.deltaMs).toBe(0);
  });

  it("v7 gets timestamp_adj like v8 (fixes B14's missing times)", () => {
    const r = standardizeDay(input({ zones: [csv("a", "7,21,120000.5,-300,S,12,30,G,1.5,0,88\r\n")], siteDateTime: CENTRAL_NTP }));
    expect(r.version).toBe(7);
    expect(rows(r.zones[0]!)[0]).toMatchObject({ confidence: 88, timestamp_adj: "2019-06-01 12:00:00.500000-05:00" });
    expect(r.dayCovered).toBe(0);
  });

  it("without a usable site clock the day fails with a message naming the site file (retried; no rows dropped)", () => {
    const zones = [csv("a", "8,23,18.6,-300,S,10,42,G,2.0,1,126.08,0.0,42,39\r\n")];
    expect(() => standardizeDay(input({ zones, siteDateTime: undefined, siteWhere: "raw/site.json" }))).toThrow(
      /test.zip: the device clock of site file raw\/site.json cannot be read \(there is no datetime .*\), so the day's times cannot be corrected; the day is left for a later run/,
    );
    expect(() => standardizeDay(input({ zones, siteDateTime: { ...EASTERN, TimeZoneId: "Central" } }))).toThrow(/datetime.TimeZoneId "Central" does not start with "\(UTC±HH:MM\)"/);
    expect(() => standardizeDay(input({ zones, siteDateTime: { ...EASTERN, DateTime: "garbage" } }))).toThrow(/datetime.DateTime "garbage" is not a device time/);
    expect(() => standardizeDay(input({ zones, siteDateTime: { ...EASTERN, HostTimeUTC: 7 as unknown as string } }))).toThrow(/datetime.HostTimeUTC is not text \(7\)/);
  });

  it("an unknown version or only empty files fail with a clear message (B14: not the run)", () => {
    expect(() => detectVersion([csv("a", "9,1,2\r\n")], "x.zip")).toThrow(/x.zip: a.csv says count format version "9"; only versions 4, 7 and 8/);
    expect(() => detectVersion([csv("a", ""), csv("b", "\r\n")], "x.zip")).toThrow(/every zone file is empty/);
    expect(detectVersion([csv("a", ""), csv("b", "4,1\r\n")], "x.zip")).toBe(4);
  });

  it("a quoted CSV (valid, though devices do not write one) reads the same as a plain one", () => {
    const plain = standardizeDay(input({ zones: [csv("a", "7,21,120000.5,-300,S,12,30,G,1.5,0,88\r\n")], siteDateTime: CENTRAL_NTP }));
    const quoted = standardizeDay(input({ zones: [csv("a", '7,21,"120000.5",-300,"S",12,30,"G",1.5,0,88\r\n')], siteDateTime: CENTRAL_NTP }));
    expect(json(quoted.zones[0]!)).toBe(json(plain.zones[0]!));
    const odd = standardizeDay(input({ zones: [csv("a", '7,21,120000.5,-300,"S, \u00e9",12,30,G,1.5,0,88\r\n')], siteDateTime: CENTRAL_NTP }));
    expect(json(odd.zones[0]!)).toContain('"turn": "S, \\u00e9"');
  });

  it("an empty zone file next to others is written with no rows", () => {
    const r = standardizeDay(input({ zones: [csv("a", "7,21,120000.5,-300,S,12,30,G,1.5,0,88\r\n"), csv("b", "")], siteDateTime: CENTRAL_NTP }));
    expect(r.zones.map((z) => [z.guid, rows(z).length])).toEqual([["a", 1], ["b", 0]]);
    expect(json(r.zones[1]!)).toMatch(/"guid": "b", "day_covered": 0\}, "data": \[\]\}$/);
  });

  it("the row rules get each row's line in the zone file (blank lines and CRLF counted as the file's lines), not its row index", () => {
    const row = "7,21,120000.5,-300,S,12,30,G,1.5,0,88";
    const seen: number[] = [];
    const rules = () => ({ active: true, accept: (_v: (c: number) => unknown, where: { line?: number }) => (seen.push(where.line!), where.line !== 4) });
    const r = standardizeDay(input({ zones: [csv("a", `${row}\r\n\r\n${row}\r\n${row}\r\n\r\n${row}\r\n`)], siteDateTime: CENTRAL_NTP, rules }));
    expect(seen).toEqual([1, 3, 4, 6]);
    expect(rows(r.zones[0]!)).toHaveLength(3);
  });

  it("a row with more fields than the version has is an error naming file and line", () => {
    expect(() => standardizeDay(input({ zones: [csv("a", "7,21,120000.5,-300,S,12,30,G,1.5,0,88\r\n7,21,1,-300,S,12,30,G,1.5,0,88,99\r\n")] }))).toThrow(
      /mac\/2019-06-01\/a.csv: line 2 has 12 fields, the v7 format has 11/,
    );
  });
});

describe("GRIDSMART time rules", () => {
  it("tenths: half-even on the binary float like Python, 10 tenths carry to the next second (B45)", () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven((105452.25 % 1) * 10)).toBe(2);
    // Same binary arithmetic as Python: round((x % 1) * 10) for 105452.05 → 1, 0.05 → 0, 12.35 → 3, 1.45 → 4.
    expect(roundHalfEven((105452.05 % 1) * 10)).toBe(1);
    expect(roundHalfEven((0.05 % 1) * 10)).toBe(0);
    expect(roundHalfEven((12.35 % 1) * 10)).toBe(3);
    expect(roundHalfEven((1.45 % 1) * 10)).toBe(4);
    const base = Date.UTC(2019, 5, 1);
    expect(wallTime(base, 105452.97, -300)).toEqual({ wallMs: base + (10 * 3600 + 54 * 60 + 53) * 1000, offsetMin: -300, micros: 0 });
    expect(wallTime(base, 235959.99, -300)).toEqual({ wallMs: base + 86_400_000, offsetMin: -300, micros: 0 });
    expect(wallTime(base, 246000, -300)).toMatchObject({ error: expect.stringMatching(/not a time of day/) });
  });

  it("reads the device clock in the offset it shows (B43): a daylight-time device has delta ≈ 0, a fixed one too", () => {
    const read = (dt: Parameters<typeof readDeviceClock>[0]): DeviceClockReading => {
      const r = readDeviceClock(dt);
      if ("error" in r) throw new Error(r.error);
      return r.ok;
    };
    const central = "(UTC-06:00) Central Time (US & Canada)";
    const summer = clockCorrection(read({ DateTime: "7/10/2024 10:00:05 AM", TimeZoneId: central, HostTimeUTC: "07/10/2024 03:00:00 PM" }));
    expect(summer).toEqual({ deltaMs: -5000, captureOffsetMin: -300, deviceZone: "America/Chicago", decidedBy: "reading" });
    // The same label on a clock kept at -06:00 all year: 9:00:05 while the host says 15:00 UTC.
    const fixed = clockCorrection(read({ DateTime: "7/10/2024 9:00:05 AM", TimeZoneId: central, HostTimeUTC: "07/10/2024 03:00:00 PM" }));
    expect(fixed).toEqual({ deltaMs: -5000, captureOffsetMin: -360, deviceZone: "UTC-06:00", decidedBy: "reading" });
    // Half an hour off, the reading is unclear: the rows' utc_offset decide (here: -360 on a daylight-time day).
    const unclear = read({ DateTime: "7/10/2024 9:30:00 AM", TimeZoneId: central, HostTimeUTC: "07/10/2024 03:00:00 PM" });
    expect(clockCorrection(unclear, { daylight: 0, fixed: 12 })).toMatchObject({ deltaMs: -30 * 60_000, captureOffsetMin: -360, decidedBy: "rows" });
    expect(clockCorrection(unclear, { daylight: 12, fixed: 0 })).toMatchObject({ deltaMs: 30 * 60_000, captureOffsetMin: -300, decidedBy: "rows" });
    // In standard time both kinds agree: the label decides; the rows still say which zone the data day followed.
    const winter = read({ DateTime: "1/10/2024 9:00:00 AM", TimeZoneId: central, HostTimeUTC: "01/10/2024 03:00:00 PM" });
    expect(clockCorrection(winter)).toEqual({ deltaMs: 0, captureOffsetMin: -360, deviceZone: "America/Chicago", decidedBy: "label" });
    expect(clockCorrection(winter, { daylight: 0, fixed: 3 }).deviceZone).toBe("UTC-06:00");
    expect(readTimeZoneLabel(central)).toEqual({ labelOffsetMin: -360, namedZone: "America/Chicago" });
    expect(readTimeZoneLabel("(UTC-06:00) Central America")).toEqual({ labelOffsetMin: -360, namedZone: undefined });
    expect(readTimeZoneLabel("(UTC) Coordinated Universal Time")).toEqual({ labelOffsetMin: 0, namedZone: "UTC" });
    expect(readTimeZoneLabel("Central")).toBeUndefined();
  });

  it("day_covered is decided once per intersection with a tolerance (B15, B44)", () => {
    const d = DateTime.fromISO("2024-11-03", { zone: ZONE });
    // Fall-back day: zone a's first vehicle is at 00:10 CDT (-300), zone b's only vehicles come after 01:00 CST (-360).
    const zones = [csv("a", "8,23,1000.0,-300,S,10,42,G,2.0,1,1.0,0.0,42,39\r\n8,23,13000.0,-360,S,10,42,G,2.0,1,1.0,0.0,42,39\r\n"), csv("b", "8,23,30000.0,-360,S,10,42,G,2.0,1,1.0,0.0,42,39\r\n")];
    const clock = { DateTime: "11/20/2024 9:58:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "11/20/2024 04:00:00 PM" };
    const r = standardizeDay(input({ zones, day: d, zipName: "x.zip", siteDateTime: clock }));
    // delta = 2 minutes: within the 5-minute tolerance → 0 for both zones (the original: +1 for zone b, ±1 anyway for drift).
    expect(r.correction!.deltaMs).toBe(120_000);
    expect(r.zones.map((z) => z.header.day_covered)).toEqual([0, 0]);
    expect(r.zones[0]!.adj).toEqual(["2024-11-03 00:12:00-05:00", "2024-11-03 01:32:00-06:00"]);
    const strict = standardizeDay(input({ zones, day: d, zipName: "x.zip", siteDateTime: clock, toleranceMinutes: 1 }));
    // The device clock is 2 minutes slow: its midnight comes after local midnight.
    expect(strict.dayCovered).toBe(1);
  });

  it("spring-forward day: a first vehicle after 03:00 CDT does not move the device's midnight", () => {
    const d = DateTime.fromISO("2024-03-10", { zone: ZONE });
    const zones = [csv("a", "8,23,31500.0,-300,S,10,42,G,2.0,1,1.0,0.0,42,39\r\n")];
    const clock = { DateTime: "3/20/2024 10:00:00 AM", TimeZoneId: "(UTC-06:00) Central Time (US & Canada)", HostTimeUTC: "03/20/2024 03:00:00 PM" };
    const r = standardizeDay(input({ zones, day: d, zipName: "x.zip", siteDateTime: clock }));
    expect(r.dayCovered).toBe(0);
    expect(r.zones[0]!.adj[0]).toBe("2024-03-10 03:15:00-05:00");
    // A device that stays on standard time all year (fixed-offset zone name) keeps its rows' offset.
    const fixed = standardizeDay(input({ zones: [csv("a", "8,23,31500.0,-360,S,10,42,G,2.0,1,1.0,0.0,42,39\r\n")], day: d, zipName: "x.zip", siteDateTime: { ...clock, DateTime: "3/20/2024 9:00:00 AM", TimeZoneId: "(UTC-06:00) Central America" } }));
    expect(fixed.dayCovered).toBe(0);
    expect(fixed.zones[0]!.adj[0]).toBe("2024-03-10 04:15:00-05:00");
  });
});
