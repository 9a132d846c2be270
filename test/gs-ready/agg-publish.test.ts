import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
const ready = gsSource.stage("gs-ready").main;
const agg = gsSource.stage("gs-ready-agg").main;
import { SKIP_NO_DEVICE } from "../../src/sources/gs/source.js";
const publish = gsSource.stage("gs-agg-extract-soc").main;
import { recordId } from "../../src/sources/gs/publish.js";
import { TransientError } from "../../src/support/errors.js";
import type { PublishRow } from "../../src/support/drivers.js";
import { BURNET, FIXTURES, LOOP360, NOWHERE, REPO, makeLake, runtimeWith, type TestLake } from "./harness.js";
import gsSource from "../../src/sources/gs/source.js";

const DATASET = "sh59-i6y9";
const W = { start_date: "2024-06-01", end_date: "2024-06-01" };
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8");

async function readyLake(sources: Record<string, Record<string, unknown>> = {}): Promise<TestLake> {
  const lake = makeLake(undefined, sources);
  await lake.loadFixtures();
  const s = await ready(W, { runtime: lake.runtime });
  expect(s.failures).toEqual([]);
  return lake;
}

describe("gs-ready-agg", () => {
  it("writes the golden aggregate file (data = the original pandas code's output), header from the run clock (B36)", async () => {
    const lake = await readyLake();
    const s = await agg(W, { runtime: lake.runtime });
    expect(s).toMatchObject({ processed: 3, failed: 0 });
    const { text, json } = await lake.read(REPO.ready, `${BURNET}_gs_2024-06-01_agg15.json`);
    expect(text).toBe(fixture("golden/Burnet_Richcreek_gs_2024-06-01_agg15.json"));
    expect(json.header.processing_date).toBe("2024-06-25 10:00:00-05:00");
    expect(json.header.agg_interval_sec).toBe(900);
    expect(JSON.parse(text).data).toEqual(JSON.parse(fixture("golden/Burnet_Richcreek_agg15.reference.json")));
    expect(lake.rows(REPO.ready, "agg15.json").map((r) => r.id_base)).toEqual([BURNET, LOOP360, NOWHERE]);
  });

  it("joins only IncludeInData zones of configured cameras (B36): a zone listed again elsewhere does not duplicate vehicles", async () => {
    const lake = await readyLake();
    const { json } = await lake.read(REPO.ready, `${BURNET}_gs_2024-06-01_counts.json`);
    const cams = json.site.site.CameraDevices;
    // The unconfigured camera and an excluded zone name Z1's Id too, with other approaches.
    cams[1].Fisheye.CameraMasks.ZoneMasks.push({ Vehicle: { Id: cams[0].Fisheye.CameraMasks.ZoneMasks[0].Vehicle.Id, ApproachType: "Westbound", TurnType: "S", IncludeInData: true } });
    cams[0].Fisheye.CameraMasks.ZoneMasks.push({ Vehicle: { Id: cams[0].Fisheye.CameraMasks.ZoneMasks[0].Vehicle.Id, ApproachType: "Eastbound", TurnType: "S", IncludeInData: false } });
    await lake.put(REPO.ready, `${BURNET}_gs_2024-06-01_counts.json`, json);
    await agg(W, { runtime: lake.runtime });
    const out = (await lake.read(REPO.ready, `${BURNET}_gs_2024-06-01_agg15.json`)).json;
    expect(out.data.map((r: { zone_approach: string }) => r.zone_approach)).not.toContain("Westbound");
    expect(out.data.map((r: { zone_approach: string }) => r.zone_approach)).not.toContain("Eastbound");
    expect(out.data.reduce((n: number, r: { volume: number }) => n + r.volume, 0)).toBe(9);
  });

  it("-a N writes agg<N>.json next to other intervals; reruns change nothing", async () => {
    const lake = await readyLake();
    await agg(W, { runtime: lake.runtime });
    const five = await agg(["-s", "2024-06-01", "-e", "2024-06-01", "-a", "5"], { runtime: lake.runtime });
    expect(five.processed).toBe(3);
    const { json } = await lake.read(REPO.ready, `${BURNET}_gs_2024-06-01_agg5.json`);
    expect(json.header.agg_interval_sec).toBe(300);
    expect(json.data[0].timestamp).toBe("2024-06-01 00:00:00-05:00");
    expect(json.data.some((r: { timestamp: string }) => r.timestamp === "2024-06-01 00:10:00-05:00")).toBe(true);
    expect((await agg(W, { runtime: lake.runtime })).processed).toBe(0);
  });

  it("rejects a bad -a with a usage error", async () => {
    const lake = makeLake();
    await expect(async () => agg({ ...W, agg: "0" }, { runtime: lake.runtime })).rejects.toThrow(/-a\/--agg "0"/);
  });
});

