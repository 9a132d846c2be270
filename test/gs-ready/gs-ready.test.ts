import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { SKIP_NEXT_MISSING, SKIP_PREV_MISSING } from "../../src/sources/gs/source.js";
import { SiteFiles } from "../../src/sources/gs/assemble.js";
import { Catalog } from "../../src/support/catalog.js";
import { BURNET, FIXTURES, LOOP360, NOWHERE, REPO, Z1, Z2, ZONE, makeLake, type TestLake } from "./harness.js";
import gsSource from "../../src/sources/gs/source.js";
const main = gsSource.stage("gs-ready").main;

const day = (d: string, extra: Record<string, unknown> = {}) => ({ start_date: d, end_date: d, ...extra });
const countsName = (base: string, d: string) => `${base}_gs_${d}_counts.json`;
const golden = (name: string) => readFileSync(new URL(`golden/${name}`, FIXTURES), "utf8");

async function counts(lake: TestLake, base: string, d: string) {
  return (await lake.read(REPO.ready, countsName(base, d))).json as { header: Record<string, unknown>; counts: { timestamp_adj: string; zone: string }[]; site: any; device: any };
}

describe("gs-ready: golden files (hand-checked against §9.3.3)", () => {
  it("writes Burnet_Richcreek 2024-06-01 byte for byte: stitched zones, fuzzy-matched device, closest-future unit data", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    const s = await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(s.failures).toEqual([]);
    expect(s.processed).toBe(3);
    expect(s.records).toBe(9 + 3 + 1);
    expect((await lake.read(REPO.ready, countsName(BURNET, "2024-06-01"))).text).toBe(golden("Burnet_Richcreek_gs_2024-06-01_counts.json"));
    const c = await counts(lake, BURNET, "2024-06-01");
    // Header of §9.3.3: only these keys, processing_date from the injected clock.
    expect(Object.keys(c.header)).toEqual(["data_type", "zip_name", "collection_date", "processing_date", "version"]);
    expect(c.header.processing_date).toBe("2024-06-25 10:00:00-05:00");
    // Unit data dated 2024-06-02 (first after the day), not 2024-06-20 (device id 99).
    expect(c.device.atd_device_id).toBe(11);
    expect(c.device.reversed).toBe(false);
    // Site file: the nearest to the day (2024-05-20, 12 days before), not the later 2024-06-21 one (20 days after).
    expect(c.site.site.Location.Latitude.value).toBe(30.3422);
    // Catalog row in ready.
    const rows = lake.rows(REPO.ready, "counts.json");
    expect(rows.map((r) => r.id_base)).toEqual([BURNET, LOOP360, NOWHERE]);
    expect(rows[0]!.pointer).toBe("2024/06/01/gs/Burnet_Richcreek_gs_2024-06-01_counts.json");
  });

  it("writes Loop 360_Barton Creek byte for byte: lookup-table device with reversed (B16), site file after the day (fallback)", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await main(day("2024-06-01"), { runtime: lake.runtime });
    expect((await lake.read(REPO.ready, countsName(LOOP360, "2024-06-01"))).text).toBe(golden("Loop 360_Barton Creek_gs_2024-06-01_counts.json"));
    const c = await counts(lake, LOOP360, "2024-06-01");
    expect(c.device.atd_location_id).toBe("LOC16-004315");
    expect(c.device).toHaveProperty("reversed", false);
    expect(c.site.header.collection_date).toBe("2024-06-05 00:00:00-05:00");
  });

  it("writes device [] when nothing matches", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await main(day("2024-06-01"), { runtime: lake.runtime });
    expect((await counts(lake, NOWHERE, "2024-06-01")).device).toEqual([]);
  });

  it("takes sources.gs.lookups from the config", async () => {
    const lake = makeLake(undefined, { gs: { lookups: { Nowhere_Qqq: "LOC16-000013" } } });
    await lake.loadFixtures();
    await main(day("2024-06-01"), { runtime: lake.runtime });
    const c = await counts(lake, NOWHERE, "2024-06-01");
    expect(c.device.atd_device_id).toBe(13);
    expect(c.device.primary_st).toBe("S LAMAR BLVD");
  });
});

