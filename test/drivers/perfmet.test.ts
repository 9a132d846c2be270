/** Every perfmet driver through the one conformance suite, plus the PostgREST driver's faults. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import memoryDriver from "../../src/drivers/perfmet/memory.js";
import postgrestDriver, { type PostgrestPerfmet } from "../../src/drivers/perfmet/postgrest.js";
import sqliteDriver from "../../src/drivers/perfmet/sqlite.js";
import type { PerfmetObs } from "../../src/support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import { perfmetConformance } from "../conformance/perfmet.js";
import Database from "better-sqlite3";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

// Memory: debug and production are separate instances, so only the table naming is checked here.
perfmetConformance("memory", (debug) => memoryDriver.create({}, testContext({}, { debug })), { debugSeparate: false });
it("memory perfmet names the _test tables in debug", () => {
  expect((memoryDriver.create({}, testContext({}, { debug: true })) as { names: unknown }).names).toEqual({
    job: "etl_perfmet_job_test",
    obs: "etl_perfmet_obs_test",
  });
});

// SQLite: one file for both, so debug separation is a real check.
const sqliteHome = mkdtempSync(path.join(tmpdir(), "lake-perfmet-"));
perfmetConformance("sqlite", (debug) => sqliteDriver.create({}, testContext({}, { debug, home: sqliteHome })));

function postgrest(debug: boolean, over: Record<string, unknown> = {}, key: string | null = serviceEnv("POSTGREST_JWT") ?? null): PostgrestPerfmet {
  const options = postgrestDriver.options.parse({ url: serviceEnv("POSTGREST_URL"), ...over });
  return postgrestDriver.create(options, testContext({ CATALOG_KEY: key ?? undefined }, { debug })) as PostgrestPerfmet;
}

describeService(["POSTGREST_URL", "POSTGREST_JWT"], "postgrest perfmet", () => {
  perfmetConformance("postgrest", (debug) => postgrest(debug, { pageSize: 100 }), { pagingRows: 1234 });

  describe("postgrest perfmet: beyond the suite", () => {
    const o = (sensor: string, day: number): PerfmetObs => ({
      data_source: "Bluetooth", sensor_name: sensor, data_type: "Unmatched Entries", data: 1, expected: null,
      collection_date: Date.UTC(1999, 0, day), timestamp_min: null, timestamp_max: null,
    });

    it("uses etl_perfmet_job/_obs, and the _test tables in debug", () => {
      expect(postgrest(false).names).toEqual({ job: "etl_perfmet_job", obs: "etl_perfmet_obs" });
      expect(postgrest(true).names).toEqual({ job: "etl_perfmet_job_test", obs: "etl_perfmet_obs_test" });
    });

    it("a bad JWT is a ConfigError naming the secret, and nothing is written", async () => {
      const bad = postgrest(true, {}, "e30.e30.c2lnbmF0dXJl");
      const err = await bad.writeObs([o("badjwt", 1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/refused the token.*CATALOG_KEY/);
      const got = await postgrest(true).readObs({ from: Date.UTC(1999, 0, 1), to: Date.UTC(1999, 0, 2) });
      expect(got.filter((x) => x.sensor_name === "badjwt")).toEqual([]);
    });

    it("a server that is down is a TransientError", async () => {
      const err = await postgrest(false, { url: "http://127.0.0.1:1" }).readJobs({ from: 0, to: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/cannot reach PostgREST/);
    });

    it("a refused observation is a TerminalError naming it", async () => {
      const err = await postgrest(true)
        .writeObs([o("fine-a", 3), o("fine-b", 3), o("bad\u0000sensor", 3)])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TerminalError);
      expect((err as Error).message).toMatch(/observation 2 \(sensor "bad\\u0000sensor"/);
    });
  });
});

describe("sqlite perfmet: a lake from before the rows column", () => {
  it("gets the column added when opened; its earlier job rows read back with rows null, new ones with their rows", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "lake-perfmet-old-"));
    const old = new Database(path.join(home, "perfmet.sqlite"));
    old.exec(`CREATE TABLE etl_perfmet_job (data_source TEXT NOT NULL, stage TEXT NOT NULL, seconds REAL, records INTEGER,
      processing_date INTEGER NOT NULL, collection_start INTEGER, collection_end INTEGER, PRIMARY KEY (processing_date, data_source, stage))`);
    old.prepare("INSERT INTO etl_perfmet_job VALUES ('Wavetronix', 'Ready', 1.5, 3, 1000, NULL, NULL)").run();
    old.close();
    const driver = runtimeDriver("perfmet", await sqliteDriver.create({}, testContext({}, { home })));
    await driver.writeJob({ data_source: "Wavetronix", stage: "Publish", seconds: 2, records: 3, rows: 288, processing_date: 2000, collection_start: null, collection_end: null });
    const jobs = await driver.readJobs({ from: 0, to: 10_000 });
    expect(jobs.map((j) => [j.stage, j.records, j.rows])).toEqual([["Publish", 3, 288], ["Ready", 3, null]]);
    await driver.close?.();
  });
});
