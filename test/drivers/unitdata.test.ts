import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { unitDataConformance } from "../conformance/unitdata.js";
import { KnackFake, KNACK_SEED_EXPECTED, knackSeed, num, address } from "../fakes/knack-fake.js";
import knackDriver, { createKnackUnitData, knackOptions } from "../../src/drivers/unitdata/knack.js";
import localDriver, { createLocalUnitData } from "../../src/drivers/unitdata/local.js";
import { normaliseDevice, pyFloat, toFloatOrNull, toIntOrNull, trimOrNull } from "../../src/drivers/unitdata/normalise.js";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { withRetry, NO_RETRY, type RetryPolicy } from "../../src/support/resilience.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import type { UnitDevice } from "../../src/support/drivers.js";
import { deviceRequest } from "../helpers/devices.js";

const FAST: RetryPolicy = { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20 };

/** The expected inventory as someone would type it in inventory.json: ids as float text, padded streets. */
function looseInventory(): Record<string, Record<string, unknown>[]> {
  const loosen = (d: UnitDevice) => ({
    ...d,
    ...(typeof d.kits_id === "number" ? { kits_id: `${d.kits_id}.0` } : {}),
    ...(typeof d.coa_intersection_id === "number" ? { coa_intersection_id: String(d.coa_intersection_id) } : {}),
    ...(typeof d.lat === "number" ? { lat: ` ${d.lat} ` } : {}),
    ...(typeof d.primary_st === "string" ? { primary_st: `  ${d.primary_st} ` } : {}),
  });
  return { bt: KNACK_SEED_EXPECTED.bt.map(loosen), wt: KNACK_SEED_EXPECTED.wt.map(loosen), gs: KNACK_SEED_EXPECTED.gs.map(loosen) };
}