describe("gs-ready: day stitching", () => {
  it("day_covered +1 reads the previous day, -1 the next day, 0 neither; only [D, D+1) rows; only IncludeInData zones of configured cameras", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await main(day("2024-06-01"), { runtime: lake.runtime });
    const c = await counts(lake, BURNET, "2024-06-01");
    const ts = c.counts.map((r) => `${r.timestamp_adj} ${r.zone.slice(0, 4)}`);
    expect(ts).toEqual([
      "2024-06-01 00:01:00-05:00 0f1e",
      "2024-06-01 00:02:00-05:00 0f1e",
      "2024-06-01 00:05:00-05:00 a1b2", // Z1 day_covered +1: from 2024-05-31's file
      "2024-06-01 00:12:30.500000-05:00 a1b2",
      "2024-06-01 00:13:10-05:00 a1b2",
      "2024-06-01 00:14:59-05:00 a1b2",
      "2024-06-01 08:00:01-05:00 a1b2",
      "2024-06-01 08:14:00-05:00 0f1e",
      "2024-06-01 23:55:00-05:00 0f1e", // Z2 day_covered -1: from 2024-06-02's file
    ]);
    // Loop 360 (day_covered 0): its three rows, nothing else read.
    expect((await counts(lake, LOOP360, "2024-06-01")).counts).toHaveLength(3);
  });

  it("a previous-day file that is missing skips the intersection-day unless -p", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await lake.remove(REPO.standardized, `${BURNET}_gs_2024-05-31_${Z1}.json`);
    const s = await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(s.skipReasons[SKIP_PREV_MISSING]).toBe(1);
    expect(s.failed).toBe(0);
    expect(lake.rows(REPO.ready).map((r) => r.id_base)).toEqual([LOOP360, NOWHERE]);
    const s2 = await main(day("2024-06-01", { ignore_prev: true }), { runtime: lake.runtime });
    expect(s2.processed).toBe(1);
    const c = await counts(lake, BURNET, "2024-06-01");
    expect(c.counts).toHaveLength(8);
    expect(c.counts.some((r) => r.timestamp_adj === "2024-06-01 00:05:00-05:00")).toBe(false);
  });

  it("a next-day file that is missing skips the intersection-day unless -n (argv form)", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    const s = await main(["-s", "2024-06-02", "-e", "2024-06-02"], { runtime: lake.runtime });
    expect(s.skipReasons[SKIP_NEXT_MISSING]).toBe(1);
    expect(lake.rows(REPO.ready)).toEqual([]);
    const s2 = await main(["-s", "2024-06-02", "-e", "2024-06-02", "-n"], { runtime: lake.runtime });
    expect(s2.processed).toBe(1);
    expect((await counts(lake, BURNET, "2024-06-02")).counts.map((r) => r.timestamp_adj)).toEqual(["2024-06-02 00:20:00-05:00"]);
  });

  it("tracks missing previous and next files separately (B16: the original kept the last zone's day_covered)", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await lake.remove(REPO.standardized, `${BURNET}_gs_2024-05-31_${Z1}.json`); // Z1 needs 05-31
    await lake.remove(REPO.standardized, `${BURNET}_gs_2024-06-02_${Z2}.json`); // Z2 needs 06-02
    // -n alone: the original would have written the day (last zone's -1 ignored by -n); the missing 05-31 still counts.
    const s = await main(day("2024-06-01", { ignore_next: true }), { runtime: lake.runtime });
    expect(s.skipReasons[SKIP_PREV_MISSING]).toBe(1);
    expect(lake.rows(REPO.ready, "counts.json").map((r) => r.id_base)).not.toContain(BURNET);
    const s2 = await main(day("2024-06-01", { ignore_next: true, ignore_prev: true }), { runtime: lake.runtime });
    expect(s2.processed).toBe(1);
  });

  it("processes several days, each after the loop has moved past it, and the last one after the loop", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    const s = await main({ start_date: "2024-05-31", end_date: "2024-06-03" }, { runtime: lake.runtime });
    // 05-31: Burnet; 06-01: all three; 06-02: Burnet skipped (next day's file missing).
    expect(lake.rows(REPO.ready).map((r) => `${new Date(r.collection_date).toISOString().slice(0, 10)} ${r.id_base}`)).toEqual([
      "2024-05-31 Burnet_Richcreek",
      "2024-06-01 Burnet_Richcreek",
      "2024-06-01 Loop 360_Barton Creek",
      "2024-06-01 Nowhere_Qqq",
    ]);
    expect(s.processed).toBe(4);
    expect(s.skipReasons[SKIP_NEXT_MISSING]).toBe(1);
    const c = await counts(lake, BURNET, "2024-05-31");
    expect(c.counts.map((r) => r.timestamp_adj)).toEqual(["2024-05-31 12:00:00-05:00", "2024-05-31 18:30:00-05:00", "2024-05-31 23:59:00-05:00"]);
  });

  it("takes the whole 25-hour fall-back day, [00:00-05:00, next 00:00-06:00)", async () => {
    const lake = makeLake("2024-11-10T10:00:00-06:00");
    await lake.loadFixtures((n) => n.includes("2024-05-20_site") || n.includes("unit_data"));
    const unit = (await lake.read(REPO.standardized, "Austin_gs_2024-06-02_unit_data.json")).text;
    await lake.put(REPO.standardized, "Austin_gs_2024-11-04_unit_data.json", unit);
    const mk = (adj: string) => ({ count_version: 8, turn: "S", vehicle_length: 15.0, speed: 30, seconds_in_zone: 1.5, timestamp_adj: adj });
    const header = (d: string, covered: number) => ({ data_type: "gridsmart", zip_name: `${BURNET}_gs_${d}.zip`, origin_filename: `${Z1}.csv`, target_filename: "t", collection_date: `${d} 00:00:00-05:00`, processing_date: "p", version: 8, guid: Z1, day_covered: covered });
    await lake.put(REPO.standardized, `${BURNET}_gs_2024-11-03_${Z1}.json`, {
      header: header("2024-11-03", 0),
      data: ["2024-11-02 23:59:59-05:00", "2024-11-03 00:00:00-05:00", "2024-11-03 01:30:00-05:00", "2024-11-03 01:30:00-06:00", "2024-11-03 23:59:59-06:00", "2024-11-04 00:00:00-06:00"].map(mk),
    });
    await lake.put(REPO.standardized, `${BURNET}_gs_2024-11-03_${Z2}.json`, { header: header("2024-11-03", 0), data: [] });
    const s = await main(day("2024-11-03"), { runtime: lake.runtime });
    expect(s.failures).toEqual([]);
    const c = await counts(lake, BURNET, "2024-11-03");
    expect(c.counts.map((r) => r.timestamp_adj)).toEqual(["2024-11-03 00:00:00-05:00", "2024-11-03 01:30:00-05:00", "2024-11-03 01:30:00-06:00", "2024-11-03 23:59:59-06:00"]);
  });
});

