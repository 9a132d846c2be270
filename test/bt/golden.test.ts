/**
 * Golden files: the fixture share (example lines of the original's §9.1 plus edge cases) through all four stages,
 * compared byte for byte with the output of an independent Python reference (test/fixtures/bt/reference.py).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DATASETS, REPO, fixture, makeHarness, type Harness } from "./harness.js";

const TYPES = ["unmatched", "matched", "traf_match_summary"] as const;
const DAY_KEY = "2019/06/01/bt/Austin_bt_2019-06-01";

describe("Bluetooth golden files (2019-06-01, processed 2019-06-02 04:00:33.234)", () => {
  let h: Harness;
  beforeEach(async () => {
    h = makeHarness();
    h.copyFixtureShare();
    await h.runAll({ start_date: "2019-06-01", end_date: "2019-06-02" });
  });
  afterEach(() => h.close());

  it("ingests the three share files unchanged under the original names and keys", async () => {
    expect(h.keys(REPO.raw)).toEqual(TYPES.map((t) => `${DAY_KEY}_${t}.txt`).sort());
    expect(await h.object(REPO.raw, `${DAY_KEY}_unmatched.txt`)).toBe(fixture("share/Austin_bt_06-01-2019.txt").toString("utf8"));
    expect(await h.object(REPO.raw, `${DAY_KEY}_matched.txt`)).toBe(fixture("share/Austin_btmatch_06-01-2019.txt").toString("utf8"));
    expect(await h.object(REPO.raw, `${DAY_KEY}_traf_match_summary.txt`)).toBe(fixture("share/Austin_bt_summary_15_06-01-2019.txt").toString("utf8"));
  });

  for (const t of TYPES) {
    it(`standardized ${t}.json equals the reference byte for byte`, async () => {
      expect(await h.object(REPO.standardized, `${DAY_KEY}_${t}.json`)).toBe(fixture(`expected/standardized_${t}.json`).toString("utf8"));
    });
    it(`ready ${t}.json equals the reference byte for byte`, async () => {
      expect(await h.object(REPO.ready, `${DAY_KEY}_${t}.json`)).toBe(fixture(`expected/ready_${t}.json`).toString("utf8"));
    });
    it(`published ${t} rows equal the reference`, () => {
      const expected = (JSON.parse(fixture("expected/published.json").toString("utf8")) as Record<string, unknown[]>)[t];
      expect(h.publisher.rows(DATASETS[t])).toEqual(expected);
    });
  }

  it("stores the unit data once, dated the processing day", () => {
    expect(h.keys(REPO.standardized)).toContain("2019/06/02/bt/Austin_bt_2019-06-02_unit_data.json");
  });

  it("catalogues each publication under the public repository with pointer = dataset id", async () => {
    const rows = [...h.catalog.rows.values()].filter((r) => r.repository === REPO.public);
    expect(rows.map((r) => [r.id_ext, r.pointer]).sort()).toEqual(TYPES.map((t) => [`${t}.json`, DATASETS[t]]).sort());
  });
});
