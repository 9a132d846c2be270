/**
 * seed-systems §6.1, usage metrics: backfill 10 days with concurrency 2; a rerun of a partition neither duplicates
 * rows nor raises; after a 3-day outage the catch-up tick (the nightly `lake backfill usage --incomplete-only`)
 * processes exactly the 3 missing days; the geocode cache prevents a second lookup of a key. On the embedded
 * default (SQLite) and on the real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageLake, type UsageLake } from "./harness.js";
import { describeService, serviceEnv } from "../helpers/services.js";

const PER_DAY = 28; // 20 web + 8 download requests a day (3 repeated web lines dropped, 2 arrive the next day)

function scenario(name: string, database: () => Record<string, unknown> | undefined) {
  describe(`usage acceptance (${name})`, () => {
    let lake: UsageLake;
    beforeAll(async () => {
      const db = database();
      lake = await usageLake(db ? { database: db } : {});
      if (db) {
        const sql = await lake.db();
        await sql.query("DROP TABLE IF EXISTS usage_requests");
      }
      await lake.drop("2024-11-01", "2024-11-11");
    });
    afterAll(async () => {
      await lake?.close();
    });

    it("backfills 10 days with concurrency 2: every day succeeded, de-duplicated, geocoded", async () => {
      const { code, out } = await lake.backfill({ timeMin: "2024-11-01", timeMax: "2024-11-11", concurrency: "2", json: true });
      if (code !== 0) console.log((await lake.blocks()).map((b) => `${b.day} ${b.status} ${b.message}`).join("\n"));
      expect(code).toBe(0);
      const res = JSON.parse(out) as { days: number; succeeded: number };
      expect([res.days, res.succeeded]).toEqual([10, 10]);
      expect(await lake.rows()).toBe(10 * PER_DAY);
      const blocks = await lake.blocks();
      expect(blocks.every((b) => b.status === "succeeded" && /3 duplicate log ids dropped/.test(b.message ?? ""))).toBe(true);
      const db = await lake.db();
      const [{ n }] = (await db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM usage_requests WHERE country IS NULL")) as [{ n: number | string }];
      expect(Number(n)).toBe(0);
      // 12 distinct IPs, each looked up once: the two blocks running at once share the cache and its lookups.
      expect(lake.geo.lookups.size).toBe(12);
      expect(Math.max(...lake.geo.lookups.values())).toBe(1);
    });

    it("the cache prevents a second lookup of the same key (and a TTL renews it)", async () => {
      const before = lake.geo.total();
      expect((await lake.backfill({ timeMin: "2024-11-05", timeMax: "2024-11-06", force: true })).code).toBe(0);
      expect(lake.geo.total()).toBe(before);
      const block = (await lake.blocks()).find((b) => b.day === "2024-11-05")!;
      expect(block.message).toMatch(/IP\(s\): \d+ cached, 0 looked up/);
      lake.setNow("2024-12-20T12:00"); // 39 days later: the 30-day TTL has passed
      expect((await lake.backfill({ timeMin: "2024-11-05", timeMax: "2024-11-06", force: true })).code).toBe(0);
      expect(lake.geo.total()).toBeGreaterThan(before);
      lake.setNow("2024-11-11T12:00");
    });

    it("rerunning a partition neither duplicates rows nor raises (upsert, replace-partition); fail-on-conflict refuses cleanly", async () => {
      const run = () => lake.backfill({ timeMin: "2024-11-03", timeMax: "2024-11-04", force: true, json: true });
      expect((await run()).code).toBe(0);
      expect(await lake.rows()).toBe(10 * PER_DAY);
      const cfg = lake.runtime.sourceConfig("usage");
      lake.runtime.overrideSourceConfig("usage", { ...cfg, writeMode: "replace-partition" });
      expect((await run()).code).toBe(0);
      expect((await run()).code).toBe(0);
      expect(await lake.rows("2024-11-03", "2024-11-04")).toBe(PER_DAY);
      lake.runtime.overrideSourceConfig("usage", { ...cfg, writeMode: "fail-on-conflict" });
      const refused = await run();
      expect(refused.code).toBe(1);
      expect((await lake.blocks()).find((b) => b.day === "2024-11-03")!.message).toMatch(/already loaded \(write mode fail-on-conflict\).*nothing was written/);
      expect(await lake.rows()).toBe(10 * PER_DAY);
      lake.runtime.overrideSourceConfig("usage", cfg);
    });

    it("after a 3-day outage the catch-up tick processes exactly the 3 missing days", async () => {
      const tick = async () => JSON.parse((await lake.backfill({ interval: "10d", incompleteOnly: true, json: true })).out) as { outcomes: { day: string; status: string }[] };
      lake.setNow("2024-11-11T12:00");
      await lake.backfill({ timeMin: "2024-11-03", timeMax: "2024-11-04", force: true }); // leave the fail-on-conflict day succeeded
      expect((await tick()).outcomes.filter((o) => o.status !== "done-before")).toEqual([]);
      lake.setNow("2024-11-14T12:00"); // no tick on the 12th, 13th and 14th
      await lake.drop("2024-11-12", "2024-11-14");
      const ran = (await tick()).outcomes.filter((o) => o.status !== "done-before");
      expect(ran.map((o) => `${o.day} ${o.status}`)).toEqual(["2024-11-11 succeeded", "2024-11-12 succeeded", "2024-11-13 succeeded"]);
      expect(await lake.rows()).toBe(13 * PER_DAY);
    });
  });
}

scenario("SQLite, the embedded default", () => undefined);
describeService(["PG_URL"], "PostgreSQL", () => {
  scenario("PostgreSQL", () => ({ driver: "postgres", options: { connectionString: serviceEnv("PG_URL")! } }));
});
