/** Every catalog driver through the one conformance suite, plus the service drivers' faults. */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import memoryDriver from "../../src/drivers/catalog/memory.js";
import postgresDriver, { type PostgresCatalog } from "../../src/drivers/catalog/postgres.js";
import postgrestDriver, { type PostgrestCatalog } from "../../src/drivers/catalog/postgrest.js";
import sqliteDriver from "../../src/drivers/catalog/sqlite.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import { catalogConformance, day } from "../conformance/catalog.js";
import { RUN_ID, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

catalogConformance("memory", () => memoryDriver.create({ maxRowsPerRequest: 50 }, testContext()));
catalogConformance("sqlite", () => sqliteDriver.create({}, testContext()));

/** key null = no token (the anonymous role). */
function postgrest(over: Record<string, unknown> = {}, key: string | null = serviceEnv("POSTGREST_JWT") ?? null): PostgrestCatalog {
  const options = postgrestDriver.options.parse({ url: serviceEnv("POSTGREST_URL"), ...over });
  return postgrestDriver.create(options, testContext({ CATALOG_KEY: key ?? undefined })) as PostgrestCatalog;
}

describeService(["POSTGREST_URL", "POSTGREST_JWT"], "postgrest catalog", () => {
  catalogConformance("postgrest", () => postgrest({ pageSize: 100, upsertBatch: 250 }));

  describe("postgrest catalog: beyond the suite", () => {
    it("pages past the server's max-rows cap when pageSize is larger", async () => {
      const cap = Number(serviceEnv("POSTGREST_MAX_ROWS") ?? 1000);
      const d = postgrest({ pageSize: cap * 5 });
      const repo = `cap-${RUN_ID}`;
      const count = 2 * cap + 11;
      const rows = Array.from({ length: count }, (_, i) => ({
        repository: repo, data_source: "wt", id_base: `B${String(i).padStart(5, "0")}`, id_ext: "json",
        pointer: `p${i}`, collection_date: day(0), collection_end: null, processing_date: null, metadata: null,
      }));
      await d.upsert(rows);
      const got: string[] = [];
      for await (const r of d.query({ repository: repo, dataSource: "wt" })) got.push(r.id_base);
      expect(got).toEqual(rows.map((r) => r.id_base));
    });

    it("a bad JWT is a ConfigError naming the secret, and nothing is written", async () => {
      const repo = `badjwt-${RUN_ID}`;
      const bad = postgrest({}, `${serviceEnv("POSTGREST_JWT")!.slice(0, -4)}AAAA`);
      const row = { repository: repo, data_source: "bt", id_base: "Austin", id_ext: "json", pointer: "p", collection_date: day(0), collection_end: null, processing_date: null, metadata: null };
      const err = await bad.upsert([row]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/refused the token.*CATALOG_KEY/);
      expect((err as Error).message).not.toContain(serviceEnv("POSTGREST_JWT")!.slice(-20));
      const got = [];
      for await (const r of postgrest().query({ repository: repo, dataSource: "bt" })) got.push(r);
      expect(got).toEqual([]);
    });

    it("the anonymous role can read but not write: a ConfigError", async () => {
      const anon = postgrest({}, null);
      const row = { repository: `anon-${RUN_ID}`, data_source: "bt", id_base: "A", id_ext: "json", pointer: "p", collection_date: day(0), collection_end: null, processing_date: null, metadata: null };
      await expect(anon.upsert([row])).rejects.toBeInstanceOf(ConfigError);
      const got = [];
      for await (const r of anon.query({ repository: row.repository, dataSource: "bt" })) got.push(r);
      expect(got).toEqual([]);
    });

    it("a server that is down is a TransientError saying it cannot be reached", async () => {
      const down = postgrest({ url: "http://127.0.0.1:1" });
      const err = await (async () => {
        for await (const _ of down.query({ repository: "x", dataSource: "bt" })) void _;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/cannot reach PostgREST at http:\/\/127\.0\.0\.1:1/);
    });

    it("a refused row is a TerminalError naming that row", async () => {
      const repo = `refused-${RUN_ID}`;
      const row = (base: string, i: number) => ({ repository: repo, data_source: "bt", id_base: base, id_ext: "json", pointer: `p${i}`, collection_date: day(i), collection_end: null, processing_date: null, metadata: null });
      const err = await postgrest().upsert([row("ok0", 0), row("ok1", 1), row("bad\u0000base", 2), row("ok3", 3)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TerminalError);
      expect((err as Error).message).toMatch(/row 2 \(repository=refused-\S+ data_source=bt id_base="bad\\u0000base"/);
    });

    it("a row with an invalid date is refused before anything is sent", async () => {
      const row = { repository: `nan-${RUN_ID}`, data_source: "bt", id_base: "A", id_ext: "json", pointer: "p", collection_date: Number.NaN, collection_end: null, processing_date: null, metadata: null };
      await expect(postgrest().upsert([row])).rejects.toThrow(/row 0 .*collection_date must be epoch milliseconds/);
    });
  });
});

function postgres(over: Record<string, unknown> = {}): PostgresCatalog {
  const options = postgresDriver.options.parse(over);
  return postgresDriver.create(options, testContext({ PG_URL: serviceEnv("PG_URL") })) as PostgresCatalog;
}

describeService(["PG_URL"], "postgres catalog", () => {
  // A schema of its own per run, made by the driver (ensureSchema), dropped afterwards.
  const schema = `lake_test_${RUN_ID}`;
  afterAll(async () => {
    const c = new pg.Client({ connectionString: serviceEnv("PG_URL") });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  });

  catalogConformance("postgres", () => postgres({ schema, ensureSchema: true, pageSize: 100, upsertBatch: 250 }));
  catalogConformance("postgres on sql/catalog.sql", () => postgres({ pageSize: 500 }), { paging: false });

  describe("postgres catalog: beyond the suite", () => {
    const row = (repo: string, base: string, i: number) => ({
      repository: repo, data_source: "bt", id_base: base, id_ext: "json", pointer: `p${i}`,
      collection_date: day(i), collection_end: null, processing_date: null, metadata: null,
    });

    it("a refused row is a TerminalError naming that row, and nothing of the call is written", async () => {
      const d = postgres({ schema, ensureSchema: true, upsertBatch: 2 });
      const repo = `refused-${RUN_ID}`;
      const err = await d.upsert([row(repo, "ok0", 0), row(repo, "ok1", 1), row(repo, "bad\u0000", 2)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TerminalError);
      expect((err as Error).message).toMatch(/row 2 \(repository=refused-\S+ data_source=bt id_base="bad\\u0000".*nothing was written/);
      const got = [];
      for await (const r of d.query({ repository: repo, dataSource: "bt" })) got.push(r);
      expect(got).toEqual([]);
      await d.close();
    });

    it("a closed port is a TransientError saying the server cannot be reached", async () => {
      const d = postgres({ connectionString: "postgres://postgres@127.0.0.1:1/lake" });
      const err = await d.upsert([row("x", "a", 0)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as Error).message).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1\/lake .*ECONNREFUSED/);
      await d.close();
    });

    it("an unknown database is a ConfigError, and the message carries no password", async () => {
      const url = new URL(serviceEnv("PG_URL")!);
      url.pathname = "/no_such_database";
      url.password = "s3cret-pw";
      const d = postgres({ connectionString: url.toString() });
      const err = await d.upsert([row("x", "a", 0)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/no_such_database/);
      expect((err as Error).message).not.toContain("s3cret-pw");
      await d.close();
    });

    it("a missing table is a ConfigError pointing at the options", async () => {
      const d = postgres({ table: "no_such_table" });
      const err = await (async () => {
        for await (const _ of d.query({ repository: "x", dataSource: "bt" })) void _;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/no_such_table.*ensureSchema/);
      await d.close();
    });

    it("no connection string anywhere is a ConfigError naming the secrets", () => {
      expect(() => postgresDriver.create(postgresDriver.options.parse({}), testContext())).toThrow(/CATALOG_PG_URL or PG_URL/);
    });
  });
});
