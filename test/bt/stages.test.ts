import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { afterEach, describe, expect, it } from "vitest";
import { SKIP_MISSING_READER } from "../../src/sources/bt/source.js";
import { SKIP_DROPPED, SKIP_EXTRA } from "../../src/sources/bt/source.js";
import { SKIP_ROW_PREFIX, SKIP_WAIT_UNMATCHED } from "../../src/sources/bt/source.js";
import { TransientError } from "../../src/support/errors.js";
import { dayFiles, writeShare, type DayVolume } from "../../src/sources/bt/simulate.js";
import { DATASETS, GOLDEN_NOW, REPO, makeHarness, type Harness } from "./harness.js";
import { validateConfig } from "../../src/config/load.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import btSource from "../../src/sources/bt/source.js";
const insertLake = btSource.stage("bt-insert-lake").main;

const SMALL: DayVolume = { unmatched: 60, matched: 30, intervals: 8, devices: 25 };
const WEEK_NOW = "2019-06-10T04:00:00-05:00";
const open: Harness[] = [];
function harness(...args: Parameters<typeof makeHarness>): Harness {
  const h = makeHarness(...args);
  open.push(h);
  return h;
}
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

function publicEntries(h: Harness): string[] {
  return [...h.catalog.rows.values()]
    .filter((r) => r.repository === REPO.public)
    .map((r) => `${DateTime.fromMillis(r.collection_date, { zone: "America/Chicago" }).toISODate()} ${r.id_ext}`)
    .sort();
}

/** Published rows of one day (by their time column), keyed by record_id. */
function dayRows(h: Harness, day: string): Record<string, string[]> {
  const pick = (ds: string, col: string) =>
    h.publisher
      .rows(ds)
      .filter((r) => String(r[col]).startsWith(day))
      .map((r) => String(r.record_id))
      .sort();
  return {
    unmatched: pick(DATASETS.unmatched, "host_read_time"),
    matched: pick(DATASETS.matched, "start_time"),
    summary: pick(DATASETS.traf_match_summary, "timestamp"),
  };
}

describe("bt-insert-lake", () => {
  it("reads -d, else sources.bt.sourcedir; tracks each file type separately; a rerun finds nothing new", async () => {
    const h = harness();
    h.copyFixtureShare();
    const first = await h.run("insert", ["-s", "2019-06-01", "-e", "2019-06-02", "-d", h.share]);
    expect(first.processed).toBe(3);
    expect(first.records).toBe(6 + 5 + 3); // lines copied
    const again = await h.run("insert", { start_date: "2019-06-01", end_date: "2019-06-02" });
    expect(again.processed).toBe(0);
    expect(again.skipReasons["already done"]).toBe(3);
  });

  it("a relative sources.bt.sourcedir resolves against the config's folder", async () => {
    const h = harness();
    h.copyFixtureShare();
    const config = validateConfig({ home: h.dir, sources: { bt: { sourcedir: "awam" } } }, "bt test");
    const runtime = new LakeRuntime(config, h.dir, { storage: h.storage, catalog: h.catalog, perfmet: h.perfmet }, { clock: fixedClock(GOLDEN_NOW) });
    const s = await insertLake({ last_run_date: "0" }, { runtime });
    expect(s.processed).toBe(3);
  });

  it("a missing source folder is a configuration error naming the flag and setting", async () => {
    const h = harness();
    await expect(h.run("insert", ["-r", "0", "-d", path.join(h.dir, "nope")])).rejects.toThrow(/-d\/--sourcedir or set sources\.bt\.sourcedir/);
  });

  it("ignores files that match no pattern and leaves today's files for tomorrow", async () => {
    const h = harness();
    h.copyFixtureShare();
    writeFileSync(path.join(h.share, "Austin_bt_06-02-2019.txt"), "today\r\n");
    writeFileSync(path.join(h.share, "notes.txt"), "x");
    writeFileSync(path.join(h.share, "Austin_bt_summary_15_bad.txt"), "x");
    const s = await h.run("insert", ["-r", "0"]);
    expect(s.processed).toBe(3);
    expect(h.keys(REPO.raw).every((k) => k.startsWith("2019/06/01/"))).toBe(true);
  });
});

