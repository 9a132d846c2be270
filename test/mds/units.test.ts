/** The parts of the mds source and its framework features on their own: encryption at rest, MDS versions, enrichment. */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { decrypt, encrypt, isEncrypted, parseKey } from "../../src/util/encryption.js";
import { firstPageUrl, headersOf } from "../../src/sources/mds/provider.js";
import { publishedRow, tripRow, tripSchema, TRIPS } from "../../src/sources/mds/trips.js";
import { STATUS_CHANGES, statusChangeId } from "../../src/sources/mds/status-changes.js";
import { fakeStatusChanges, fakeTrips } from "../../src/sources/mds/fake.js";
import { mdsConfig } from "../../src/sources/mds/config.js";
import { partitionsBetween } from "../../src/util/partitions.js";
import { KEY } from "./harness.js";

const zone = "America/Chicago";

describe("encryption at rest (AES-256-GCM)", () => {
  it("round-trips, marks its objects, and refuses a wrong key or a changed byte loudly", () => {
    const key = parseKey(KEY);
    const sealed = encrypt(Buffer.from("secret trips"), key);
    expect(isEncrypted(sealed)).toBe(true);
    expect(isEncrypted(Buffer.from("{\"trips\": []}"))).toBe(false);
    expect(decrypt(sealed, key, "x").toString()).toBe("secret trips");
    expect(() => decrypt(sealed, parseKey("a".repeat(64)), "raw/x")).toThrow(/raw\/x: cannot decrypt \(wrong LAKE_ENCRYPTION_KEY/);
    sealed[sealed.length - 1]! ^= 1;
    expect(() => decrypt(sealed, key, "x")).toThrow(/cannot decrypt/);
    expect(() => parseKey("short")).toThrow(/32 bytes/);
  });
});

describe("MDS versions", () => {
  const base = mdsConfig.parse({ providers: [{ name: "a", version: "0.3", url: "http://p/api" }, { name: "b", version: "0.4", url: "http://p/api/" }] }).providers;
  const start = DateTime.fromISO("2024-11-03T01:00-06:00", { setZone: true }).setZone(zone);
  it("0.3 asks by min/max_end_time in epoch ms, 0.4 by end_time (UTC hour) with the version in Accept", () => {
    expect(firstPageUrl(base[0]!, TRIPS, start, start.plus({ hours: 1 }))).toBe(`http://p/api/trips?min_end_time=${start.toMillis()}&max_end_time=${start.toMillis() + 3_600_000}`);
    expect(firstPageUrl(base[1]!, TRIPS, start, start.plus({ hours: 1 }))).toBe("http://p/api/trips?end_time=2024-11-03T07");
    expect(headersOf(base[1]!).Accept).toBe("application/vnd.mds.provider+json;version=0.4");
  });
  it("the two 01:00 hours of the fall-back day are two hours (different end_time)", () => {
    const hours = [...partitionsBetween(DateTime.fromISO("2024-11-03", { zone }), DateTime.fromISO("2024-11-04", { zone }), "hour", zone)];
    const urls = hours.map((h) => firstPageUrl(base[1]!, TRIPS, h.start, h.end));
    expect(new Set(urls).size).toBe(25);
  });
  it("status changes: 0.3 by start_time/end_time (epoch ms), 0.4 by event_time (UTC hour)", () => {
    expect(firstPageUrl(base[0]!, STATUS_CHANGES, start, start.plus({ hours: 1 }))).toBe(`http://p/api/status_changes?start_time=${start.toMillis()}&end_time=${start.toMillis() + 3_600_000}`);
    expect(firstPageUrl(base[1]!, STATUS_CHANGES, start, start.plus({ hours: 1 }))).toBe("http://p/api/status_changes?event_time=2024-11-03T07");
  });
});

describe("trips", () => {
  const p = { name: "lime", version: "0.4" as const, token: "t" };
  it("a valid trip gets council district and census tract at both ends; the published row has no coordinates", () => {
    const t = tripSchema.parse(fakeTrips(p, Date.UTC(2024, 10, 1, 5))[0]);
    const { row, outside } = tripRow(t, "lime", "0.4");
    expect(outside).toEqual([]);
    expect(row.council_district_start).toBeGreaterThanOrEqual(1);
    expect(String(row.census_geoid_end)).toMatch(/^48453\d{6}$/);
    const pub = publishedRow(row, zone);
    expect(Object.keys(pub).some((k) => /lat|lon/.test(k))).toBe(false);
    expect(pub.start_time).toMatch(/^2024-11-01T00:\d\d:\d\d$/);
  });
  it("a point outside the layers is loaded with no geography and named; published as 0 (zero-filled)", () => {
    const t = tripSchema.parse(fakeTrips({ ...p, badHours: [Date.UTC(2024, 10, 1, 5)] }, Date.UTC(2024, 10, 1, 5))[2]);
    const { row, outside } = tripRow(t, "lime", "0.4");
    expect(outside).toEqual(["start outside the reference layers"]);
    expect(row.council_district_start).toBeNull();
    expect(publishedRow(row, zone).council_district_start).toBe(0);
  });
});

describe("status changes", () => {
  const p = { name: "lime", version: "0.3" as const, token: "t" };
  const h = Date.UTC(2024, 10, 1, 5);
  it("the event location gets council district and census tract; the key is a digest of provider, device, time, type, reason", () => {
    const [first, second] = fakeStatusChanges(p, h);
    const a = STATUS_CHANGES.row(first, "lime", "0.3");
    if ("refused" in a) throw new Error(a.refused);
    expect(a.outside).toEqual([]);
    expect(a.row.council_district).toBeGreaterThanOrEqual(1);
    expect(String(a.row.census_geoid)).toMatch(/^48453\d{6}$/);
    expect(a.row.status_change_id).toBe(statusChangeId(first as Parameters<typeof statusChangeId>[0]));
    expect(a.row.status_change_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(statusChangeId({ ...(first as Parameters<typeof statusChangeId>[0]), event_type_reason: "maintenance" })).not.toBe(a.row.status_change_id);
    const b = STATUS_CHANGES.row(second, "lime", "0.3");
    expect("row" in b && b.row.status_change_id).not.toBe(a.row.status_change_id);
    const pub = STATUS_CHANGES.published(a.row, zone);
    expect(Object.keys(pub).some((k) => /lat|lon|device/.test(k))).toBe(false);
    expect(pub.event_time).toMatch(/^2024-11-01T00:\d\d:\d\d$/);
  });
  it("a record missing a field or with an unknown event type is refused with the reason; a location outside the layers is named", () => {
    const [noDevice, badType, outside] = fakeStatusChanges({ ...p, badHours: [h] }, h);
    expect(STATUS_CHANGES.row(noDevice, "lime", "0.3")).toEqual({ refused: "missing device_id" });
    expect(STATUS_CHANGES.row(badType, "lime", "0.3")).toEqual({ refused: expect.stringMatching(/^event_type: /) });
    const o = STATUS_CHANGES.row(outside, "lime", "0.3");
    expect("row" in o && [o.outside, o.row.council_district, STATUS_CHANGES.published(o.row, zone).council_district]).toEqual([["event location outside the reference layers"], null, 0]);
  });
});

describe("lake backfill mds plans per provider and local hour", () => {
  it("the 25-hour day 2024-11-03 is 25 hourly blocks per provider, the 23-hour 2024-03-10 is 23", async () => {
    const { LakeRuntime } = await import("../../src/support/runtime.js");
    const { planRange } = await import("../../src/orchestration/backfill.js");
    const { defaultRegistry } = await import("../../src/orchestration/pipelines.js");
    const providers = [{ name: "lime", version: "0.4", url: "http://x/" }, { name: "bird", version: "0.3", url: "http://y/" }];
    const runtime = LakeRuntime.create({ overrides: { home: "/nonexistent", sources: { mds: { providers } } }, env: {} });
    const registry = await defaultRegistry();
    const fall = await planRange(runtime, registry, "mds", { timeMin: "2024-11-03", timeMax: "2024-11-04" });
    expect([fall.days.length, fall.stages, fall.partitioned]).toEqual([100, ["mds-extract", "mds-load", "mds-publish"], true]);
    expect(fall.days.slice(4, 12)).toEqual(["lime", "bird", "lime.status_changes", "bird.status_changes"].flatMap((e) => `2024-11-03T01:00-05:00#${e}`).concat(["lime", "bird", "lime.status_changes", "bird.status_changes"].map((e) => `2024-11-03T01:00-06:00#${e}`)));
    const spring = await planRange(runtime, registry, "mds", { timeMin: "2024-03-10", timeMax: "2024-03-11", only: ["load"] });
    expect([spring.days.length, spring.stages]).toEqual([92, ["mds-load"]]);
    runtime.overrideSourceConfig("mds", { providers: providers.map((p) => ({ ...p, endpoints: ["status_changes"] })) });
    const only = await planRange(runtime, registry, "mds", { timeMin: "2024-03-10", timeMax: "2024-03-11" });
    expect([only.days.length, only.days[0]]).toEqual([46, "2024-03-10T00:00-06:00#lime.status_changes"]);
  });
});

describe("blocks of endpoints", () => {
  it("a block of an endpoint or provider that is not configured is a configuration error naming it", async () => {
    const mds = (await import("../../src/sources/mds/source.js")).default;
    const extract = mds.stage("extract").decl as { run(block: unknown, ctx: unknown, state: unknown): Promise<unknown> };
    const config = mdsConfig.parse({ providers: [{ name: "lime", version: "0.4", url: "http://x/", endpoints: ["trips"] }] });
    const [partition] = partitionsBetween(DateTime.fromISO("2024-11-01", { zone }), DateTime.fromISO("2024-11-01T01:00", { zone }), "hour", zone);
    const run = (entity: string) => extract.run({ key: `${partition!.key}#${entity}`, entity, partition }, { config }, undefined);
    await expect(run("lime.status_changes")).rejects.toThrow(/provider lime: endpoint "status_changes" is not one of its endpoints \(trips\)/);
    await expect(run("lime.vehicles")).rejects.toThrow(/provider lime: endpoint "vehicles" is not one of its endpoints/);
    await expect(run("bird")).rejects.toThrow(/sources.mds.providers has no provider "bird"/);
  });
});
