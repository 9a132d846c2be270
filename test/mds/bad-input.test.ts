/**
 * Bad input and misbehaving providers: a page that is not JSON, records missing required fields, points outside the
 * reference layers — each counted and reported with block, file and line while the rest goes on; a provider that
 * throttles (429 + Retry-After) is waited for; one that fails for an hour fails that block only; MDS 0.3 and 0.4.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homeFile, hour, mdsLake, statusesOf, type MdsLake } from "./harness.js";
import type { BlockRecord } from "../../src/support/block-store.js";
import type { SqlDriver } from "../../src/support/drivers.js";
import { fakeTrips } from "../../src/sources/mds/fake.js";

describe("mds: bad input and misbehaving providers", () => {
  let lake: MdsLake;
  let blocks: BlockRecord[];
  let code: number;
  let out: string;
  beforeAll(async () => {
    lake = await mdsLake([
      { name: "lime", version: "0.4", token: "tok-lime-77aa", badHours: [hour(1)], duplicateHours: [hour(3)], throttleEvery: 3, retryAfter: 0.05 },
      { name: "bird", version: "0.3", token: "tok-bird-88bb", malformedHours: [hour(2)], failHours: [hour(4)], emptyHours: [hour(5)] },
    ]);
    ({ code, out } = await lake.backfill({}));
    blocks = await lake.blocks();
  });
  afterAll(async () => {
    await lake?.close();
  });

  const block = (stage: string, h: number, provider: string) => blocks.find((b) => b.stage === stage && b.day.startsWith(`2024-11-01T0${h}:00`) && b.day.endsWith(`#${provider}`))!;

  it("a provider failing for an hour fails that block only (after its retries); the run exits 1 and names it", () => {
    expect(code).toBe(1);
    expect(statusesOf(blocks, "bird")[0]!.statuses).toEqual(["succeeded", "succeeded", "succeeded-with-errors", "succeeded", "failed", "no-data"]);
    expect(statusesOf(blocks, "bird.status_changes")[0]!.statuses).toEqual(["succeeded", "succeeded", "succeeded-with-errors", "succeeded", "failed", "no-data"]);
    expect(block("mds-extract", 5, "bird").message).toBe("1 page(s)"); // MDS 0.3: an empty page, not a 404
    expect(block("mds-extract", 4, "bird").message).toMatch(/HTTP 500.*server error/);
    expect(block("mds-load", 4, "bird")).toBeUndefined(); // blocked behind the failed extract, never started
    expect(out).toMatch(/FAILED mds-extract 2024-11-01T04:00-05:00#bird/);
    expect(statusesOf(blocks, "lime")[2]!.statuses.every((s) => s === "succeeded")).toBe(true);
  });

  it("a record repeated in an hour is loaded once and counted (trips and status changes)", () => {
    for (const [entity, key] of [["lime", "trip_id"], ["lime.status_changes", "status_change_id"]]) {
      const load = block("mds-load", 3, entity!);
      expect([load.status, load.records, load.processed, load.errors]).toEqual(["succeeded", entity === "lime" ? 7 : 6, entity === "lime" ? 6 : 5, 0]);
      expect(load.message).toContain(`1 duplicate ${key}(s) in the hour (the first kept)`);
    }
  });

  it("a throttling provider (429 + Retry-After) is waited for and its hours complete", () => {
    expect(lake.fake.requests.filter((r) => r.provider === "lime" && r.status === 429).length).toBeGreaterThan(2);
    expect(statusesOf(blocks, "lime")[0]!.statuses.every((s) => s === "succeeded")).toBe(true);
  });

  it("a page that is not JSON is reported with its block, file and line; the pages before it are loaded", () => {
    const load = block("mds-load", 2, "bird");
    expect(load.status).toBe("succeeded-with-errors");
    const [bad] = JSON.parse(load.errorPayload!) as { file: string; line: number; reason: string }[];
    expect(bad).toEqual({ file: expect.stringMatching(/bird_mds_2024-11-01_T0200m0500\.trips\.jsonl$/), line: 2, reason: "page is not MDS JSON" });
    expect([load.processed, load.errors]).toEqual([4, 1]);
    expect(block("mds-extract", 2, "bird").message).toMatch(/1 page is not MDS JSON \(paging stopped\) \(first: .* line 2\)/);
  });

  it("records missing required fields are refused with file, line and trip id; a point outside the layers is counted", () => {
    const load = block("mds-load", 1, "lime");
    const refused = JSON.parse(load.errorPayload!) as { line: number; reason: string; id?: string; field: string }[];
    expect(refused).toEqual([
      { file: expect.any(String), line: 1, reason: "missing trip_id", field: "data.trips[0]" },
      { file: expect.any(String), line: 1, reason: expect.stringMatching(/^vehicle_type: /), id: expect.any(String), field: "data.trips[1]" },
    ]);
    expect(load.message).toMatch(/2 record\(s\) refused/);
    expect(load.message).toMatch(/1 start outside the reference layers/);
    expect(block("mds-publish", 1, "lime").processed).toBe(4);
  });

  it("no secret in any message; --incomplete-only takes again only the failed and the partly failed hours", async () => {
    const text = lake.logs.join("\n") + JSON.stringify(blocks) + out;
    for (const t of ["tok-lime-77aa", "tok-bird-88bb"]) expect(text).not.toContain(t);
    lake.fake.requests.length = 0;
    const again = await lake.backfill({ incompleteOnly: true, only: ["extract"] });
    expect(again.out).toMatch(/FAILED mds-extract 2024-11-01T04:00-05:00#bird/); // the outage goes on (failTimes unset)
    // bird's failed hour 4 and its hour 2 with the cut-off page (succeeded-with-errors is retryable); nothing of lime
    const asked = lake.fake.requests.map((r) => `${r.provider} ${r.url.match(/^\/\w+\/(\w+)\?(?:min_end_time|start_time)=(\d+)/)?.slice(1).join(" ")}`);
    expect(new Set(asked)).toEqual(new Set([`bird trips ${hour(2)}`, `bird trips ${hour(4)}`, `bird status_changes ${hour(2)}`, `bird status_changes ${hour(4)}`]));
  });
});

describe("mds: rows the database refuses", () => {
  it("are reported with trip id, file and line; the rest of the batch loads (an older table gets the missing columns)", async () => {
    const p = { name: "lime", version: "0.4" as const, token: "tok-lime-3c3c" };
    const lake = await mdsLake([p]);
    try {
      const trips = fakeTrips(p, hour(0));
      const limit = [...trips.map((t) => Number(t.trip_distance))].sort((a, b) => a - b)[3]!;
      const db = await lake.runtime.driver("sql", false, { driver: "sqlite", options: { path: homeFile(lake, "mds.sqlite"), readonly: false } } as never);
      await (db as SqlDriver).query(`CREATE TABLE mds_trips (trip_id TEXT PRIMARY KEY, trip_distance REAL CHECK (trip_distance < ${limit}))`);
      expect((await lake.backfill({ timeMax: "2024-11-01-01", only: ["extract", "load"] })).code).toBe(0);
      const load = (await lake.blocks()).find((b) => b.stage === "mds-load" && b.day === "2024-11-01T00:00-05:00#lime")!;
      expect([load.status, load.processed, load.errors]).toEqual(["succeeded-with-errors", 3, 3]);
      const refused = JSON.parse(load.errorPayload!) as { file: string; line: number; id: string; reason: string }[];
      const big = trips.filter((t) => Number(t.trip_distance) >= limit).map((t) => String(t.trip_id));
      expect(refused.map((r) => r.id).sort()).toEqual(big.sort());
      for (const r of refused) {
        expect(r.reason).toMatch(/^refused by the database: .*CHECK constraint failed/);
        expect(r.file).toMatch(/lime_mds_2024-11-01_T0000m0500\.trips\.jsonl$/);
        expect([1, 2]).toContain(r.line); // pages of 4: the trip's page
      }
      expect(Number((await (db as SqlDriver).query<{ n: number }>("SELECT COUNT(*) AS n FROM mds_trips"))[0]!.n)).toBe(3);
    } finally {
      await lake.close();
    }
  });
});