describe("bt-json-standard", () => {
  it("a truncated file keeps its good rows, reports the cut line and counts it; extra columns are reported (B39)", async () => {
    const h = harness();
    writeFileSync(
      path.join(h.share, "Austin_bt_06-01-2019.txt"),
      "6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,lamar_mlk,a\r\n6/1/2019 2:00:00 AM,ip,6/1/2019 2:00:00 AM,lamar_mlk,b,EXTRA\r\n6/1/2019 3:00:00 AM,ip,6/1/2",
    );
    await h.run("insert", ["-r", "0"]);
    const s = await h.run("standard", ["-r", "0"]);
    expect(s.processed).toBe(1);
    expect(s.records).toBe(2);
    expect(s.rowsLeftOut![SKIP_DROPPED]).toBe(1);
    expect(s.rowsLeftOut![SKIP_EXTRA]).toBe(1);
    const warnings = h.logs.filter((l) => l.level === "warn").map((l) => l.message);
    expect(warnings).toContainEqual(expect.stringMatching(/Austin_bt_2019-06-01_unmatched\.txt line 3: 3 values, expected 5/));
    expect(warnings).toContainEqual(expect.stringMatching(/line 2: 6 values, expected 5/));
    const doc = JSON.parse(await h.object(REPO.standardized, "2019/06/01/bt/Austin_bt_2019-06-01_unmatched.json")) as { data: unknown[] };
    expect(doc.data).toHaveLength(2);
  });

  it("-o writes a local copy equal to the stored object; -0 -o stores nothing", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.run("insert", ["-r", "0"]);
    const out = path.join(h.dir, "out");
    await h.run("standard", ["-r", "0", "-o", out]);
    const key = "2019/06/01/bt/Austin_bt_2019-06-01_unmatched.json";
    expect(readFileSync(path.join(out, "Austin_bt_2019-06-01_unmatched.json"), "utf8")).toBe(await h.object(REPO.standardized, key));

    const dry = harness();
    dry.copyFixtureShare();
    await dry.run("insert", ["-r", "0"]);
    const dryOut = path.join(dry.dir, "dry");
    const sim = await dry.run("standard", ["-r", "0", "-0", "-o", dryOut]);
    expect(sim.processed).toBe(3);
    expect(dry.keys(REPO.standardized)).toEqual([]);
    expect(readFileSync(path.join(dryOut, "Austin_bt_2019-06-01_unmatched.json"), "utf8")).toBe(await h.object(REPO.standardized, key));
  });

  it("records one perfmet observation per reader of the unmatched file", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.run("insert", ["-r", "0"]);
    await h.run("standard", ["-r", "0"]);
    const obs = await h.perfmet.readObs({ from: 0, to: Date.parse("2030-01-01") });
    expect(obs.map((o) => [o.sensor_name, o.data_type, o.data]).sort()).toEqual([
      ["51st_manor", "Unmatched Entries", 1],
      ["51st_springdale", "Unmatched Entries", 1],
      ["Woodway_ChimneyRock", "Unmatched Entries", 1],
      ["lamar_6th", "Unmatched Entries", 1],
      ["lamar_mlk", "Unmatched Entries", 2],
    ]);
    const mlk = obs.find((o) => o.sensor_name === "lamar_mlk")!;
    expect(mlk.timestamp_min).toBe(Date.parse("2019-06-01T00:00:00-05:00"));
    expect(mlk.timestamp_max).toBe(Date.parse("2019-06-01T09:15:30-05:00"));
  });

  it("a file type that reaches raw after the others of its day is still standardized (compare on base and type)", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.run("insert", ["-r", "0"]);
    await h.run("standard", ["-r", "0"]);
    await h.storage.delete(REPO.standardized, "2019/06/01/bt/Austin_bt_2019-06-01_matched.json");
    for (const [k, r] of h.catalog.rows) if (r.repository === REPO.standardized && r.id_ext === "matched.json") h.catalog.rows.delete(k);
    const s = await h.run("standard", ["-r", "0"]);
    expect(s.processed).toBe(1);
    expect(h.keys(REPO.standardized)).toContain("2019/06/01/bt/Austin_bt_2019-06-01_matched.json");
  });
});

