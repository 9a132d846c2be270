/**
 * Golden files: kits-small.json through all four stages for 2024-11-05, compared byte for byte with the files
 * test/fixtures/wt/reference.py writes (an independent Python rendition of the original's transforms).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATASET, REPO, fixture, makeHarness, type Harness } from "./harness.js";
import { NO_DEVICE_REASON } from "../../src/sources/wt/source.js";
import wtSource from "../../src/sources/wt/source.js";

const DAY_KEY = "2024/11/05/wt/Austin_wt_2024-11-05";
const WINDOW = { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" };

describe("Wavetronix golden day 2024-11-05", () => {
  let h: Harness;
  const summaries: Record<string, Awaited<ReturnType<Harness["run"]>>> = {};

  beforeAll(async () => {
    h = makeHarness();
    for (const stage of ["insert", "standard", "ready", "soc"] as const) summaries[stage] = await h.run(stage, WINDOW);
  });
  afterAll(() => h.close());

  it("start == end means exactly that day (B9): one day per stage, nothing failed", () => {
    for (const s of Object.values(summaries)) expect(s).toMatchObject({ processed: 1, failed: 0 });
    expect(h.keys(REPO.raw)).toEqual([`${DAY_KEY}.csv`]);
  });

  it("raw CSV equals the fixture byte for byte", async () => {
    expect(await h.object(REPO.raw, `${DAY_KEY}.csv`)).toBe(fixture("expected-raw-Austin_wt_2024-11-05.csv").toString("utf8"));
  });

  it("standardized JSON equals the fixture byte for byte", async () => {
    expect(await h.object(REPO.standardized, `${DAY_KEY}.json`)).toBe(fixture("expected-standardized-Austin_wt_2024-11-05.json").toString("utf8"));
  });

  it("ready JSON equals the fixture byte for byte", async () => {
    expect(await h.object(REPO.ready, `${DAY_KEY}.json`)).toBe(fixture("expected-ready-Austin_wt_2024-11-05.json").toString("utf8"));
  });

  it("published rows equal the fixture (columns, order, values, row ids)", () => {
    const expected = JSON.parse(fixture("expected-socrata-2024-11-05.json").toString("utf8")) as Record<string, unknown>[];
    const rows = h.publisher.rows(DATASET);
    expect(rows).toEqual(expected);
    expect(rows.map((r) => Object.keys(r))).toEqual(expected.map((r) => Object.keys(r)));
  });

  it("the detector without an inventory entry is dropped and counted", () => {
    expect(summaries.ready!.rowsLeftOut![NO_DEVICE_REASON]).toBe(1);
    expect(h.logs.some((l) => l.level === "warn" && l.message.includes("intID 4 (LAMARBRAKER): 1 rows"))).toBe(true);
  });

  it("the catalog has the day in each layer and the publication under the public repository with the dataset id", () => {
    const rows = [...h.catalog.rows.values()].map((r) => [r.repository, r.id_base, r.id_ext, r.pointer]);
    expect(rows).toEqual(
      expect.arrayContaining([
        [REPO.raw, "Austin", "csv", `${DAY_KEY}.csv`],
        [REPO.standardized, "Austin", "json", `${DAY_KEY}.json`],
        [REPO.standardized, "Austin", "unit_data.json", "2024/11/20/wt/Austin_wt_2024-11-20_unit_data.json"],
        [REPO.ready, "Austin", "json", `${DAY_KEY}.json`],
        [REPO.public, "Austin", "json", DATASET],
      ]),
    );
    expect(rows).toHaveLength(5);
  });

  it("perfmet: one job per stage and the day's volume per intersection from the standardize stage", async () => {
    const jobs = await h.perfmet.readJobs({ from: 0, to: Date.now() * 2 });
    expect(jobs.map((j) => [j.stage, j.records])).toEqual([
      ["Ingest", 1],
      ["Publish", 1],
      ["Ready", 1],
      ["Standardize", 1],
    ]);
    const obs = await h.perfmet.readObs({ from: 0, to: Date.now() * 2 });
    expect(obs.map((o) => [o.sensor_name, o.data_type, o.data])).toEqual([
      ["LAMARBRAKER", "Vehicle Counts", 5],
      ["LAMARMANCHACA", "Vehicle Counts", 19 + 12 + 31 + 0 + 44 + 3 + 2],
    ]);
  });
});
