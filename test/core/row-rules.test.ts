/** Row rules (src/support/row-rules.ts): the ranges and day rule a source declares, as checked for every source. */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { RowCheck, timeOf } from "../../src/support/row-rules.js";
import { PyFloat } from "../../src/util/pyjson.js";

const ZONE = "America/Chicago";
const day = DateTime.fromISO("2024-11-02", { zone: ZONE });
const columns = ["volume", "speed", "id", "t"];
const check = new RowCheck(
  { ranges: { volume: { min: 0, max: 10_000, integer: true }, speed: { min: 0, max: 250 }, id: { integer: true } }, day: { fields: ["t"], slackHours: 1 } },
  columns,
  day,
  ZONE,
);
const row = (v: Record<string, unknown>) => (c: number) => v[columns[c]!];

describe("RowCheck", () => {
  it("accepts rows inside every rule, numbers as numbers, text or PyFloat, missing values unjudged", () => {
    expect(check.active).toBe(true);
    expect(check.check(row({ volume: 12, speed: "33.5", id: "9007199254740991", t: "2024-11-02 10:00:00-05:00" }))).toBeUndefined();
    expect(check.check(row({ volume: "", speed: new PyFloat(0), id: null, t: null }))).toBeUndefined();
    expect(check.check(row({ volume: "n/a", t: "not a time" }))).toBeUndefined(); // the stage's reading reports these
    expect(check.check(row({ volume: 0, t: "2024-11-01 23:30:00" }))).toBeUndefined(); // wall clock, local; 30 min before: inside the slack
  });

  it.each([
    [{ volume: -5 }, "volume outside [0, 10000]"],
    [{ volume: "1e20" }, "volume outside [0, 10000]"],
    [{ volume: "12.5" }, "volume not an exact integer"],
    [{ volume: Number.NaN }, "volume not a number"],
    [{ speed: 1e20 }, "speed outside [0, 250]"],
    [{ id: "9223372036854775807" }, "id not an exact integer"],
    [{ id: 9223372036854775807n }, "id not an exact integer"],
    [{ t: "2023-06-01 10:00:00-05:00" }, "t outside the file's day (±1 h)"],
    [{ t: "2024-11-03 01:00:00" }, "t outside the file's day (±1 h)"],
    [{ t: DateTime.fromISO("2024-11-01T22:00:00", { zone: ZONE }) }, "t outside the file's day (±1 h)"],
  ])("%o breaks %s", (values, reason) => {
    expect(check.check(row(values))?.reason).toBe(reason);
  });

  it("is inactive (accepts everything) for a layout without declared fields or without rules", () => {
    expect(new RowCheck({ ranges: { other: { min: 0 } } }, columns, day, ZONE).active).toBe(false);
    expect(new RowCheck(undefined, columns, day, ZONE).check(row({ volume: -1 }))).toBeUndefined();
  });
});

describe("timeOf (the day rule's reading of a time)", () => {
  it("reads wall-clock times per minute exactly as luxon reads each one, across DST gaps and overlaps", () => {
    const cases: [string, string][] = [
      ["America/Chicago", "2024-11-03"], // 01:00–01:59 twice
      ["America/Chicago", "2024-03-10"], // 02:00–02:59 missing
      ["Australia/Lord_Howe", "2024-04-07"], // half-hour change at 02:00 → 01:30
      ["Australia/Lord_Howe", "2024-10-06"], // 02:00 → 02:30
      ["Asia/Kathmandu", "2024-06-01"],
    ];
    for (const [zone, day] of cases) {
      const memo = new Map<string, number | null>();
      for (let s = 0; s < 86_400; s += 7) {
        const hh = String(Math.floor(s / 3600)).padStart(2, "0");
        const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
        const ss = String(s % 60).padStart(2, "0");
        for (const text of [`${day} ${hh}:${mm}:${ss}`, `${day}T${hh}:${mm}:${ss}.25`]) {
          expect(timeOf(text, zone, memo), `${zone} ${text}`).toBe(timeOf(text, zone));
        }
      }
    }
    const memo = new Map<string, number | null>();
    for (const bad of ["2024-02-30 10:00:00", "2024-11-03 24:00:00", "2024-11-03 10:61:00", "2024-11-03 10:00:61"]) {
      expect(timeOf(bad, "America/Chicago", memo), bad).toBe(timeOf(bad, "America/Chicago"));
    }
  });
});