describe("bt-ready", () => {
  it("drops, counts and reports the rows of a reader missing from the inventory", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.run("insert", ["-r", "0"]);
    await h.run("standard", ["-r", "0"]);
    const s = await h.run("ready", ["-r", "0"]);
    expect(s.processed).toBe(3);
    expect(s.rowsLeftOut![SKIP_MISSING_READER]).toBe(2); // one unmatched row, one matched row
    expect(h.logs.map((l) => l.message)).toContainEqual(expect.stringMatching(/reader "Woodway_ChimneyRock" is not in the BLUETOOTH inventory; 1 row\(s\) dropped/));
  });

  it("without unit data dated after the day, each item fails with a clear message (B33)", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.run("insert", ["-r", "0"]);
    await h.run("standard", ["-r", "0"]);
    for (const [k, r] of h.catalog.rows) if (r.id_ext === "unit_data.json") h.catalog.rows.delete(k);
    const s = await h.run("ready", ["-r", "0"]);
    expect(s.failed).toBe(3);
    expect(s.failures[0]!.error).toMatch(/No unit data dated after 2019-06-01 .* run the source's standardize stage/);
  });
});

describe("bt-extract-soc", () => {
  it("reruns publish nothing new, and a forced rerun replaces rows by record_id (no duplicates)", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.runAll({ last_run_date: "0" });
    const counts = Object.values(DATASETS).map((d) => h.publisher.rows(d).length);
    expect(counts).toEqual([3, 4, 4]); // summary, matched (one row of an unknown reader dropped), unmatched
    const again = await h.run("soc", ["-r", "0"]);
    expect(again.processed).toBe(0);
    const forced = await h.run("soc", ["-r", "0", "-F"]);
    expect(forced.processed).toBe(3);
    expect(Object.values(DATASETS).map((d) => h.publisher.rows(d).length)).toEqual(counts);
  });

  it("numbers addresses the same when a ready row has no dev_addr (the per-row number list does not line up)", async () => {
    const h = harness();
    h.copyFixtureShare();
    await h.runAll({ last_run_date: "0" });
    const before = h.publisher.rows(DATASETS.matched).map((r) => `${r.start_time} ${r.device_address}`);
    const key = "2019/06/01/bt/Austin_bt_2019-06-01_unmatched.json";
    const doc = JSON.parse(await h.object(REPO.ready, key)) as { data: Record<string, unknown>[] };
    const removed = doc.data[0]!.dev_addr;
    delete doc.data[0]!.dev_addr;
    await h.storage.put(REPO.ready, key, Buffer.from(JSON.stringify(doc)));
    h.publisher.datasets.clear();
    await h.run("soc", ["-r", "0", "-F"]);
    const unmatched = h.publisher.rows(DATASETS.unmatched);
    expect(unmatched.find((r) => r.host_read_time === "2019-06-01T00:00:00" && r.reader_identifier === "lamar_6th")!.device_address).toBeNull();
    // The removed address now first appears later: numbering follows first appearance, the rest are consistent.
    // The day's numbering: distinct addresses by first appearance over the unmatched rows, then the matched rows.
    const numbers = new Map<unknown, number>();
    const c = { add: (a: unknown) => void (typeof a === "string" && !numbers.has(a) && numbers.set(a, numbers.size + 1)), get: (a: unknown) => numbers.get(a) ?? null };
    for (const r of doc.data) c.add(r.dev_addr);
    const matchedReady = JSON.parse(await h.object(REPO.ready, key.replace("unmatched", "matched"))) as { data: Record<string, unknown>[] };
    for (const r of matchedReady.data) c.add(r.dev_addr);
    expect(h.publisher.rows(DATASETS.matched).map((r) => `${r.start_time} ${r.device_address}`)).toEqual(
      matchedReady.data.map((r) => `${String(r.start_time).slice(0, 19).replace(" ", "T")} ${c.get(r.dev_addr)}`),
    );
    expect(before).toHaveLength(4);
    expect(removed).toBe("RDM6QzI6NjE6RDA6MDM=");
  });

  it("rows with a missing time are not published and are counted (B38)", async () => {
    const h = harness();
    h.copyFixtureShare();
    const [, , , soc] = await h.runAll({ last_run_date: "0" });
    expect(soc!.rowsLeftOut![`${SKIP_ROW_PREFIX}field_timestamp missing or not a time`]).toBe(1);
    expect(soc!.failed).toBe(0);
  });

  it("simulation publishes nothing and catalogues nothing", async () => {
    const h = harness();
    h.copyFixtureShare();
    for (const s of ["insert", "standard", "ready"] as const) await h.run(s, ["-r", "0"]);
    const sim = await h.run("soc", ["-r", "0", "-0"]);
    expect(sim.processed).toBe(3);
    expect(h.publisher.batches).toEqual([]);
    expect(publicEntries(h)).toEqual([]);
    expect(sim.plan!.filter((p) => p.kind === "publish")).toHaveLength(3);
  });

  it("a published matched file does not block the day's unmatched and summary files arriving later (B28)", async () => {
    const h = harness({ now: WEEK_NOW });
    const day = DateTime.fromISO("2019-06-03", { zone: "America/Chicago" });
    const files = [...dayFiles(day, SMALL)];
    const write = (t: string) => {
      const f = files.find((x) => x.fileType === t)!;
      writeFileSync(path.join(h.share, f.name), [...f.lines].join(""));
    };
    write("matched");
    await h.runAll({ last_run_date: "0" });
    expect(publicEntries(h)).toEqual(["2019-06-03 matched.json"]);
    write("unmatched");
    write("traf_match_summary");
    await h.runAll({ last_run_date: "0" });
    expect(publicEntries(h)).toEqual(["2019-06-03 matched.json", "2019-06-03 traf_match_summary.json", "2019-06-03 unmatched.json"]);
    expect(h.publisher.rows(DATASETS.unmatched).length).toBeGreaterThan(0);
  });

  it("a matched file waits while the day's unmatched file is in raw or standardized but not yet ready", async () => {
    const h = harness({ now: WEEK_NOW });
    await writeShare(h.share, "America/Chicago", "2019-06-03", "2019-06-04", SMALL);
    for (const s of ["insert", "standard", "ready"] as const) await h.run(s, ["-r", "0"]);
    const key = "2019/06/03/bt/Austin_bt_2019-06-03_unmatched.json";
    for (const [k, r] of h.catalog.rows) if (r.repository === REPO.ready && r.id_ext === "unmatched.json") h.catalog.rows.delete(k);
    await h.storage.delete(REPO.ready, key);
    const first = await h.run("soc", ["-r", "0"]);
    expect(first.skipReasons[SKIP_WAIT_UNMATCHED]).toBe(1);
    expect(publicEntries(h)).toEqual(["2019-06-03 traf_match_summary.json"]);
    await h.run("ready", ["-r", "0"]);
    await h.run("soc", ["-r", "0"]);
    expect(publicEntries(h)).toEqual(["2019-06-03 matched.json", "2019-06-03 traf_match_summary.json", "2019-06-03 unmatched.json"]);
    const once = harness({ now: WEEK_NOW });
    await writeShare(once.share, "America/Chicago", "2019-06-03", "2019-06-04", SMALL);
    await once.runAll({ last_run_date: "0" });
    expect(dayRows(h, "2019-06-03")).toEqual(dayRows(once, "2019-06-03"));
  });

  describe("record ids do not depend on what shares a run (B1/B29)", () => {
    const DAY = "2019-06-03";
    async function weekRun(): Promise<Harness> {
      const h = harness({ now: WEEK_NOW });
      await writeShare(h.share, "America/Chicago", "2019-06-01", "2019-06-08", SMALL);
      await h.runAll({ start_date: "2019-06-01", end_date: "2019-06-08" });
      return h;
    }

    it("reprocessing one day alone gives the ids of a week-long run", async () => {
      const week = await weekRun();
      const alone = harness({ now: WEEK_NOW });
      await writeShare(alone.share, "America/Chicago", DAY, "2019-06-04", SMALL);
      await alone.runAll({ start_date: DAY, end_date: DAY });
      const a = dayRows(alone, DAY);
      expect(a.unmatched.length).toBeGreaterThan(10);
      expect(a.matched.length).toBeGreaterThan(5);
      expect(dayRows(week, DAY)).toEqual(a);
      // and the same device_address values
      const addr = (h: Harness) =>
        h.publisher
          .rows(DATASETS.unmatched)
          .filter((r) => String(r.host_read_time).startsWith(DAY))
          .map((r) => `${r.record_id}:${r.device_address}`)
          .sort();
      expect(addr(week)).toEqual(addr(alone));
    });

    it("publishing matched and unmatched in separate runs gives the ids of one run", async () => {
      const week = await weekRun();
      const h = harness({ now: WEEK_NOW });
      await writeShare(h.share, "America/Chicago", DAY, "2019-06-04", SMALL);
      for (const s of ["insert", "standard", "ready"] as const) await h.run(s, { start_date: DAY, end_date: DAY });
      const upsert = h.publisher.upsert.bind(h.publisher);
      let failUnmatched = true;
      h.publisher.upsert = async (dataset, rows, id) => {
        if (failUnmatched && dataset === DATASETS.unmatched) throw new TransientError("unmatched dataset unavailable");
        return upsert(dataset, rows, id);
      };
      const first = await h.run("soc", { start_date: DAY, end_date: DAY });
      expect(first.failed).toBe(1);
      expect(publicEntries(h)).toEqual([`${DAY} matched.json`, `${DAY} traf_match_summary.json`]);
      failUnmatched = false;
      const second = await h.run("soc", { start_date: DAY, end_date: DAY });
      expect(second.processed).toBe(1);
      expect(dayRows(h, DAY)).toEqual(dayRows(week, DAY));
    });
  });
});

