/**
 * What the PostgREST drivers put on the wire, seen through a recording proxy in front of the real server, and how
 * they classify server errors, seen through a stub that answers 503.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import catalogDriver, { type PostgrestCatalog } from "../../src/drivers/catalog/postgrest.js";
import perfmetDriver, { type PostgrestPerfmet } from "../../src/drivers/perfmet/postgrest.js";
import s3Driver, { type S3Storage } from "../../src/drivers/storage/s3.js";
import type { CatalogDriver, CatalogRecord } from "../../src/support/drivers.js";
import { TransientError } from "../../src/support/errors.js";
import { day } from "../conformance/catalog.js";
import { RUN_ID, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const drain = async (it: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describeService(["POSTGREST_URL", "POSTGREST_JWT"], "postgrest on the wire", () => {
  const seen: string[] = [];
  let proxy: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    const upstream = serviceEnv("POSTGREST_URL")!;
    proxy = await listen(async (req, res) => {
      seen.push(`${req.method} ${decodeURIComponent(req.url ?? "")}`);
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length")) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const r = await fetch(upstream + req.url, { method: req.method, headers, ...(body ? { body } : {}) });
      res.writeHead(r.status, Object.fromEntries([...r.headers].filter(([k]) => k !== "content-encoding" && k !== "transfer-encoding")));
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  afterAll(() => proxy.close());

  const catalog = (over: Record<string, unknown> = {}): CatalogDriver =>
    catalogDriver.create(catalogDriver.options.parse({ url: proxy.url, ...over }), testContext({ CATALOG_KEY: serviceEnv("POSTGREST_JWT") })) as PostgrestCatalog;

  it("forwards the limit (a 'latest' query asks for one row, B4) and filters on the server", async () => {
    const repo = `wire-${RUN_ID}`;
    const rows: CatalogRecord[] = [0, 1, 2].map((i) => ({
      repository: repo, data_source: "gs", id_base: "Burnet_Rich", id_ext: "counts.json", pointer: `p${i}`,
      collection_date: day(i), collection_end: null, processing_date: null, metadata: { i },
    }));
    const d = catalog();
    await d.upsert(rows);
    seen.length = 0;
    const latest = await drain(d.query({ repository: repo, dataSource: "gs", base: { like: "Burnet_*" }, ext: "counts.json", order: "desc", limit: 1 }));
    expect(latest).toEqual([rows[2]]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^GET \/data_lake_cat\?select=.*repository=eq\.wire-/);
    expect(seen[0]).toContain("id_base=like.Burnet\\_*");
    expect(seen[0]).toContain("id_ext=eq.counts.json");
    expect(seen[0]).toContain("order=collection_date.desc,id_base.desc,id_ext.desc");
    expect(seen[0]).toContain("limit=1");
  });

  it("upserts with on_conflict on the five primary-key columns and merge-duplicates", async () => {
    seen.length = 0;
    await catalog().upsert([{
      repository: `wire2-${RUN_ID}`, data_source: "bt", id_base: "Austin", id_ext: "json", pointer: "p",
      collection_date: day(0), collection_end: day(1), processing_date: null, metadata: null,
    }]);
    expect(seen).toEqual([expect.stringMatching(/^POST \/data_lake_cat\?on_conflict=collection_date,repository,data_source,id_base,id_ext/)]);
  });

  it("pages: a query of N rows with pageSize P makes ceil(N/P) requests plus one probe at most", async () => {
    const repo = `wire3-${RUN_ID}`;
    const d = catalog({ pageSize: 10 });
    await d.upsert(Array.from({ length: 25 }, (_, i) => ({
      repository: repo, data_source: "bt", id_base: `B${String(i).padStart(2, "0")}`, id_ext: "json", pointer: "p",
      collection_date: day(0), collection_end: null, processing_date: null, metadata: null,
    })));
    seen.length = 0;
    expect(await drain(d.query({ repository: repo, dataSource: "bt" }))).toHaveLength(25);
    expect(seen.map((s) => /offset=(\d+)/.exec(s)?.[1] ?? "0")).toEqual(["0", "10", "20", "25"]);
  });

  it("perfmet debug writes go to the _test tables", async () => {
    seen.length = 0;
    const d = perfmetDriver.create(perfmetDriver.options.parse({ url: proxy.url }), testContext({ CATALOG_KEY: serviceEnv("POSTGREST_JWT") }, { debug: true })) as PostgrestPerfmet;
    await d.writeJob({ data_source: "Bluetooth", stage: "Ingest", seconds: 1, records: 1, processing_date: Date.UTC(1998, 0, 1), collection_start: null, collection_end: null });
    expect(seen).toEqual([expect.stringMatching(/^POST \/etl_perfmet_job_test\?on_conflict=processing_date,data_source,stage/)]);
  });
});

it("a 503 from PostgREST or S3 is a TransientError", async () => {
  const stub = await listen((_req, res) => {
    res.writeHead(503, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "PGRST000", message: "Database client error. Retrying the connection." }));
  });
  try {
    const cat = catalogDriver.create(catalogDriver.options.parse({ url: stub.url }), testContext()) as PostgrestCatalog;
    const err = await drain(cat.query({ repository: "x", dataSource: "bt" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/HTTP 503 PGRST000/);
    const s3 = s3Driver.create(s3Driver.options.parse({ endpoint: stub.url, forcePathStyle: true }), testContext({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" })) as S3Storage;
    await expect(s3.get("lake-raw", "k")).rejects.toBeInstanceOf(TransientError);
    await s3.close();
  } finally {
    await stub.close();
  }
});