describe("gs-agg-extract-soc", () => {
  async function aggLake(sources: Record<string, Record<string, unknown>> = {}) {
    const lake = await readyLake(sources);
    await agg(W, { runtime: lake.runtime });
    return lake;
  }
  const rowsOf = (lake: TestLake, name: string) => lake.publisher.rows(DATASET).filter((r) => r.intersection_name === name);

  it("publishes the rows of the original's code (reference run of its row loop), record ids included", async () => {
    const lake = await aggLake();
    const s = await publish(W, { runtime: lake.runtime });
    expect(s.failures).toEqual([]);
    const ours = rowsOf(lake, "BURNET RD / RICHCREEK RD");
    expect(ours).toEqual(JSON.parse(fixture("golden/Burnet_Richcreek_published.reference.json")));
    expect(Object.keys(ours[0]!)).toEqual([
      "atd_device_id", "read_date", "intersection_name", "direction", "movement", "heavy_vehicle", "volume", "speed_average",
      "speed_stddev", "seconds_in_zone_average", "seconds_in_zone_stddev", "month", "day", "year", "hour", "minute",
      "day_of_week", "bin_duration", "record_id",
    ]);
    // Saturday 2024-06-01: day_of_week 6 (Sunday = 0).
    expect(ours[0]).toMatchObject({ read_date: "2024-06-01T00:00:00", day_of_week: 6, bin_duration: 900, heavy_vehicle: false });
  });

  it("record_id golden values (MD5 of intersection + read_date + True/False + direction + movement)", () => {
    // python3: hashlib.md5("BURNET RD / RICHCREEK RD2024-06-01T00:00:00FalseNORTHBOUNDLEFT TURN".encode()).hexdigest()
    expect(recordId("BURNET RD / RICHCREEK RD", "2024-06-01T00:00:00", false, "NORTHBOUND", "LEFT TURN")).toBe("2ac59c3dd1a9fa6ca5e36f422216a2eb");
    expect(recordId("BURNET RD / RICHCREEK RD", "2024-06-01T00:00:00", true, "NORTHBOUND", "THRU")).toBe("af9c44e20d899fd3d4b6447ffc404729");
    expect(recordId("CAPITAL OF TEXAS HWY / BARTON CREEK BLVD", "2024-06-01T09:00:00", false, "EASTBOUND", "THRU")).toBe("5cdc461d9b5484ebe420c8f1f9fce866");
  });

  it.each([
    [false, "dst-published.reference.json"],
    [true, "dst-published-u.reference.json"],
  ])("matches the original on the fall-back day with Unassigned approaches (no_unassigned %s)", async (noUnassigned, ref) => {
    const lake = makeLake("2024-11-10T10:00:00-06:00");
    await lake.put(REPO.ready, "Dst_Test_gs_2024-11-03_agg15.json", fixture("dst-agg15-device.json"));
    const s = await publish({ start_date: "2024-11-03", end_date: "2024-11-03", no_unassigned: noUnassigned }, { runtime: lake.runtime });
    expect(s.failures).toEqual([]);
    // The destination upserts by record_id: the fall-back day's repeated local hour collides as in the original.
    const expected = new Map<string, PublishRow>();
    for (const r of JSON.parse(fixture(ref).replace(/\bNaN\b/g, "null")) as PublishRow[]) expected.set(String(r.record_id), r);
    expect(lake.publisher.rows(DATASET)).toEqual([...expected.values()]);
    expect(lake.publisher.rows(DATASET).some((r) => r.direction === "UNASSIGNED")).toBe(!noUnassigned);
  });

  it("records the publication in the public repository's catalog; reruns publish nothing and -F no duplicates", async () => {
    const lake = await aggLake();
    await publish(W, { runtime: lake.runtime });
    const cat = lake.rows(REPO.public, "agg15.json").filter((r) => !r.metadata?.skipped);
    expect(cat.map((r) => [r.id_base, r.pointer])).toEqual([[BURNET, DATASET], [LOOP360, DATASET]]);
    const n = await lake.publisher.countRows(DATASET);
    expect(n).toBe(10);
    const again = await publish(W, { runtime: lake.runtime });
    expect(again.processed).toBe(0);
    const forced = await publish({ ...W, force: true }, { runtime: lake.runtime });
    expect(forced.processed).toBe(2);
    expect(await lake.publisher.countRows(DATASET)).toBe(n);
  });

  it("publishes another -a interval separately (B28)", async () => {
    const lake = await aggLake();
    await publish(W, { runtime: lake.runtime });
    await agg({ ...W, agg: 5 }, { runtime: lake.runtime });
    const s = await publish({ ...W, agg: 5 }, { runtime: lake.runtime });
    expect(s.processed).toBe(2);
    expect(lake.rows(REPO.public).filter((r) => r.id_base === BURNET).map((r) => r.id_ext).sort()).toEqual(["agg15.json", "agg5.json"]);
    expect(lake.publisher.rows(DATASET).some((r) => r.bin_duration === 300)).toBe(true);
  });

  it("skips a file with no matched device with a reason, records it, does not retry it silently, republishes after a fix (B27)", async () => {
    const lake = await aggLake();
    const s = await publish(W, { runtime: lake.runtime });
    expect(s.skipReasons[SKIP_NO_DEVICE]).toBe(1);
    const marker = lake.rows(REPO.public).find((r) => r.id_base === NOWHERE)!;
    expect(marker.metadata).toMatchObject({ skipped: SKIP_NO_DEVICE, site_streets: "Nowhere / Qqq" });
    // Next night: not retried, counted as done.
    const again = await publish(W, { runtime: lake.runtime });
    expect(again.skipReasons[SKIP_NO_DEVICE]).toBeUndefined();
    expect(again.processed).toBe(0);
    // The inventory match is repaired (a lookup entry), the ready and aggregate days are redone with -F ...
    const rt = runtimeWith(lake, { gs: { lookups: { Nowhere_Qqq: "LOC16-000013" } } });
    await ready({ ...W, force: true }, { runtime: rt });
    await agg({ ...W, force: true }, { runtime: rt });
    // ... and --retry_skipped publishes it (only it), clearing the marker.
    const retried = await publish({ ...W, retry_skipped: true }, { runtime: rt });
    expect(retried.processed).toBe(1);
    expect(lake.rows(REPO.public).find((r) => r.id_base === NOWHERE)!.metadata?.skipped).toBeUndefined();
    expect(rowsOf(lake, "S LAMAR BLVD / MANCHACA RD")).toHaveLength(1);
    expect(rowsOf(lake, "S LAMAR BLVD / MANCHACA RD")[0]!.direction).toBe("UNASSIGNED");
  });

  it("-F republishes a skipped file once its device match is repaired (B27)", async () => {
    const lake = await aggLake();
    await publish(W, { runtime: lake.runtime });
    const rt = runtimeWith(lake, { gs: { lookups: { Nowhere_Qqq: "LOC16-000013" } } });
    await ready({ ...W, force: true }, { runtime: rt });
    await agg({ ...W, force: true }, { runtime: rt });
    const forced = await publish({ ...W, force: true }, { runtime: rt });
    expect(forced.processed).toBe(3);
    expect(forced.skipReasons[SKIP_NO_DEVICE]).toBeUndefined();
    expect(lake.rows(REPO.public).every((r) => r.metadata?.skipped === undefined)).toBe(true);
  });

  it("writes no catalog row when the publish fails (the file is retried next run)", async () => {
    const lake = await aggLake();
    const upsert = lake.publisher.upsert;
    lake.publisher.upsert = async () => {
      throw new TransientError("socrata down");
    };
    const rt = lake.runtime;
    Object.assign(rt.config.retry, { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 });
    const s = await publish(W, { runtime: rt });
    expect(s.failed).toBe(2);
    expect(lake.rows(REPO.public).filter((r) => !r.metadata?.skipped)).toEqual([]);
    lake.publisher.upsert = upsert;
    expect((await publish(W, { runtime: rt })).processed).toBe(2);
  });

  it("simulation writes no rows and no catalog entries", async () => {
    const lake = await aggLake();
    const s = await publish({ ...W, simulate: true }, { runtime: lake.runtime });
    expect(s.processed).toBe(2);
    expect(await lake.publisher.countRows(DATASET)).toBe(0);
    expect(lake.rows(REPO.public)).toEqual([]);
  });
});
