/** The example source of docs/sources/new-source.md: its transform on DST days, bad rows, and the whole source end to end. */
import { afterEach, describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import counters from "../../src/sources/counters/source.js";
import { binCounts, binRow } from "../../src/sources/counters/transform.js";
import { dayFile } from "../../src/sources/counters/simulate.js";
import { createMemoryPublisher } from "../../src/drivers/publisher/memory.js";
import { testRuntime, tempDir } from "../core/helpers.js";
import type { LakeRuntime } from "../../src/support/runtime.js";

const ZONE = "America/Chicago";
const day = (d: string) => DateTime.fromISO(d, { zone: ZONE });

describe("counters: 15-minute bins", () => {
  it("a 23-, 24- and 25-hour day has 92, 96 and 100 bins per counter; the two 01:00 bins of the fall-back day are told apart", () => {
    for (const [d, n] of [["2024-03-10", 92], ["2024-11-04", 96], ["2024-11-03", 100]] as const) {
      const { bins, bad } = binCounts(dayFile(day(d)), day(d), "test");
      expect(bad).toEqual([]);
      expect(bins.filter((b) => b.counter_id === "lamar-n")).toHaveLength(n);
      expect(bins.every((b) => b.readings === 15)).toBe(true);
    }
    const fallBack = binCounts(dayFile(day("2024-11-03")), day("2024-11-03"), "test").bins.filter((b) => b.counter_id === "lamar-n");
    expect(fallBack.filter((b) => b.bin_start.slice(11, 16) === "01:00").map((b) => b.bin_start)).toEqual(["2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-06:00"]);
    const ids = fallBack.map((b) => binRow(b).record_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("bins by hand: counts summed per counter and quarter hour, in local time", () => {
    const csv = "counter_id,time,count\na,2024-11-04T00:14:00-06:00,3\na,2024-11-04T00:15:00-06:00,4\na,2024-11-04T06:16:30Z,5\nb,2024-11-04T00:01:00-06:00,1\n";
    expect(binCounts(csv, day("2024-11-04"), "t").bins).toEqual([
      { counter_id: "a", bin_start: "2024-11-04T00:00:00-06:00", count: 3, readings: 1 },
      { counter_id: "a", bin_start: "2024-11-04T00:15:00-06:00", count: 9, readings: 2 },
      { counter_id: "b", bin_start: "2024-11-04T00:00:00-06:00", count: 1, readings: 1 },
    ]);
  });

  it("bad rows are reported with their line and reason and not counted; a wrong header fails the file", () => {
    const csv = "counter_id,time,count\na,2024-11-04T00:01:00-06:00,2\na,yesterday,1\na,2024-11-05T00:00:00-06:00,1\na,2024-11-04T00:02:00-06:00,-5\n,2024-11-04T00:02:00-06:00,1\na,2024-11-04T00:03:00,1\n";
    const { bins, bad } = binCounts(csv, day("2024-11-04"), "t");
    expect(bins).toEqual([{ counter_id: "a", bin_start: "2024-11-04T00:00:00-06:00", count: 2, readings: 1 }]);
    expect(bad.map((b) => b.line)).toEqual([3, 4, 5, 6, 7]);
    expect(bad[1]!.reason).toMatch(/outside the file's day 2024-11-04/);
    expect(bad[4]!.reason).toMatch(/not an ISO date-time with its offset/);
    expect(() => binCounts("id,when,n\n", day("2024-11-04"), "raw/x.csv")).toThrow(/raw\/x.csv: line 1 must be the header "counter_id,time,count"/);
  });
});

describe("counters: the source end to end on the embedded default", () => {
  let runtime: LakeRuntime;
  let home: string;
  afterEach(async () => {
    await runtime.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("drop folder → raw → ready → published; a rerun does nothing", async () => {
    home = tempDir();
    const publisher = createMemoryPublisher();
    runtime = testRuntime(home, { drivers: { publisher } });
    const demo = (await counters.loadDemo())!;
    const settings = await demo.simulate({ home, zone: ZONE, from: "2024-11-02", to: "2024-11-05" });
    runtime.overrideSourceConfig("counters", settings);
    const window = { start_date: "2024-11-02", end_date: "2024-11-05" };
    const firsts = [];
    for (const name of counters.stageNames) firsts.push(await counters.stage(name).main(window, { runtime }));
    expect(firsts.map((f) => f.failed)).toEqual([0, 0, 0]);
    expect(await publisher.countRows("counters-15min")).toBe(3 * (96 + 100 + 96));
    // Each run's perfmet job row counts its items (records, as the original) and its rows, apart.
    const perfmet = await runtime.driver("perfmet", false);
    const jobs = await perfmet.readJobs({ from: 0, to: Date.parse("2100-01-01") });
    const publish = jobs.find((j) => j.stage === "Publish")!;
    expect([publish.records, publish.rows]).toEqual([firsts[2]!.processed, 3 * (96 + 100 + 96)]);
    expect(publish.records).toBe(3);
    for (const name of counters.stageNames) expect((await counters.stage(name).main(window, { runtime })).processed).toBe(0);
  });
});

describe("counters: a changed source file is seen by a plain rerun (changed sources reprocessed downstream)", () => {
  let runtime: LakeRuntime;
  let home: string;
  afterEach(async () => {
    await runtime.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("fixing a day's file republishes that day only, and the destination equals a clean run", async () => {
    home = tempDir();
    const publisher = createMemoryPublisher();
    runtime = testRuntime(home, { drivers: { publisher } });
    const settings = await (await counters.loadDemo())!.simulate({ home, zone: ZONE, from: "2024-11-02", to: "2024-11-05" });
    runtime.overrideSourceConfig("counters", settings);
    const dir = String(settings.dropdir);
    const file = `${dir}/counts_2024-11-04.csv`;
    const good = readFileSync(file, "utf8");
    // The day arrives broken: one counter's readings are missing, another's bins are shifted by a bad clock.
    const broken = good
      .split("\n")
      .filter((l) => !l.startsWith("congress-n,"))
      .map((l) => (l.startsWith("lamar-s,") ? l.replace(/T(\d\d):/, (_m, h: string) => `T${String((Number(h) + 1) % 24).padStart(2, "0")}:`) : l))
      .join("\n");
    writeFileSync(file, broken);
    utimesSync(file, new Date("2024-11-05T06:00:00Z"), new Date("2024-11-05T06:00:00Z"));
    const window = { start_date: "2024-11-02", end_date: "2024-11-05" };
    const runAll = async () => {
      const out = [];
      for (const name of counters.stageNames) out.push(await counters.stage(name).main(window, { runtime }));
      return out;
    };
    await runAll();
    const brokenRows = await publisher.countRows("counters-15min");
    // The fix: the right file, a later modification time. A plain rerun (no -F) redoes that day in every stage.
    writeFileSync(file, good);
    utimesSync(file, new Date("2024-11-06T06:00:00Z"), new Date("2024-11-06T06:00:00Z"));
    const rerun = await runAll();
    expect(rerun.map((s) => s.processed)).toEqual([1, 1, 1]);
    expect(rerun.map((s) => s.skipped)).toEqual([2, 2, 2]);
    const fixed = publisher.rows("counters-15min").map((r) => JSON.stringify(r)).sort();
    expect(fixed.length).toBeGreaterThan(brokenRows);
    // A clean run of the same days gives exactly the same rows.
    const clean = createMemoryPublisher();
    const home2 = tempDir();
    const runtime2 = testRuntime(home2, { drivers: { publisher: clean } });
    runtime2.overrideSourceConfig("counters", settings);
    for (const name of counters.stageNames) await counters.stage(name).main(window, { runtime: runtime2 });
    await runtime2.close();
    rmSync(home2, { recursive: true, force: true });
    expect(fixed).toEqual(clean.rows("counters-15min").map((r) => JSON.stringify(r)).sort());
    // And nothing more to do.
    expect((await runAll()).map((s) => s.processed)).toEqual([0, 0, 0]);
  });
});
