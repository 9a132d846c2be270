/**
 * Golden files: the fixture share (example lines of the original's §9.1 plus edge cases, and the two DST days)
 * through all four stages, compared byte for byte with the output of an independent Python reference
 * (test/fixtures/bt/reference.py: the original's code paths, pytz-style localisation).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DATASETS, REPO, fixture, makeHarness, type Harness } from "./harness.js";

const ALL = ["unmatched", "matched", "traf_match_summary"] as const;
const CASES = [
  { day: "2019-06-01", share: "06-01-2019", now: "2019-06-02T04:00:33.234-05:00", types: ALL, what: "an ordinary day: AM/PM, midnight, noon, a bad time, a reader missing from the inventory" },
  { day: "2019-11-03", share: "11-03-2019", now: "2019-11-05T04:00:33.234-06:00", types: ALL, what: "fall back: the ambiguous 1 AM hour" },
  { day: "2019-03-10", share: "03-10-2019", now: "2019-03-12T04:00:33.234-05:00", types: ["unmatched"] as const, what: "spring forward: the nonexistent 2 AM hour" },
];

for (const c of CASES) {
  describe(`Bluetooth golden files ${c.day} (${c.what})`, () => {
    const dayKey = `${c.day.replace(/-/g, "/")}/bt/Austin_bt_${c.day}`;
    let h: Harness;
    beforeEach(async () => {
      h = makeHarness({ now: c.now });
      h.copyFixtureShare([c.share]);
      const runs = await h.runAll({ start_date: c.day, end_date: c.day });
      expect(runs.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
    });
    afterEach(() => h.close());

    it("ingests the share files unchanged under the original names and keys", async () => {
      expect(h.keys(REPO.raw)).toEqual(c.types.map((t) => `${dayKey}_${t}.txt`).sort());
      const names = { unmatched: "Austin_bt_", matched: "Austin_btmatch_", traf_match_summary: "Austin_bt_summary_15_" };
      for (const t of c.types) {
        expect(await h.object(REPO.raw, `${dayKey}_${t}.txt`)).toBe(fixture(`share/${names[t]}${c.share}.txt`).toString("utf8"));
      }
    });

    for (const t of c.types) {
      it(`standardized and ready ${t}.json equal the reference byte for byte; published rows equal it`, async () => {
        expect(await h.object(REPO.standardized, `${dayKey}_${t}.json`)).toBe(fixture(`expected/${c.day}/standardized_${t}.json`).toString("utf8"));
        expect(await h.object(REPO.ready, `${dayKey}_${t}.json`)).toBe(fixture(`expected/${c.day}/ready_${t}.json`).toString("utf8"));
        const expected = (JSON.parse(fixture(`expected/${c.day}/published.json`).toString("utf8")) as Record<string, unknown[]>)[t];
        expect(h.publisher.rows(DATASETS[t])).toEqual(expected);
      });
    }

    it("catalogues each publication under the public repository with pointer = dataset id", () => {
      const rows = [...h.catalog.rows.values()].filter((r) => r.repository === REPO.public);
      expect(rows.map((r) => [r.id_ext, r.pointer]).sort()).toEqual(c.types.map((t) => [`${t}.json`, DATASETS[t]]).sort());
    });
  });
}

describe("unit data", () => {
  it("is stored once, dated the processing day", async () => {
    const h = makeHarness();
    h.copyFixtureShare();
    await h.runAll({ start_date: "2019-06-01", end_date: "2019-06-02" });
    expect(h.keys(REPO.standardized)).toContain("2019/06/02/bt/Austin_bt_2019-06-02_unit_data.json");
    expect(h.keys(REPO.standardized).filter((k) => k.endsWith("unit_data.json"))).toHaveLength(1);
    await h.close();
  });
});
