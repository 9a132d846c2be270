/**
 * sql-write on its own, on SQLite and the real PostgreSQL: a table that exists with fewer columns than its spec gets
 * the missing ones (additive migration); with isolateRefused a refused batch is written row by row, so one bad row
 * is returned with the database's reason and the others are written; without it the batch fails whole.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./helpers.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import type { SqlDriver } from "../../src/support/drivers.js";
import { ensureTable, writeRows, type TableSpec } from "../../src/support/sql-write.js";

function scenario(name: string, spec: () => Record<string, unknown>) {
  describe(`sql-write (${name})`, () => {
    const runtime = LakeRuntime.create({ overrides: { home: tempDir("lake-sqlw-") }, env: {} });
    const table = `t_sqlw_${process.pid}`;
    const t: TableSpec = { name: table, columns: { id: "text", v: "integer", note: "text" }, key: ["id"], indexes: [["v", "note"]] };
    const db = () => runtime.driver("sql", false, spec() as never) as Promise<SqlDriver>;
    afterAll(async () => {
      await (await db()).query(`DROP TABLE IF EXISTS ${table}`);
      await runtime.close();
    });

    it("adds the columns an existing table lacks (nullable), then writes", async () => {
      const d = await db();
      await d.query(`DROP TABLE IF EXISTS ${table}`);
      await d.query(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, v INTEGER CHECK (v < 100))`);
      await ensureTable(d, t);
      expect(await writeRows(d, t, [{ id: "a", v: 1, note: "x" }])).toMatchObject({ written: 1, refused: [] });
      expect(await d.query(`SELECT id, v, note FROM ${table}`)).toEqual([{ id: "a", v: 1, note: "x" }]);
    });

    it("without isolateRefused a refused batch fails whole; with it the bad row is returned and the others are written", async () => {
      const d = await db();
      const rows = [{ id: "b", v: 2, note: null }, { id: "c", v: 500, note: "too big" }, { id: "d", v: 4, note: null }];
      await expect(writeRows(d, t, rows)).rejects.toThrow(/check/i);
      expect((await d.query(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id)).toEqual(["a"]);
      const w = await writeRows(d, t, rows, { isolateRefused: true, batchSize: 10 });
      expect([w.written, w.refused.map((r) => r.row.id)]).toEqual([2, ["c"]]);
      expect(w.refused[0]!.error).toMatch(/check/i);
      expect((await d.query(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id)).toEqual(["a", "b", "d"]);
    });

    it("isolateRefused is refused for the all-or-nothing modes", async () => {
      const d = await db();
      await expect(writeRows(d, t, [], { mode: "fail-on-conflict", isolateRefused: true })).rejects.toThrow(/isolateRefused is for write modes upsert and append/);
    });
  });
}

const sqliteHome = tempDir("lake-sqlw-db-");
scenario("SQLite", () => ({ driver: "sqlite", options: { path: path.join(sqliteHome, "w.sqlite"), readonly: false } }));
describeService(["PG_URL"], "PostgreSQL", () => {
  scenario("PostgreSQL", () => ({ driver: "postgres", options: { connectionString: serviceEnv("PG_URL")! } }));
});