describe("gs-ready: which site file", () => {
  it("the one captured nearest to the day, the later one on a tie, with a warning beyond the horizon (same rule as gs-json-standard)", async () => {
    const lake = makeLake();
    await lake.loadFixtures((n) => n.includes(`${BURNET}_gs_`) && n.includes("_site"));
    const catalog = new Catalog(lake.catalog, "gs", { zone: ZONE });
    const sites = new SiteFiles({ list: (q = {}) => catalog.list(REPO.standardized, q), read: (p) => lake.storage.get(REPO.standardized, p) });
    const dated = async (d: string) => {
      const c = await sites.forDay(BURNET, DateTime.fromISO(d, { zone: ZONE }));
      return [c?.entry.collectionDate.toISODate(), c?.daysFromDay];
    };
    expect(await dated("2024-06-01")).toEqual(["2024-05-20", -12]);
    expect(await dated("2024-06-05")).toEqual(["2024-06-21", 16]); // 16 days from both: the capture after the day
    expect(await dated("2024-06-06")).toEqual(["2024-06-21", 15]);
    expect(await dated("2024-05-01")).toEqual(["2024-05-20", 19]);
    expect(await dated("2024-07-01")).toEqual(["2024-06-21", -10]);
    // The stage reports a site file further than sources.gs.siteFileHorizonDays once, naming both dates.
    await lake.loadFixtures((n) => n.includes("unit_data") || (n.includes(`${BURNET}_gs_2024-06-01_`) && !n.includes("site")));
    const warnings: string[] = [];
    lake.runtime.events.on("log", (e) => e.level === "warn" && warnings.push(e.message));
    await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(warnings.filter((w) => w.includes("siteFileHorizonDays"))).toEqual([
      `${BURNET}: the site file dated 2024-05-20 is the nearest there is for 2024-06-01, 12 days away (more than sources.gs.siteFileHorizonDays = 7); its zones and clock reading were used`,
    ]);
    const wide = makeLake("2024-06-25T10:00:00-05:00", { gs: { siteFileHorizonDays: 12 } });
    await wide.loadFixtures((n) => n.includes(BURNET) || n.includes("unit_data"));
    const quiet: string[] = [];
    wide.runtime.events.on("log", (e) => e.level === "warn" && quiet.push(e.message));
    await main(day("2024-06-01"), { runtime: wide.runtime });
    expect(quiet.filter((w) => w.includes("siteFileHorizonDays"))).toEqual([]);
  });
});

