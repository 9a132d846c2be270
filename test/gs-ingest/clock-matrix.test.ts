/**
 * The GRIDSMART clock matrix (issue: exact clock correction for every kind of device clock). Expected values come from
 * test/fixtures/gs/clock-reference.py, an independent Python reference that plays the devices (true instants → what
 * each kind of clock writes and shows) and states the true instants: DST-following Central, a clock fixed at −06:00
 * all year under the Central label, UTC, an Eastern label with Eastern offsets, each exact and drifting +4 s / −3 s;
 * both 2024 DST windows; the site file captured in daylight time and in standard time; API v8 and v4.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { standardizeDay } from "../../src/sources/gs/standardize.js";
import type { GsDateTime } from "../../src/sources/gs/types.js";

interface MatrixDay {
  day: string;
  csv: string;
  timestamp_adj: string[];
  day_covered: -1 | 0 | 1;
  original_error_seconds: number[];
}
interface MatrixCase {
  name: string;
  kind: string;
  drift_seconds: number;
  capture: string;
  version: number;
  datetime: GsDateTime;
  delta_ms: number;
  days: MatrixDay[];
}

const matrix = JSON.parse(readFileSync(path.join(import.meta.dirname, "../fixtures/gs/clock-matrix.json"), "utf8")) as {
  zone: string;
  tolerance_minutes: number;
  cases: MatrixCase[];
};

function run(c: MatrixCase, d: MatrixDay) {
  const day = DateTime.fromISO(d.day, { zone: matrix.zone });
  return standardizeDay({
    zones: [{ guid: "g", filename: "g.csv", path: `mac/${d.day}/g.csv`, data: Buffer.from(d.csv) }],
    base: "Matrix",
    day,
    zipName: "Matrix.zip",
    processingDate: day,
    siteDateTime: c.datetime,
    zone: matrix.zone,
    toleranceMinutes: matrix.tolerance_minutes,
    where: c.name,
  });
}

describe("GRIDSMART clock matrix (expected values from clock-reference.py)", () => {
  it("covers every kind of clock, drift, window, capture time and version", () => {
    expect(matrix.cases).toHaveLength(4 * 3 * 2 * 2 * 2);
    expect(new Set(matrix.cases.map((c) => c.kind))).toEqual(new Set(["central-dst", "central-fixed-360", "utc", "eastern"]));
    for (const c of matrix.cases) for (const d of c.days) expect(d.timestamp_adj.length).toBeGreaterThan(5);
  });

  for (const c of matrix.cases) {
    it(`${c.name}: every timestamp_adj is the true instant, day_covered as the device's midnight says`, () => {
      for (const d of c.days) {
        const r = run(c, d);
        expect(r.correction.deltaMs, `${d.day} delta`).toBe(c.delta_ms);
        expect(r.zones[0]!.adj, `${d.day} timestamp_adj`).toEqual(d.timestamp_adj);
        expect(r.dayCovered, `${d.day} day_covered`).toBe(d.day_covered);
        expect(r.dropped).toEqual({});
      }
    });
  }

  it("the original was exact for fixed-offset and UTC clocks and any capture in standard time, an hour early otherwise (B43)", () => {
    const wrong = matrix.cases.filter((c) => c.days.some((d) => d.original_error_seconds.some((e) => e !== 0)));
    expect(new Set(wrong.map((c) => `${c.kind} ${c.capture}`))).toEqual(new Set(["central-dst daylight-capture", "eastern daylight-capture"]));
    for (const c of wrong) for (const d of c.days) expect(d.original_error_seconds).toEqual([-3600]);
  });
});
