/**
 * seed-systems §6.1, MDS: a 6-hour range where hour 3 is empty and hour 5's load refuses some records gives
 * {ok, ok, no-data, ok, partial, ok}, for trips and for status changes; --incomplete-only retries only hour 5;
 * --dry-run prints the plan; a --force rerun leaves row counts unchanged. On the embedded default (SQLite, CSV
 * publisher) and on the real PostgreSQL.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hour, homeFile, KEY, mdsLake, statusesOf, type MdsLake } from "./harness.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import type { SqlDriver } from "../../src/support/drivers.js";

/** The scenario's status of an hour: the extract's when it found nothing, else the load's. */
function hourStatus(lake: Awaited<ReturnType<MdsLake["blocks"]>>, provider: string): string[] {
  const [extract, load] = statusesOf(lake, provider);
  const short: Record<string, string> = { succeeded: "ok", "succeeded-with-errors": "partial", "no-data": "no-data", failed: "failed" };
  return extract!.statuses.map((s, i) => short[s === "no-data" ? s : load!.statuses[i]!] ?? load!.statuses[i]!);
}

function scenario(name: string, database: () => Record<string, unknown> | undefined) {
  describe(`mds acceptance (${name})`, () => {
    const provider = `lime${process.pid}`;
    let lake: MdsLake;
    let db: SqlDriver;
    const sc = `${provider}.status_changes`;
    const rows = async (table = "mds_trips") => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE provider = ${db.dialect === "postgres" ? "$1" : "?"}`, [provider]))[0]!.n);
    const published = (dataset = "mds-trips") => readFileSync(homeFile(lake, "published", `${dataset}.csv`), "utf8").trim().split("\n").length - 1;
    const counts = async () => [await rows(), published(), await rows("mds_status_changes"), published("mds-status-changes")];

    beforeAll(async () => {
      lake = await mdsLake([{ name: provider, version: "0.4", token: "tok-lime-5f1e", emptyHours: [hour(2)], badHours: [hour(4)], pageSize: 4 }], database());
      const spec = database() ?? { driver: "sqlite", options: { path: homeFile(lake, "mds.sqlite"), readonly: false } };
      db = await lake.runtime.driver("sql", false, spec as never);
    });
    afterAll(async () => {
      await lake?.close();
    });

    it("--dry-run prints the plan (every block and its command) and writes nothing", async () => {
      const { code, out } = await lake.backfill({ dryRun: true });
      expect(code).toBe(0);
      expect(out).toMatch(/dry run: 36 block\(s\) would run, nothing was written/);
      expect(out).toContain(`lake run mds-extract --partition '2024-11-01T00:00-05:00#${provider}'   [never run]`);
      expect(out).toContain(`lake run mds-load --partition '2024-11-01T02:00-05:00#${sc}'   [never run]`);
      expect(out).toContain(`lake run mds-publish --partition '2024-11-01T05:00-05:00#${provider}'`);
      expect(await lake.blocks()).toEqual([]);
    });

    it("statuses {ok, ok, no-data, ok, partial, ok}; the empty hour's later stages are skipped", async () => {
      const { code, out } = await lake.backfill({});
      expect(code).toBe(0);
      const blocks = await lake.blocks();
      expect(hourStatus(blocks, provider)).toEqual(["ok", "ok", "no-data", "ok", "partial", "ok"]);
      expect(statusesOf(blocks, provider).map((s) => s.statuses[2])).toEqual(["no-data", "skipped", "skipped"]);
      // MDS 0.4 answers an hour without data 404: that is the hour's no-data, not a failure
      expect(blocks.find((b) => b.stage === "mds-extract" && b.day === `2024-11-01T02:00-05:00#${provider}`)!.message).toBe("HTTP 404: no data for the hour (MDS 0.4)");
      const partial = blocks.find((b) => b.stage === "mds-load" && b.day.startsWith("2024-11-01T04:00"))!;
      expect([partial.records, partial.processed, partial.errors]).toEqual([6, 4, 2]);
      const refused = JSON.parse(partial.errorPayload!) as { file: string; line: number; reason: string }[];
      expect(refused.map((r) => r.reason)).toEqual(["missing trip_id", expect.stringMatching(/^vehicle_type: /)]);
      expect(refused[0]!.file).toMatch(/lime\d+_mds_2024-11-01_T0400m0500\.trips\.jsonl$/);
      expect(refused.every((r) => r.line === 1)).toBe(true); // both on the first page (line 1 of the raw JSONL)
      expect(partial.message).toMatch(/1 start outside the reference layers/);
      expect(out).toContain("SUCCEEDED-WITH-ERRORS mds-load 2024-11-01T04:00-05:00");
      expect(await rows()).toBe(5 * 6 - 2); // five hours with six trips each, two refused records
      expect(published()).toBe(28);
    });

    it("status changes: the same statuses, refusals with file and line, the location outside the layers counted", async () => {
      const blocks = await lake.blocks();
      expect(hourStatus(blocks, sc)).toEqual(["ok", "ok", "no-data", "ok", "partial", "ok"]);
      expect(statusesOf(blocks, sc).map((s) => s.statuses[2])).toEqual(["no-data", "skipped", "skipped"]);
      const partial = blocks.find((b) => b.stage === "mds-load" && b.day === `2024-11-01T04:00-05:00#${sc}`)!;
      expect([partial.records, partial.processed, partial.errors]).toEqual([5, 3, 2]);
      const refused = JSON.parse(partial.errorPayload!) as { file: string; line: number; reason: string; field: string }[];
      expect(refused).toEqual([
        { file: expect.stringMatching(/lime\d+_mds_2024-11-01_T0400m0500\.status_changes\.jsonl$/), line: 1, reason: "missing device_id", field: "data.status_changes[0]" },
        { file: expect.any(String), line: 1, reason: expect.stringMatching(/^event_type: /), field: "data.status_changes[1]" },
      ]);
      expect(partial.message).toMatch(/1 event location outside the reference layers/);
      expect(await rows("mds_status_changes")).toBe(5 * 5 - 2);
      expect(published("mds-status-changes")).toBe(23);
      const csv = readFileSync(homeFile(lake, "published", "mds-status-changes.csv"), "utf8");
      expect(csv.split("\n")[0]).not.toMatch(/lat|lon|device/);
    });

    it("--incomplete-only retries only hour 5 (its load, then its publish)", async () => {
      const { out } = await lake.backfill({ incompleteOnly: true, json: true });
      const res = JSON.parse(out) as { outcomes: { stage: string; day: string; status: string }[] };
      const ran = res.outcomes.filter((o) => o.status !== "done-before");
      expect(ran.map((o) => `${o.stage} ${o.day} ${o.status}`)).toEqual([
        `mds-load 2024-11-01T04:00-05:00#${provider} succeeded-with-errors`,
        `mds-publish 2024-11-01T04:00-05:00#${provider} succeeded`,
        `mds-load 2024-11-01T04:00-05:00#${sc} succeeded-with-errors`,
        `mds-publish 2024-11-01T04:00-05:00#${sc} succeeded`,
      ]);
    });

    it("a --force rerun leaves the row counts unchanged (upserts by trip_id)", async () => {
      const before = await counts();
      expect(before).toEqual([28, 28, 23, 23]);
      const { code } = await lake.backfill({ force: true });
      expect(code).toBe(0);
      expect(await counts()).toEqual(before);
      expect((await lake.blocks()).filter((b) => b.stage === "mds-extract").every((b) => b.attempts === 2)).toBe(true);
    });

    it("raw payloads are encrypted at rest; the token and the key are never logged", async () => {
      const raw = (await lake.blocks()).find((b) => b.stage === "mds-extract" && b.status === "succeeded")!.payload!;
      const bytes = readFileSync(homeFile(lake, "lake", "atd-datalake-raw", raw));
      expect(bytes.subarray(0, 8).toString()).toBe("LAKEAES1");
      expect(bytes.includes(Buffer.from("trip_id"))).toBe(false);
      const text = lake.logs.join("\n") + JSON.stringify(await lake.blocks());
      expect(text).not.toContain("tok-lime-5f1e");
      expect(text).not.toContain(KEY);
    });
  });
}

scenario("SQLite, the embedded default", () => undefined);
describeService(["PG_URL"], "PostgreSQL", () => {
  scenario("PostgreSQL", () => ({ driver: "postgres", options: { connectionString: serviceEnv("PG_URL")! } }));
});