function inventoryFile(content: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), "inv-"));
  const file = path.join(dir, "inventory.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

unitDataConformance("local", {
  expected: KNACK_SEED_EXPECTED,
  create: async () => createLocalUnitData(inventoryFile(looseInventory())),
});

describe("normalisation (original cInt / cFlt / tStr)", () => {
  it("integers go through float, truncating; missing, NaN, infinite and unparseable give null", () => {
    expect(toIntOrNull("5152102.0")).toBe(5152102);
    expect(toIntOrNull(" 12.9 ")).toBe(12);
    expect(toIntOrNull(-3.7)).toBe(-3);
    expect(toIntOrNull("1e3")).toBe(1000);
    expect(toIntOrNull(true)).toBe(1);
    for (const bad of [null, undefined, "", "n/a", "nan", "inf", Number.NaN, "0x10", {}]) expect(toIntOrNull(bad)).toBeNull();
  });

  it("floats parse like Python float(); lat/lon null when missing", () => {
    expect(toFloatOrNull(" 30.3056 ")).toBe(30.3056);
    expect(toFloatOrNull("-97.7")).toBe(-97.7);
    expect(toFloatOrNull("")).toBeNull();
    expect(pyFloat("-inf")).toBe(-Infinity);
    expect(Number.isNaN(pyFloat("NaN"))).toBe(true);
  });

  it("streets are trimmed; missing stays null; empty text stays empty as in the original", () => {
    expect(trimOrNull("  LAMAR BLVD ")).toBe("LAMAR BLVD");
    expect(trimOrNull(null)).toBeNull();
    expect(trimOrNull(Number.NaN)).toBeNull();
    expect(trimOrNull("")).toBe("");
  });

  it("puts keys in the source's order, fills missing ones with null, keeps extras after them", () => {
    const d = normaliseDevice({ reversed: true, lon: "1", device_type: "GRIDSMART" }, deviceRequest("gs").keys, "test");
    expect(Object.keys(d)).toEqual([
      "device_type", "atd_device_id", "device_ip", "device_status", "ip_comm_status", "atd_location_id", "coa_intersection_id",
      "lat", "lon", "primary_st", "primary_st_segment_id", "cross_st", "cross_st_segment_id", "reversed",
    ]);
    expect(d.lon).toBe(1);
    expect(d.atd_device_id).toBeNull();
  });
});

describe("local unit data", () => {
  it("defaults to <home>/sources/inventory.json", async () => {
    const ctx = testContext();
    mkdirSync(path.join(ctx.home, "sources"));
    writeFileSync(path.join(ctx.home, "sources", "inventory.json"), JSON.stringify({ bt: [], wt: [], gs: [] }));
    const d = await localDriver.create(localDriver.options.parse({}), ctx);
    expect(await d.devices(deviceRequest("bt"))).toEqual([]);
  });

  it("a missing file is bad input (a TerminalError: the source's stages fail, the run goes on) naming it", async () => {
    const file = path.join(tmpdir(), "no-such-dir-x", "inventory.json");
    const err = await createLocalUnitData(file).devices(deviceRequest("wt")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).not.toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/does not exist/);
  });

  it("malformed JSON, a wrong shape, a missing list and a bad device are TerminalErrors naming the file and what to do", async () => {
    const cases: [unknown, RegExp][] = [
      ["{ not json", /is not valid JSON/],
      [[1, 2], /must hold an object/],
      [{ bt: [] }, /has no "wt" list/],
      [{ wt: {} }, /"wt" must be a list/],
      [{ wt: [{ device_type: "RADAR" }, 5] }, /wt device 1 is not an object/],
      [{ wt: [{ device_type: { nested: 1 } }] }, /wt device 0, field "device_type"/],
    ];
    for (const [content, re] of cases) {
      const file = inventoryFile(content);
      const err = await createLocalUnitData(file).devices(deviceRequest("wt")).catch((e: unknown) => e);
      expect(err, String(re)).toBeInstanceOf(TerminalError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(/fix the file|add "wt"|must be a list/);
    }
  });
});

describe("knack unit data on the Knack fake", () => {
  let fake: KnackFake;
  /** The Knack driver behind the driver runtime (deadline timeoutMs, no retries unless a test asks). */
  const create = ({ timeoutMs = 5000, ...over }: Record<string, unknown> = {}, cred = { appId: "fake-app", apiKey: "fake-key" }) =>
    runtimeDriver("unitdata", createKnackUnitData(knackOptions.parse({ baseUrl: fake.baseUrl, ...over }), cred), {
      timeoutMs: timeoutMs as number,
      retry: NO_RETRY,
    });

  beforeAll(async () => {
    fake = await KnackFake.start();
  });
  afterEach(() => {
    fake.reset();
    fake.objects = knackSeed();
  });
  afterAll(async () => {
    await fake.close();
  });

  unitDataConformance("knack", { expected: KNACK_SEED_EXPECTED, create: async () => create() });

  it("sends the app id and key headers, pages through records and filters sensors by field_884", async () => {
    await create({ rowsPerPage: 2 }).devices(deviceRequest("wt"));
    const recs = fake.requests.filter((r) => r.path.endsWith("/records"));
    expect(recs.map((r) => `${r.path}?${r.query.page}`)).toEqual(["/v1/objects/object_56/records?1", "/v1/objects/object_11/records?1", "/v1/objects/object_11/records?2"]);
    expect(JSON.parse(recs[0]!.query.filters!)).toEqual({ match: "and", rules: [{ field: "field_884", operator: "is", value: "RADAR" }] });
    expect(recs[0]!.headers["x-knack-application-id"]).toBe("fake-app");
    expect(recs[0]!.headers["x-knack-rest-api-key"]).toBe("<masked>");
  });

  it("filters GRIDSMART detectors by field_2384 is 1", async () => {
    await create().devices(deviceRequest("gs"));
    const q = fake.requests.find((r) => r.path === "/v1/objects/object_98/records")!;
    expect(JSON.parse(q.query.filters!).rules).toEqual([{ field: "field_2384", operator: "is", value: 1 }]);
  });

  it("configured field keys skip the metadata lookup; a label missing from the app is a ConfigError telling what to set", async () => {
    const fields = {
      locations: { fields: { ATD_LOCATION_ID: "field_1", COA_INTERSECTION_ID: "field_2", CROSS_ST: "field_3", CROSS_ST_SEGMENT_ID: "field_4", LOCATION: "field_5", PRIMARY_ST: "field_6", PRIMARY_ST_SEGMENT_ID: "field_7", SIGNAL_ID: "field_8" } },
      sensors: { fields: { ATD_SENSOR_ID: "field_880", READER_ID: "field_881", SENSOR_STATUS: "field_882", SENSOR_IP: "field_883", SENSOR_TYPE: "field_884", IP_COMM_STATUS: "field_885", ATD_LOCATION_ID: "field_886", KITS_ID: "field_887" } },
    };
    expect(await create(fields).devices(deviceRequest("bt"))).toEqual(KNACK_SEED_EXPECTED.bt);
    expect(fake.requests.some((r) => r.path.startsWith("/v1/applications/"))).toBe(false);

    fake.objects[1]!.fields = { ...fake.objects[1]!.fields, field_887: "KITS_NUMBER" };
    const err = await create().devices(deviceRequest("wt")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/object_56 has no field labelled KITS_ID: set unitdata\.options\.sensors\.fields\.KITS_ID/);
  });

  it("left join: a location listed twice gives the device twice (pandas merge); HTML in formatted values is stripped", async () => {
    const locs = fake.objects[0]!;
    locs.records.push({ ...locs.records[1]!, CROSS_ST: "OTHER ST", LOCATION: address(1, 2) });
    fake.objects[1]!.records[1]!.READER_ID = { raw: "x", formatted: '<span class="a">LAMAR &amp; MANCHACA</span>' };
    const wt = await create().devices(deviceRequest("wt"));
    expect(wt.map((d) => [d.atd_device_id, d.device_name, d.cross_st, d.lat])).toEqual([
      ["10", "LAMAR & MANCHACA", "MANCHACA RD", 30.2],
      ["10", "LAMAR & MANCHACA", "OTHER ST", 1],
      ["11", "BURNET_X", null, null],
    ]);
  });

  it("a device whose ATD_LOCATION_ID is empty joins nothing and keeps null location fields", async () => {
    fake.objects[1]!.records = [{ ATD_SENSOR_ID: "7", SENSOR_TYPE: "RADAR", ATD_LOCATION_ID: "", KITS_ID: num(3) }];
    const [d] = await create().devices(deviceRequest("wt"));
    expect(d).toMatchObject({ atd_device_id: "7", atd_location_id: "", lat: null, primary_st: null, kits_id: 3, device_name: null });
  });

  it("wrong credentials are a ConfigError", async () => {
    const err = await create({}, { appId: "fake-app", apiKey: "wrong" }).devices(deviceRequest("bt")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/KNACK_APP_ID and KNACK_API_KEY/);
    expect((err as Error).message).not.toContain("wrong");
  });

  it("429 is a TransientError with Retry-After; withRetry then succeeds", async () => {
    fake.throttleNext(1, 1);
    const seen: TransientError[] = [];
    const d = create();
    const devices = await withRetry("unit data", () => d.devices(deviceRequest("bt")), FAST, ({ error }) => seen.push(error as TransientError));
    expect(devices).toEqual(KNACK_SEED_EXPECTED.bt);
    expect(seen[0]).toBeInstanceOf(TransientError);
    expect(seen[0]!.retryAfterMs).toBe(1000);
  });

  it("B20: a 5xx that outlasts the retries surfaces after the last attempt (never a silent empty result)", async () => {
    fake.failNext(503, 100);
    const d = create();
    let attempts = 0;
    const err = await withRetry("unit data", (n) => {
      attempts = n;
      return d.devices(deviceRequest("bt"));
    }, FAST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/HTTP 503/);
    expect(attempts).toBe(FAST.retries + 1);
  });

  it("a request with no answer fails with a TransientError after timeoutMs", async () => {
    fake.stallNext(1);
    const err = await create({ timeoutMs: 300 }).devices(deviceRequest("bt")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/no answer within 300 ms/);
  });

  it("a 400 is a TerminalError; a closed port is a TransientError", async () => {
    fake.failNext(400, 1);
    await expect(create().devices(deviceRequest("bt"))).rejects.toThrow(TerminalError);
    const closed = await KnackFake.start();
    const url = closed.baseUrl;
    await closed.close();
    const err = await createKnackUnitData(knackOptions.parse({ baseUrl: url }), { appId: "a", apiKey: "b" }).devices(deviceRequest("bt")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("takes KNACK_APP_ID and KNACK_API_KEY from the secrets; refuses to start without them", async () => {
    const opts = knackDriver.options.parse({ baseUrl: fake.baseUrl });
    // Sensors are filtered by the device type each source declares (BLUETOOTH, RADAR); no per-source table here.
    expect(opts.sensors.filterValues).toEqual({});
    expect(opts.detectors.deviceType).toBe("GRIDSMART");
    expect(opts.detectors).toMatchObject({ object: "object_98", filterField: "field_2384", filterValue: 1 });
    await expect(async () => knackDriver.create(opts, testContext({ KNACK_APP_ID: "fake-app" }))).rejects.toThrow(/KNACK_API_KEY/);
    const d = await knackDriver.create(opts, testContext({ KNACK_APP_ID: "fake-app", KNACK_API_KEY: "fake-key" }));
    expect(await d.devices(deviceRequest("gs"))).toEqual(KNACK_SEED_EXPECTED.gs);
  });
});