describe("DST days end to end", () => {
  it("fall-back and spring-forward times keep their wall clock into the published rows", async () => {
    const h = harness({ now: "2019-11-05T04:00:00-06:00" });
    writeFileSync(
      path.join(h.share, "Austin_bt_11-03-2019.txt"),
      ["11/3/2019 12:59:59 AM,ip,11/3/2019 12:59:59 AM,lamar_mlk,a", "11/3/2019 1:30:00 AM,ip,11/3/2019 1:30:00 AM,lamar_mlk,b", "11/3/2019 2:30:00 AM,ip,11/3/2019 2:30:00 AM,lamar_mlk,c"].join("\r\n"),
    );
    await h.runAll({ start_date: "2019-11-03", end_date: "2019-11-03" });
    const std = JSON.parse(await h.object(REPO.standardized, "2019/11/03/bt/Austin_bt_2019-11-03_unmatched.json")) as {
      header: { collection_date: string };
      data: { host_timestamp: string }[];
    };
    expect(std.header.collection_date).toBe("2019-11-03 00:00:00-05:00");
    expect(std.data.map((r) => r.host_timestamp)).toEqual(["2019-11-03 00:59:59-05:00", "2019-11-03 01:30:00-06:00", "2019-11-03 02:30:00-06:00"]);
    expect(h.publisher.rows(DATASETS.unmatched).map((r) => r.host_read_time)).toEqual(["2019-11-03T00:59:59", "2019-11-03T01:30:00", "2019-11-03T02:30:00"]);

    writeFileSync(path.join(h.share, "Austin_bt_03-10-2019.txt"), "3/10/2019 2:30:00 AM,ip,3/10/2019 3:00:00 AM,lamar_mlk,a\r\n");
    await h.runAll({ start_date: "2019-03-10", end_date: "2019-03-10" });
    const spring = JSON.parse(await h.object(REPO.standardized, "2019/03/10/bt/Austin_bt_2019-03-10_unmatched.json")) as {
      data: { host_timestamp: string; field_timestamp: string }[];
    };
    expect(spring.data[0]).toMatchObject({ host_timestamp: "2019-03-10 02:30:00-06:00", field_timestamp: "2019-03-10 03:00:00-05:00" });
    expect(h.publisher.rows(DATASETS.unmatched).map((r) => r.host_read_time)).toContain("2019-03-10T02:30:00");
  });
});
