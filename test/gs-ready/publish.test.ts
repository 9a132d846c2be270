import { describe, expect, it } from "vitest";
import { hasDevice, intersectionName, localFields, recordId, shapeRow, type WarningCounts } from "../../src/sources/gs/publish.js";
const ready = gsSource.stage("gs-ready").main;
import { ConfigError } from "../../src/support/errors.js";
import { PyFloat } from "../../src/util/pyjson.js";
import { makeLake } from "./harness.js";
import gsSource from "../../src/sources/gs/source.js";

const ZONE = "America/Chicago";
const device = { atd_device_id: 7, primary_st: " LAMAR BLVD ", cross_st: "38TH ST" };
const line = (over: Record<string, unknown> = {}) => ({
  timestamp: "2024-11-03 01:15:00-06:00",
  zone_approach: "Northbound",
  turn: "S",
  heavy_vehicle: 1,
  volume: 3,
  speed_avg: new PyFloat(31),
  speed_std: new PyFloat(2.5),
  seconds_in_zone_avg: new PyFloat(4.25),
  seconds_in_zone_std: new PyFloat(0),
  ...over,
});
const opts = { minutes: 15, noUnassigned: false, zone: ZONE };

describe("published row shaping", () => {
  it("shapes one aggregate row (fall-back day's second 01:15, Sunday = 0)", () => {
    const w: WarningCounts = new Map();
    const row = shapeRow(line(), device, opts, w)!;
    expect(row).toEqual({
      atd_device_id: 7,
      read_date: "2024-11-03T01:15:00",
      intersection_name: "LAMAR BLVD / 38TH ST",
      direction: "NORTHBOUND",
      movement: "THRU",
      heavy_vehicle: true,
      volume: 3,
      speed_average: 31,
      speed_stddev: 2.5,
      seconds_in_zone_average: 4.25,
      seconds_in_zone_stddev: 0,
      month: 11,
      day: 3,
      year: 2024,
      hour: 1,
      minute: 15,
      day_of_week: 0,
      bin_duration: 900,
      record_id: recordId("LAMAR BLVD / 38TH ST", "2024-11-03T01:15:00", true, "NORTHBOUND", "THRU"),
    });
    expect(w.size).toBe(0);
  });

  it("Unassigned → UNASSIGNED with a counted warning, or left out with -u; other approaches left out", () => {
    const w: WarningCounts = new Map();
    expect(shapeRow(line({ zone_approach: "Unassigned" }), device, opts, w)!.direction).toBe("UNASSIGNED");
    expect(shapeRow(line({ zone_approach: "Unassigned" }), device, opts, w)!.direction).toBe("UNASSIGNED");
    expect(w.get("Approach is UNASSIGNED. Including.")).toBe(2);
    expect(shapeRow(line({ zone_approach: "Unassigned" }), device, { ...opts, noUnassigned: true }, w)).toBeUndefined();
    expect(shapeRow(line({ zone_approach: "Northeastbound" }), device, opts, w)).toBeUndefined();
    expect(w.get("Approach is Northeastbound. Skipping.")).toBe(1);
  });

  it("maps S/L/R/U and keeps other movements with a warning", () => {
    const w: WarningCounts = new Map();
    expect(["S", "L", "R", "U", "X"].map((t) => shapeRow(line({ turn: t }), device, opts, w)!.movement)).toEqual(["THRU", "LEFT TURN", "RIGHT TURN", "U-TURN", "X"]);
    expect(w.get("Movement is X")).toBe(1);
  });

  it("reads the written wall clock (no zone conversion), and local time when there is no offset", () => {
    expect(localFields("2024-06-01 23:45:00-05:00", ZONE, "x")).toMatchObject({ readDate: "2024-06-01T23:45:00", hour: 23, dayOfWeek: 6 });
    expect(localFields("2024-06-02 00:00:00", ZONE, "x")).toMatchObject({ readDate: "2024-06-02T00:00:00", dayOfWeek: 0 });
    expect(() => localFields("soon", ZONE, "f.json data[3]")).toThrow(/f\.json data\[3\]: timestamp "soon"/);
  });

  it("treats empty or list devices as no device; null names as empty", () => {
    expect([null, undefined, [], {}, [1]].map(hasDevice)).toEqual([false, false, false, false, false]);
    expect(hasDevice(device)).toBe(true);
    expect(intersectionName({ primary_st: null, cross_st: "X" })).toBe(" / X");
  });
});

describe("gs-ready configuration", () => {
  it("a malformed sources.gs.lookups is a configuration error that stops the run", async () => {
    const lake = makeLake(undefined, { gs: { lookups: ["not", "a", "map"] } });
    await lake.loadFixtures();
    await expect(ready({ start_date: "2024-06-01", end_date: "2024-06-01" }, { runtime: lake.runtime })).rejects.toThrow(ConfigError);
  });
});
