/**
 * The same Wavetronix pipeline, once on the embedded default (local files, SQLite, CSV) and once on S3 (Swift
 * s3api) + PostgREST (catalog and perfmet) + Socrata (HTTPS fake), chosen only by configuration: the catalogs and
 * the published rows are the same.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { describeService, serviceEnv } from "../helpers/services.js";
import { SocrataFake } from "../fakes/socrata-fake.js";
import { tempDir } from "../core/helpers.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { runApp, parseOptions } from "../../src/support/etl-app.js";
import pipeline from "../../src/sources/wt/source.js";
import { Catalog } from "../../src/support/catalog.js";
import { PURPOSES, type LakeConfigInput } from "../../src/config/schema.js";
import { fixedClock } from "../../src/util/dates.js";
import type { RunSummary } from "../../src/support/events.js";

const SERVICES = ["S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "POSTGREST_URL", "POSTGREST_JWT", "SOCRATA_FAKE_CERT", "NODE_EXTRA_CA_CERTS"];
const clock = fixedClock("2024-11-12T08:00:00-06:00");
const WINDOW = { start_date: "2024-11-02", end_date: "2024-11-05" };

async function runPipeline(runtime: LakeRuntime): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (const stage of pipeline.stageNames) {
    const { App } = pipeline.stage(stage);
    out.push(await runApp(App, parseOptions(App, WINDOW), { runtime }));
  }
  return out;
}

async function catalogRows(runtime: LakeRuntime): Promise<string[]> {
  const cat = new Catalog(await runtime.driver("catalog", false), "wt", { zone: runtime.zone });
  const rows: string[] = [];
  for (const purpose of PURPOSES) {
    for (const e of await cat.list(runtime.repository(purpose, false))) {
      rows.push([purpose, e.base, e.ext, e.collectionDate.toISO(), e.collectionEnd?.toISO() ?? "", e.pointer.replace(/^[a-z0-9]{4}-[a-z0-9]{4}$/, "<dataset>")].join(" | "));
    }
  }
  return rows.sort();
}

const asText = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.keys(r).sort().map((k) => `${k}=${String(r[k])}`).join(",")).sort();

describeService(SERVICES, "one pipeline, two infrastructures, same result", () => {
  let fake: SocrataFake;
  const tag = randomBytes(3).toString("hex");
  beforeAll(async () => {
    fake = await SocrataFake.start({ credentials: { username: "lake", password: "pw" } });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("embedded default vs S3 + PostgREST + Socrata", async () => {
    // Simulated KITS database and inventory, shared by both runs.
    const sourcesHome = tempDir();
    const sourceConfig = await (await pipeline.loadDemo())!.simulate({ home: sourcesHome, zone: "America/Chicago", from: "2024-11-01", to: "2024-11-06" });
    const unitdata = { driver: "local" as const, options: { path: path.join(sourcesHome, "sources", "inventory.json") } };
    const repositories = Object.fromEntries(PURPOSES.map((p) => [p, { production: `e2e-${tag}-${p}`, debug: `e2e-${tag}-${p}-test` }]));
    const dataset = `e2e${tag.slice(0, 1)}-${tag.slice(1, 5).padEnd(4, "0")}`;
    const common: LakeConfigInput = { sources: { wt: sourceConfig }, unitdata, repositories, datasets: { wt: { production: dataset, debug: `${dataset}-t` } } };

    const embedded = LakeRuntime.create({ overrides: { ...common, home: tempDir() }, clock, env: {} });
    const remote = LakeRuntime.create({
      overrides: {
        ...common,
        home: tempDir(),
        storage: { driver: "s3", options: { endpoint: serviceEnv("S3_ENDPOINT"), forcePathStyle: true, checksumMode: "WHEN_REQUIRED", contentMd5ForDeletes: true, createBuckets: true } },
        catalog: { driver: "postgrest", options: { url: serviceEnv("POSTGREST_URL")! } },
        perfmet: { driver: "postgrest", options: { url: serviceEnv("POSTGREST_URL")! } },
        publisher: { driver: "socrata", options: { domain: fake.domain } },
      },
      clock,
      env: {
        AWS_ACCESS_KEY_ID: serviceEnv("S3_ACCESS_KEY")!,
        AWS_SECRET_ACCESS_KEY: serviceEnv("S3_SECRET_KEY")!,
        CATALOG_KEY: serviceEnv("POSTGREST_JWT")!,
        SOCRATA_USERNAME: "lake",
        SOCRATA_PASSWORD: "pw",
      },
    });
    try {
      const a = await runPipeline(embedded);
      const b = await runPipeline(remote);
      const counts = (s: RunSummary[]) => s.map((x) => [x.app, x.processed, x.failed, x.records]);
      expect(counts(b)).toEqual(counts(a));
      expect(a.every((s) => s.processed === 3 && s.failed === 0)).toBe(true);

      expect(await catalogRows(remote)).toEqual(await catalogRows(embedded));

      const csvPublisher = await embedded.driver("publisher", false);
      expect(await csvPublisher.countRows!(dataset)).toBeGreaterThan(0);
      const { readFileSync } = await import("node:fs");
      const { parse } = await import("csv-parse/sync");
      const csvRows = parse(readFileSync(path.join(embedded.home, "published", `${dataset}.csv`)), { columns: true }) as Record<string, unknown>[];
      expect(asText(fake.rows(dataset))).toEqual(asText(csvRows));

      // A rerun on the remote infrastructure changes nothing and publishes no duplicates.
      const again = await runPipeline(remote);
      expect(again.every((s) => s.processed === 0)).toBe(true);
      expect(fake.count(dataset)).toBe(csvRows.length);
    } finally {
      await embedded.close();
      await remote.close();
    }
  }, 120_000);
});
