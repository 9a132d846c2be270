import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { aggregate, npRound, pyRound, type Movement } from "../../src/sources/gs/aggregate.js";
import { countedZones } from "../../src/sources/gs/assemble.js";
import type { GsSiteFile } from "../../src/sources/gs/types.js";
import { pyJson } from "../../src/util/pyjson.js";
import { parsePyJson } from "../../src/util/pyjson-parse.js";
import { FIXTURES, ZONE } from "./harness.js";

const text = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8");
const movementsOf = (site: GsSiteFile): Movement[] => countedZones(site).map((z) => ({ zone: z.ident, zone_approach: z.approach, turn_type: z.turnType }));

describe("aggregate() against the original pandas code", () => {
  // dst-counts.json: 4,260 seeded random vehicles on the fall-back day; *.reference.json: test/fixtures/gs-ready/
  // agg-reference.py (the original gs_ready_agg.py pandas code) run on it. NaN (pandas) is null here (B31).
  const counts = parsePyJson(text("dst-counts.json")) as { counts: Record<string, unknown>[]; site: GsSiteFile };

  it.each([15, 7])("matches the original's %i-minute aggregation row for row, byte for byte", (minutes) => {
    const ours = aggregate(counts.counts, movementsOf(counts.site), minutes, ZONE);
    const reference = text(`dst-agg${minutes}.reference.json`).trim().replace(/\bNaN\b/g, "null");
    expect(ours.length).toBe((JSON.parse(reference) as unknown[]).length);
    expect(pyJson(ours)).toBe(reference);
  });

  it("keeps the fall-back day's two local 01:00 hours apart (UTC bins)", () => {
    const ours = aggregate(counts.counts, movementsOf(counts.site), 60, ZONE);
    const oneAm = ours.filter((r) => r.timestamp.startsWith("2024-11-03 01:00:00")).map((r) => r.timestamp);
    expect(new Set(oneAm)).toEqual(new Set(["2024-11-03 01:00:00-05:00", "2024-11-03 01:00:00-06:00"]));
    const hours = new Set(ours.map((r) => r.timestamp.slice(11)));
    expect(hours.size).toBe(25);
  });

  it("matches the Burnet_Richcreek golden day (hand-checked: means, sample std, heavy >= 17 ft, null length → heavy)", () => {
    const c = parsePyJson(text("golden/Burnet_Richcreek_gs_2024-06-01_counts.json")) as { counts: Record<string, unknown>[]; site: GsSiteFile };
    const ours = aggregate(c.counts, movementsOf(c.site), 15, ZONE);
    expect(pyJson(ours)).toBe(text("golden/Burnet_Richcreek_agg15.reference.json").trim());
    const nbS0 = ours.find((r) => r.zone_approach === "Northbound" && r.turn === "S" && r.heavy_vehicle === 0)!;
    expect(nbS0.volume).toBe(2);
    expect(nbS0.speed_avg.value).toBe(33);
    expect(nbS0.speed_std.value).toBe(2.828); // sqrt(8)
    expect(nbS0.seconds_in_zone_std.value).toBe(0.212);
    expect(ours.find((r) => r.turn === "R")!.heavy_vehicle).toBe(1); // vehicle_length null
  });

  it("drops vehicles of zones not in the movements (inner join) and rows without a turn", () => {
    const rows = [
      { zone: "z1", turn: "S", vehicle_length: 10, speed: 10, seconds_in_zone: 1, timestamp_adj: "2024-06-01 00:00:01-05:00" },
      { zone: "zX", turn: "S", vehicle_length: 10, speed: 10, seconds_in_zone: 1, timestamp_adj: "2024-06-01 00:00:02-05:00" },
      { zone: "z1", turn: null, vehicle_length: 10, speed: 10, seconds_in_zone: 1, timestamp_adj: "2024-06-01 00:00:03-05:00" },
    ];
    const out = aggregate(rows, [{ zone: "z1", zone_approach: "Northbound", turn_type: "S" }], 15, ZONE);
    expect(out).toHaveLength(1);
    expect(out[0]!.volume).toBe(1);
  });

  it("names the row whose timestamp_adj is unreadable", () => {
    expect(() => aggregate([{ zone: "z", timestamp_adj: "yesterday" }], [], 15, ZONE, "x.json")).toThrow(/x\.json: counts\[0\]\.timestamp_adj/);
  });
});

describe("npRound (numpy round, what pandas' DataFrame.round(3) did in the original)", () => {
  it("rounds the scaled float half to even", () => {
    // python3 + numpy: np.round(x, 3) for these = 18.042 2.675 0.062 0.188 -0.062 1.0 2.828 0.0 1.234
    const xs = [18.0425, 2.675, 0.0625, 0.1875, -0.0625, 1.0005, 2.8284271247461903, 0.0005, 1.2345];
    expect(xs.map((x) => npRound(x, 3))).toEqual([18.042, 2.675, 0.062, 0.188, -0.062, 1, 2.828, 0, 1.234]);
    // Python's round() differs on 18.0425 (→ 18.043) and 0.0005 (→ 0.001): the original's pandas output wins.
    expect(pyRound(18.0425, 3)).toBe(18.043);
    expect(pyRound(0.0005, 3)).toBe(0.001);
  });
});

describe("pyRound (Python round(x, n))", () => {
  it("rounds the exact binary value, ties to even", () => {
    // python3: round(2.675, 2) = 2.67 (2.675 is 2.67499999...), round(0.0625, 3) = 0.062, round(0.1875, 3) = 0.188,
    // round(-0.0625, 3) = -0.062, round(1.0005, 3) = 1.0 (1.000499999...), round(2.5, 0) = 2.0, round(3.5, 0) = 4.0
    expect(pyRound(2.675, 2)).toBe(2.67);
    expect(pyRound(0.0625, 3)).toBe(0.062);
    expect(pyRound(0.1875, 3)).toBe(0.188);
    expect(pyRound(-0.0625, 3)).toBe(-0.062);
    expect(pyRound(1.0005, 3)).toBe(1);
    expect(pyRound(2.5, 0)).toBe(2);
    expect(pyRound(3.5, 0)).toBe(4);
    expect(pyRound(2.8284271247461903, 3)).toBe(2.828);
    expect(Number.isNaN(pyRound(NaN, 3))).toBe(true);
  });
});