describe("gs-ready: runs", () => {
  it("processes nothing when no item was seen (B34), even without unit data", async () => {
    const lake = makeLake();
    await lake.loadFixtures((n) => n.includes("_site"));
    const s = await main({ start_date: "2024-05-01", end_date: "2024-06-20" }, { runtime: lake.runtime });
    expect(s).toMatchObject({ processed: 0, failed: 0 });
    expect(lake.rows(REPO.ready)).toEqual([]);
  });

  it("fails each intersection-day clearly when no unit data is dated after the day (B33)", async () => {
    const lake = makeLake();
    await lake.loadFixtures((n) => !n.includes("unit_data"));
    const s = await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(s.failed).toBe(3);
    expect(s.failures[0]!.item).toBe(`${BURNET}/2024-06-01`);
    expect(s.failures[0]!.error).toMatch(/No unit data dated after 2024-06-01/);
  });

  it("a broken zone file fails its intersection-day with the file's key; the others are written", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await lake.put(REPO.standardized, `${BURNET}_gs_2024-06-01_${Z2}.json`, '{"header": {"version": 8}, "data": [{"timestamp_adj": ');
    const s = await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(s.failed).toBe(1);
    expect(s.failures[0]!.item).toBe(`${BURNET}/2024-06-01`);
    expect(s.failures[0]!.error).toContain(`2024/06/01/gs/${BURNET}_gs_2024-06-01_${Z2}.json`);
    expect(lake.rows(REPO.ready).map((r) => r.id_base)).toEqual([LOOP360, NOWHERE]);
  });

  it("reruns change nothing; -F rewrites", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    const first = await main(day("2024-06-01"), { runtime: lake.runtime });
    const again = await main(day("2024-06-01"), { runtime: lake.runtime });
    expect(again.processed).toBe(0);
    expect(again.skipReasons["already done"]).toBeGreaterThan(0);
    // One unit from first run to rerun (device days, not zone files): what was processed or skipped is skipped.
    expect(again.skipped).toBe(first.processed + first.skipped);
    const forced = await main(day("2024-06-01", { force: true }), { runtime: lake.runtime });
    expect(forced.processed).toBe(3);
  });

  it("simulation (-0) writes nothing", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    const s = await main(day("2024-06-01", { simulate: true }), { runtime: lake.runtime });
    expect(s.processed).toBe(3);
    expect(lake.rows(REPO.ready)).toEqual([]);
    expect(await lake.storage.exists(REPO.ready, "2024/06/01/gs/Burnet_Richcreek_gs_2024-06-01_counts.json")).toBe(false);
    expect(s.plan?.some((p) => p.kind === "storage" && p.detail.includes("Burnet_Richcreek_gs_2024-06-01_counts.json"))).toBe(true);
  });

  it("logs a Ready perfmet job covering the processed day", async () => {
    const lake = makeLake();
    await lake.loadFixtures();
    await main(day("2024-06-01"), { runtime: lake.runtime });
    const jobs = await lake.perfmet.readJobs({ from: 0, to: Date.now() * 2 });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ data_source: "GRIDSMART", stage: "Ready", records: 3 });
    expect(jobs[0]!.collection_start).toBe(Date.parse("2024-06-01T05:00:00Z"));
    expect(jobs[0]!.collection_end).toBe(Date.parse("2024-06-02T05:00:00Z"));
  });
});
