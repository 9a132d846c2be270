/**
 * Service drivers against the real test services (scripts/services.sh start; set -a; . .services/env; set +a):
 * catalog upsert and paged query throughput (PostgREST, PostgreSQL), S3 small-object and multipart throughput
 * (Swift s3api). Prints "skipped" for a service whose variables are unset.
 */
import { randomBytes } from "node:crypto";
import pLimit from "p-limit";
import postgresCatalog from "../src/drivers/catalog/postgres.js";
import postgrestCatalog from "../src/drivers/catalog/postgrest.js";
import s3Driver from "../src/drivers/storage/s3.js";
import type { DriverContext } from "../src/drivers/define.js";
import type { CatalogDriver, CatalogRecord } from "../src/support/drivers.js";
import { systemClock } from "../src/util/dates.js";
import { measure } from "./measure.js";
import { CALLS, driverEntry, type DriverKind, type DriverKinds } from "../src/drivers/registry.js";
import { DEFAULT_RETRY, wrapDriver } from "../src/support/resilience.js";

/** A driver as stages get it: behind the driver runtime with its registry defaults (deadline, limit, retries). */
function rt<K extends DriverKind>(kind: K, name: string, d: DriverKinds[K]): DriverKinds[K] {
  const defaults = driverEntry(kind, name)!.runtime;
  return wrapDriver(d, { kind, calls: CALLS[kind], policy: { retry: DEFAULT_RETRY, ...defaults } });
}

const env = (n: string) => process.env[n] || undefined;
const ctx = (secrets: Record<string, string | undefined>): DriverContext => ({
  secrets: { get: (n) => secrets[n], require: (n) => secrets[n] ?? "" },
  zone: "America/Chicago", clock: systemClock, debug: false, baseDir: process.cwd(), home: process.cwd(),
});
const line = (s: string) => process.stdout.write(`${s}\n`);
const ROWS = 10_000;

async function catalogBench(name: string, d: CatalogDriver): Promise<void> {
  const repo = `bench-${Date.now().toString(36)}`;
  const day0 = Date.UTC(2020, 0, 1, 6);
  const rows: CatalogRecord[] = Array.from({ length: ROWS }, (_, i) => ({
    repository: repo, data_source: "gs", id_base: `Intersection_${i % 200}`, id_ext: "counts.json",
    pointer: `2020/01/${String(1 + Math.floor(i / 200)).padStart(2, "0")}/gs/x_${i}.json`,
    collection_date: day0 + Math.floor(i / 200) * 864e5, collection_end: null, processing_date: Date.now(), metadata: { i },
  }));
  const up = await measure(async () => {
    for (let i = 0; i < rows.length; i += d.capabilities.maxUpsertBatch) await d.upsert(rows.slice(i, i + d.capabilities.maxUpsertBatch));
  });
  const q = await measure(async () => {
    let n = 0;
    for await (const _ of d.query({ repository: repo, dataSource: "gs" })) n++;
    return n;
  });
  const latest = await measure(async () => {
    for (let i = 0; i < 50; i++) for await (const _ of d.query({ repository: repo, dataSource: "gs", base: `Intersection_${i}`, order: "desc", limit: 1 })) void _;
  });
  line(`catalog ${name}: upsert ${ROWS} rows ${up.seconds.toFixed(2)} s (${Math.round(ROWS / up.seconds)} rows/s); ` +
    `query all ${q.result} rows ${q.seconds.toFixed(2)} s (${Math.round(q.result / q.seconds)} rows/s, pages of ${d.capabilities.maxRowsPerRequest}); ` +
    `latest-one query ${((latest.seconds / 50) * 1000).toFixed(1)} ms each`);
  await d.delete(rows);
  await d.close?.();
}

export async function run(): Promise<void> {
  if (env("POSTGREST_URL") && env("POSTGREST_JWT")) {
    await catalogBench("postgrest", rt("catalog", "postgrest", await postgrestCatalog.create(postgrestCatalog.options.parse({ url: env("POSTGREST_URL") }), ctx({ CATALOG_KEY: env("POSTGREST_JWT") }))));
  } else line("catalog postgrest: skipped (POSTGREST_URL, POSTGREST_JWT unset)");
  if (env("PG_URL")) {
    await catalogBench("postgres", rt("catalog", "postgres", await postgresCatalog.create(postgresCatalog.options.parse({}), ctx({ PG_URL: env("PG_URL") }))));
  } else line("catalog postgres: skipped (PG_URL unset)");

  if (!env("S3_ENDPOINT")) {
    line("s3: skipped (S3_ENDPOINT unset)");
    return;
  }
  const s3raw = await s3Driver.create(
    s3Driver.options.parse({ endpoint: env("S3_ENDPOINT"), forcePathStyle: true, checksumMode: "WHEN_REQUIRED", contentMd5ForDeletes: true, createBuckets: true }),
    ctx({ AWS_ACCESS_KEY_ID: env("S3_ACCESS_KEY"), AWS_SECRET_ACCESS_KEY: env("S3_SECRET_KEY") }),
  );
  const s3 = rt("storage", "s3", s3raw) as typeof s3raw;
  const repo = "lake-bench";
  const prefix = `bench-${Date.now().toString(36)}/`;
  const small = randomBytes(10 * 1024);
  const limit = pLimit(8);
  const keys = Array.from({ length: 200 }, (_, i) => `${prefix}small-${i}.json`);
  const put = await measure(() => Promise.all(keys.map((k) => limit(() => s3.put(repo, k, small)))));
  const get = await measure(() => Promise.all(keys.map((k) => limit(() => s3.get(repo, k)))));
  const big = randomBytes(64 * 2 ** 20);
  const bigPut = await measure(() => s3.put(repo, `${prefix}big.bin`, big));
  const bigGet = await measure(() => s3.get(repo, `${prefix}big.bin`));
  line(`s3 (Swift): 200 × 10 KiB put ${(200 / put.seconds).toFixed(0)} objects/s, get ${(200 / get.seconds).toFixed(0)} objects/s (8 at a time); ` +
    `64 MiB multipart put ${(64 / bigPut.seconds).toFixed(0)} MiB/s, get ${(64 / bigGet.seconds).toFixed(0)} MiB/s (peak RSS +${bigGet.peakRssMiB.toFixed(0)} MiB)`);
  await s3.deleteMany(repo, [...keys, `${prefix}big.bin`]);
  await s3.close();
}
