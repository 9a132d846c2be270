/** Partitions: hourly and daily, half-open, DST-safe in the lake's zone, keys that parse back. */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { parsePartitionKey, partitionsBetween, rangePartitions } from "../../src/util/partitions.js";
import { fixedClock } from "../../src/util/dates.js";

const zone = "America/Chicago";
const day = (d: string) => DateTime.fromISO(d, { zone });

describe("partitions", () => {
  it("a 23-hour and a 25-hour day have 23 and 25 hourly partitions; a normal day 24", () => {
    const hours = (d: string) => [...partitionsBetween(day(d), day(d).plus({ days: 1 }), "hour", zone)];
    expect(hours("2024-03-10").length).toBe(23);
    expect(hours("2024-11-03").length).toBe(25);
    expect(hours("2024-11-04").length).toBe(24);
    const fallBack = hours("2024-11-03").map((p) => p.key);
    expect(fallBack.slice(0, 4)).toEqual(["2024-11-03T00:00-05:00", "2024-11-03T01:00-05:00", "2024-11-03T01:00-06:00", "2024-11-03T02:00-06:00"]);
    expect(new Set(fallBack).size).toBe(25);
    expect([...fallBack].sort()).toEqual(fallBack); // keys sort in time order
    const spring = hours("2024-03-10").map((p) => p.key);
    expect(spring.slice(1, 3)).toEqual(["2024-03-10T01:00-06:00", "2024-03-10T03:00-05:00"]);
    for (const p of hours("2024-11-03")) expect(p.end.toMillis() - p.start.toMillis()).toBe(3_600_000);
  });

  it("daily partitions are calendar days (23, 24, 25 hours), half-open", () => {
    const days = [...partitionsBetween(day("2024-11-02"), day("2024-11-05"), "day", zone)];
    expect(days.map((p) => p.key)).toEqual(["2024-11-02", "2024-11-03", "2024-11-04"]);
    expect(days.map((p) => (p.end.toMillis() - p.start.toMillis()) / 3_600_000)).toEqual([24, 25, 24]);
  });

  it("keys parse back, with the entity; a key that starts no partition is refused", () => {
    const { partition, entity } = parsePartitionKey("2024-11-03T01:00-06:00#lime", zone);
    expect([partition.key, partition.grain, entity, partition.start.toUTC().toISO()]).toEqual(["2024-11-03T01:00-06:00", "hour", "lime", "2024-11-03T07:00:00.000Z"]);
    expect(parsePartitionKey("2024-11-03", zone).partition.end.toISO()).toBe("2024-11-04T00:00:00.000-06:00");
    expect(() => parsePartitionKey("2024-11-03T01:30-06:00", zone)).toThrow(/does not start/);
    expect(() => parsePartitionKey("yesterday", zone)).toThrow(/Malformed partition/);
  });

  it("range flags: atd-mds's YYYY-MM-DD-HH hours, --interval back from --time-max, equal = one partition, settle lag", () => {
    const clock = fixedClock("2024-11-10T09:30:00-06:00");
    const six = rangePartitions({ timeMin: "2024-11-01-00", timeMax: "2024-11-01-06" }, "hour", zone, clock);
    expect(six.map((p) => p.start.hour)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rangePartitions({ timeMax: "2024-11-01-06", interval: "2h" }, "hour", zone, clock).map((p) => p.start.hour)).toEqual([4, 5]);
    expect(rangePartitions({ timeMin: "2024-11-01-06", timeMax: "2024-11-01-06" }, "hour", zone, clock).map((p) => p.key)).toEqual(["2024-11-01T06:00-05:00"]);
    expect(rangePartitions({}, "hour", zone, clock).map((p) => p.key)).toEqual(["2024-11-10T08:00-06:00"]);
    expect(rangePartitions({ settleHours: 30 }, "hour", zone, clock).map((p) => p.key)).toEqual(["2024-11-09T02:00-06:00"]);
    expect(rangePartitions({ interval: "2d" }, "day", zone, clock).map((p) => p.key)).toEqual(["2024-11-08", "2024-11-09"]);
    expect(() => rangePartitions({ timeMin: "2024-11-02", timeMax: "2024-11-01" }, "hour", zone, clock)).toThrow(/before/);
  });
});
