/**
 * The perfmet conformance suite: every PerfmetDriver runs it. makeDriver(debug) builds the driver a production
 * run (false) or a debug run (true) would get; both must share one store, so the suite can check that debug rows
 * stay out of the production tables. Each test writes in its own time window far in the future, so the suite can
 * run against a shared, persistent server.
 */
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PerfmetDriver, PerfmetJob, PerfmetObs } from "../../src/support/drivers.js";
import { runtimeDriver } from "../helpers/context.js";

export interface PerfmetSuiteOptions {
  /** Debug runs write to tables of their own. @default true */
  debugSeparate?: boolean;
  /** Observations written and read back in the paging test. @default 250 */
  pagingRows?: number;
}

const ZONE = "America/Chicago";

export function perfmetConformance(
  name: string,
  makeDriver: (debug: boolean) => PerfmetDriver | Promise<PerfmetDriver>,
  opts: PerfmetSuiteOptions = {},
): void {
  let prod: PerfmetDriver;
  let debug: PerfmetDriver;
  // A window of 30 days per test, from a random day of the 22nd century, so reruns never meet old rows.
  const origin = DateTime.fromISO("2150-01-01T00:00:00", { zone: ZONE }).plus({ days: Math.floor(Math.random() * 30_000) * 40 });
  let n = 0;
  const window = () => {
    const start = origin.plus({ days: 30 * ++n });
    return { day: (i: number, hours = 0) => start.plus({ days: i, hours }).toMillis(), from: start.toMillis(), to: start.plus({ days: 30 }).toMillis() };
  };
  const job = (over: Partial<PerfmetJob> & { processing_date: number }): PerfmetJob => ({
    data_source: "Wavetronix",
    stage: "Standardize",
    seconds: 12.5,
    records: 340,
    rows: 1200,
    collection_start: null,
    collection_end: null,
    ...over,
  });
  const obs = (over: Partial<PerfmetObs> & { collection_date: number }): PerfmetObs => ({
    data_source: "Bluetooth",
    sensor_name: "Lamar_Manchaca",
    data_type: "Unmatched Entries",
    data: 1024,
    expected: null,
    timestamp_min: null,
    timestamp_max: null,
    ...over,
  });

  describe(`perfmet conformance: ${name}`, () => {
    beforeAll(async () => {
      prod = runtimeDriver("perfmet", await makeDriver(false));
      debug = runtimeDriver("perfmet", await makeDriver(true));
    });
    afterAll(async () => {
      await prod?.close?.();
      if (debug !== prod) await debug?.close?.();
    });

    it("writes a job row and reads every field back", async () => {
      const w = window();
      const full = job({ processing_date: w.day(1, 3.5), collection_start: w.day(0), collection_end: w.day(1) });
      const bare = job({ processing_date: w.day(1, 4), data_source: "GRIDSMART", stage: "Ingest", seconds: 0.25, records: 0 });
      await prod.writeJob(full);
      await prod.writeJob(bare);
      expect(await prod.readJobs({ from: w.from, to: w.to })).toEqual([bare, full]);
    });

    it("a job row written without rows (a caller from before the column) reads back rows null", async () => {
      const w = window();
      const { rows: _rows, ...old } = job({ processing_date: w.day(1, 5) });
      await prod.writeJob(old);
      expect(await prod.readJobs({ from: w.from, to: w.to })).toEqual([{ ...old, rows: null }]);
    });

    it("upserts jobs on (processing_date, data_source, stage)", async () => {
      const w = window();
      const at = w.day(2);
      await prod.writeJob(job({ processing_date: at, seconds: 1, records: 1 }));
      await prod.writeJob(job({ processing_date: at, seconds: 2, records: 2, collection_start: w.day(1), collection_end: w.day(2) }));
      await prod.writeJob(job({ processing_date: at, stage: "Ready", seconds: 3, records: 3 }));
      const got = await prod.readJobs({ from: w.from, to: w.to });
      expect(got.map((j) => [j.stage, j.seconds, j.records, j.collection_start])).toEqual([
        ["Ready", 3, 3, null],
        ["Standardize", 2, 2, w.day(1)],
      ]);
    });

    it("reads jobs in a window (from inclusive, to exclusive), ordered by data_source, stage, processing_date", async () => {
      const w = window();
      const rows = [
        job({ processing_date: w.day(3), data_source: "Wavetronix", stage: "Ingest" }),
        job({ processing_date: w.day(1), data_source: "Wavetronix", stage: "Ingest" }),
        job({ processing_date: w.day(1), data_source: "Bluetooth", stage: "Publish" }),
        job({ processing_date: w.day(2), data_source: "Bluetooth", stage: "Aggregate" }),
        job({ processing_date: w.day(4), data_source: "Bluetooth", stage: "Aggregate" }),
      ];
      for (const r of rows) await prod.writeJob(r);
      const got = await prod.readJobs({ from: w.day(1), to: w.day(4) });
      expect(got.map((j) => `${j.data_source}/${j.stage}/${Math.round((j.processing_date - w.from) / 864e5)}`)).toEqual([
        "Bluetooth/Aggregate/2",
        "Bluetooth/Publish/1",
        "Wavetronix/Ingest/1",
        "Wavetronix/Ingest/3",
      ]);
    });

    it("writes observations in bulk, upserting on (collection_date, data_source, data_type, sensor_name)", async () => {
      const w = window();
      const full = obs({ collection_date: w.day(0), data: 75, expected: 80.5, timestamp_min: w.day(0, 0.25), timestamp_max: w.day(0, 23.75) });
      await prod.writeObs([full, obs({ collection_date: w.day(0), sensor_name: "Other", data: 1 }), obs({ collection_date: w.day(0), sensor_name: "Other", data: 2 })]);
      await prod.writeObs([obs({ collection_date: w.day(0), sensor_name: "Other", data: null })]);
      const got = await prod.readObs({ from: w.from, to: w.to });
      expect(got).toEqual([full, obs({ collection_date: w.day(0), sensor_name: "Other", data: null })]);
      await expect(prod.writeObs([])).resolves.toBeUndefined();
    });

    it("reads observations in a window with data source and type filters, ordered by type, sensor, date", async () => {
      const w = window();
      await prod.writeObs([
        obs({ collection_date: w.day(2), sensor_name: "B" }),
        obs({ collection_date: w.day(1), sensor_name: "B" }),
        obs({ collection_date: w.day(1), sensor_name: "A" }),
        obs({ collection_date: w.day(1), sensor_name: "A", data_source: "Wavetronix", data_type: "Vehicle Counts" }),
        obs({ collection_date: w.day(1), sensor_name: "G", data_source: "GRIDSMART", data_type: "Vehicle Counts" }),
        obs({ collection_date: w.day(5), sensor_name: "A" }),
      ]);
      const key = (o: PerfmetObs) => `${o.data_type}/${o.sensor_name}/${Math.round((o.collection_date - w.from) / 864e5)}/${o.data_source}`;
      expect((await prod.readObs({ from: w.day(1), to: w.day(5) })).map(key)).toEqual([
        "Unmatched Entries/A/1/Bluetooth",
        "Unmatched Entries/B/1/Bluetooth",
        "Unmatched Entries/B/2/Bluetooth",
        "Vehicle Counts/A/1/Wavetronix",
        "Vehicle Counts/G/1/GRIDSMART",
      ]);
      expect((await prod.readObs({ from: w.from, to: w.to, dataSource: "Wavetronix" })).map(key)).toEqual(["Vehicle Counts/A/1/Wavetronix"]);
      expect((await prod.readObs({ from: w.from, to: w.to, dataType: "Unmatched Entries", dataSource: "Bluetooth" })).length).toBe(4);
    });

    it("reads back many observations (past a server's page size)", async () => {
      const w = window();
      const count = opts.pagingRows ?? 250;
      const rows = Array.from({ length: count }, (_, i) => obs({ collection_date: w.day(i % 7), sensor_name: `S${String(i).padStart(4, "0")}`, data: i }));
      await prod.writeObs(rows);
      const got = await prod.readObs({ from: w.from, to: w.to });
      expect(got.length).toBe(count);
      expect(new Set(got.map((o) => o.sensor_name)).size).toBe(count);
    });

    it.runIf(opts.debugSeparate !== false)("keeps debug runs in tables of their own", async () => {
      const w = window();
      await debug.writeJob(job({ processing_date: w.day(1), stage: "Debug only" }));
      await debug.writeObs([obs({ collection_date: w.day(1), sensor_name: "debug-sensor" })]);
      await prod.writeJob(job({ processing_date: w.day(1), stage: "Production only" }));
      expect((await prod.readJobs({ from: w.from, to: w.to })).map((j) => j.stage)).toEqual(["Production only"]);
      expect(await prod.readObs({ from: w.from, to: w.to })).toEqual([]);
      expect((await debug.readJobs({ from: w.from, to: w.to })).map((j) => j.stage)).toEqual(["Debug only"]);
      expect((await debug.readObs({ from: w.from, to: w.to })).map((o) => o.sensor_name)).toEqual(["debug-sensor"]);
    });
  });
}
