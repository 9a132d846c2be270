/**
 * The KITS query contract (day availability and one day's retrieval), run against SQLite always and against a real
 * PostgreSQL when PG_URL is set. MS SQL has no server here: its statement text is checked instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sqliteDriver, { SqliteSqlDriver } from "../../src/drivers/sql/sqlite.js";
import { PostgresSql } from "../../src/drivers/sql/postgres.js";
import { placeholder, type SqlDriver } from "../../src/support/drivers.js";
import { SqlDayProvider, windowFor } from "../../src/support/last-update.js";
import { KITS_COLUMNS, wtQueries, type KitsRow, type WtQueries } from "../../src/sources/wt/queries.js";
import { kitsCsv } from "../../src/sources/wt/transform.js";
import { ConfigError, TerminalError } from "../../src/support/errors.js";
import { NO_RETRY } from "../../src/support/resilience.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import { testContext, RUN_ID } from "../helpers/context.js";
import { fixture, loadKitsFixture } from "./harness.js";

const ZONE = "America/Chicago";
const day = (s: string) => DateTime.fromISO(s, { zone: ZONE });

/** The contract every dialect's queries must meet on the kits-small.json data. */
function contract(name: string, setup: () => Promise<{ db: SqlDriver; queries: WtQueries; writer: SqlDriver; tables: { history: string; detectors: string } }>) {
  let db: SqlDriver;
  let queries: WtQueries;
  let writer: SqlDriver;
  let tables: { history: string; detectors: string };
  beforeAll(async () => {
    ({ db, queries, writer, tables } = await setup());
  });

  it(`${name}: a day's fingerprint is stable, and changes when a reading is corrected or a detector renamed`, async () => {
    const fingerprints = async () => {
      const { sql, params } = queries.fingerprint!(db.dialect, { start: "2024-11-04 00:00:00", end: "2024-11-08 00:00:00" });
      const rows = await db.query<{ day: unknown }>(sql, params);
      return new Map(rows.map(({ day, ...rest }) => [String(day).slice(0, 10), JSON.stringify(rest)]));
    };
    const before = await fingerprints();
    expect([...before.keys()].sort()).toEqual(["2024-11-04", "2024-11-05", "2024-11-07"]);
    expect(await fingerprints()).toEqual(before);
    const p = (i: number) => placeholder(writer.dialect, i);
    await writer.query(`UPDATE ${tables.history} SET VOLUME = VOLUME + 1 WHERE DETID = ${p(0)} AND CURDATETIME < ${writer.dialect === "sqlite" ? p(1) : `CAST(${p(1)} AS timestamp)`}`, [401, "2024-11-05 00:15:00"]);
    const corrected = await fingerprints();
    expect(corrected.get("2024-11-05")).not.toBe(before.get("2024-11-05"));
    expect(corrected.get("2024-11-04")).toBe(before.get("2024-11-04"));
    await writer.query(`UPDATE ${tables.detectors} SET INTNAME = ${p(0)} WHERE DETID = ${p(1)}`, ["LAMAR_BRAKER", 401]);
    expect((await fingerprints()).get("2024-11-05")).not.toBe(corrected.get("2024-11-05"));
    // Put the fixture back for the other tests of the contract.
    await writer.query(`UPDATE ${tables.detectors} SET INTNAME = ${p(0)} WHERE DETID = ${p(1)}`, ["LAMARBRAKER", 401]);
    await writer.query(`UPDATE ${tables.history} SET VOLUME = VOLUME - 1 WHERE DETID = ${p(0)} AND CURDATETIME < ${writer.dialect === "sqlite" ? p(1) : `CAST(${p(1)} AS timestamp)`}`, [401, "2024-11-05 00:15:00"]);
    expect(await fingerprints()).toEqual(before);
  });

  const days = async (w: { start?: string; end?: string }) => {
    const { sql, params } = queries.availability(db.dialect, w);
    return (await db.query<{ day: unknown }>(sql, params)).map((r) => r.day);
  };

  it(`${name}: availability returns 'YYYY-MM-DD' text for days with readings in [start, end)`, async () => {
    expect(await days({})).toEqual(["2024-11-04", "2024-11-05", "2024-11-07"]);
    expect(await days({ start: "2024-11-05 00:00:00" })).toEqual(["2024-11-05", "2024-11-07"]);
    expect(await days({ start: "2024-11-05 00:00:00", end: "2024-11-07 00:00:00" })).toEqual(["2024-11-05"]);
    expect(await days({ end: "2024-11-05 00:00:00" })).toEqual(["2024-11-04"]);
    expect(await days({ start: "2024-11-07 00:15:00", end: "2024-11-07 00:15:01" })).toEqual(["2024-11-07"]);
    expect(await days({ start: "2024-11-08 00:00:00" })).toEqual([]);
  });

  it(`${name}: retrieval gives the day's rows, columns and order of the original, times as wall-clock text`, async () => {
    const { sql, params } = queries.retrieval(db.dialect, { start: "2024-11-05 00:00:00", end: "2024-11-06 00:00:00" });
    const rows = await db.query<KitsRow>(sql, params);
    expect(rows).toHaveLength(8);
    expect(Object.keys(rows[0]!)).toEqual([...KITS_COLUMNS]);
    // Numbers come back as the database's text, so the raw CSV keeps them exactly.
    expect(rows[0]).toMatchObject({ detID: "401", intID: "4", curDateTime: "2024-11-05 00:00:00", intName: "LAMARBRAKER", volume: "5", status: "Working" });
    expect(kitsCsv(rows).text).toBe(fixture("expected-raw-Austin_wt_2024-11-05.csv").toString("utf8"));
  });

  it(`${name}: retrieval keeps numbers exactly (12.5 is not cut to 12, 9223372036854775807 keeps its digits)`, async () => {
    const p = (i: number) => placeholder(writer.dialect, i);
    const ts = writer.dialect === "sqlite" ? p(1) : `CAST(${p(1)} AS timestamp)`;
    const where = `WHERE DETID = ${p(0)} AND CURDATETIME = ${ts}`;
    const at = [401, "2024-11-05 00:00:00"];
    const before = await writer.query<Record<string, unknown>>(`SELECT VOLUME, DAILYCUMULATIVE FROM ${tables.history} ${where}`, at);
    const decimal = writer.dialect === "sqlite" ? "12.5" : "12.5";
    if (writer.dialect === "postgres") {
      await writer.query(`ALTER TABLE ${tables.history} ALTER COLUMN VOLUME TYPE numeric, ALTER COLUMN DAILYCUMULATIVE TYPE bigint`);
    }
    await writer.query(`UPDATE ${tables.history} SET VOLUME = ${decimal}, DAILYCUMULATIVE = 9223372036854775807 ${where}`, at);
    try {
      const { sql, params } = queries.retrieval(db.dialect, { start: "2024-11-05 00:00:00", end: "2024-11-06 00:00:00" });
      const line = kitsCsv(await db.query<KitsRow>(sql, params)).text.split("\r\n")[1]!.split(",");
      expect(line[0]).toBe("401");
      expect(line[5]).toBe("12.5");
      expect(line[11]).toBe("9223372036854775807");
    } finally {
      await writer.query(`UPDATE ${tables.history} SET VOLUME = ${p(2)}, DAILYCUMULATIVE = ${p(3)} ${where}`, [...at, Number(before[0]!.VOLUME ?? before[0]!.volume), Number(before[0]!.DAILYCUMULATIVE ?? before[0]!.dailycumulative)]);
      if (writer.dialect === "postgres") {
        await writer.query(`ALTER TABLE ${tables.history} ALTER COLUMN VOLUME TYPE integer, ALTER COLUMN DAILYCUMULATIVE TYPE integer`);
      }
    }
  });

  it(`${name}: SqlDayProvider with start == end lists exactly that day (B9)`, async () => {
    const provider = new SqlDayProvider(db, queries, "Austin", "csv", ZONE, { today: day("2024-11-20") });
    await provider.prepare(windowFor(day("2024-11-05"), day("2024-11-05")));
    const items = [];
    for await (const i of provider.items()) items.push([i.base, i.ext, i.date.toISODate(), i.label]);
    expect(items).toEqual([["Austin", "csv", "2024-11-05", "Austin_2024-11-05.csv"]]);
  });
}

describe("KITS queries on SQLite", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lake-wt-q-"));
  const file = path.join(dir, "kits.sqlite");
  let driver: SqlDriver;
  afterAll(async () => {
    await driver?.close?.();
    rmSync(dir, { recursive: true, force: true });
  });
  contract("sqlite", async () => {
    loadKitsFixture(file);
    driver = await sqliteDriver.create(sqliteDriver.options.parse({ path: "kits.sqlite" }), testContext({}, { baseDir: dir }));
    const writer = await sqliteDriver.create(sqliteDriver.options.parse({ path: "kits.sqlite", readonly: false }), testContext({}, { baseDir: dir }));
    return { db: driver, queries: wtQueries(), writer, tables: { history: "SYSDETHISTORYRM", detectors: "DETECTORSRM" } };
  });

  it("the driver opens read-only by default and resolves paths against the base folder", async () => {
    expect(driver).toBeInstanceOf(SqliteSqlDriver);
    expect((driver as SqliteSqlDriver).file).toBe(file);
    await expect(driver.query("DELETE FROM SYSDETHISTORYRM")).rejects.toThrow(TerminalError);
    await expect(driver.query("DELETE FROM SYSDETHISTORYRM")).rejects.toThrow(/readonly/);
  });

  it("a missing file is a configuration error naming the path", () => {
    expect(() => sqliteDriver.create(sqliteDriver.options.parse({ path: "nope.sqlite" }), testContext({}, { baseDir: dir }))).toThrow(ConfigError);
  });

  it("a bad statement is a terminal error naming the file and statement", async () => {
    await expect(driver.query("SELECT nope FROM SYSDETHISTORYRM WHERE DETID = ?", [1])).rejects.toThrow(/kits\.sqlite: no such column: nope; statement: SELECT nope/);
  });

  it("writes when opened with readonly: false, binding booleans and dates", async () => {
    const rw = await sqliteDriver.create(sqliteDriver.options.parse({ path: file, readonly: false }), testContext({}, { baseDir: dir }));
    await rw.query("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER)");
    await rw.query("INSERT INTO t VALUES (?, ?, ?)", [true, new Date(Date.UTC(2024, 10, 5)), undefined]);
    expect(await rw.query("SELECT a, b, c FROM t")).toEqual([{ a: 1, b: "2024-11-05T00:00:00.000Z", c: null }]);
    await rw.close?.();
  });
});

describe("KITS statement text", () => {
  const q = wtQueries();
  it("is parameterised in every dialect (no date literal in the text)", () => {
    for (const dialect of ["sqlite", "postgres", "mssql"] as const) {
      const a = q.availability(dialect, { start: "2024-11-05 00:00:00", end: "2024-11-06 00:00:00" });
      const r = q.retrieval(dialect, { start: "2024-11-05 00:00:00", end: "2024-11-06 00:00:00" });
      expect(a.params).toEqual(["2024-11-05 00:00:00", "2024-11-06 00:00:00"]);
      expect(r.params).toEqual(a.params);
      expect(a.sql + r.sql).not.toMatch(/2024/);
    }
  });

  it("mssql uses schema KITS, @p placeholders, bracketed aliases and style-120 conversions", () => {
    const a = q.availability("mssql", { start: "S", end: "E" });
    expect(a.sql).toBe(
      "SELECT CONVERT(char(10), CAST(CURDATETIME AS date), 120) AS [day], COUNT(1) AS [n] FROM KITS.SYSDETHISTORYRM" +
        " WHERE CURDATETIME >= CONVERT(datetime2, @p1, 120) AND CURDATETIME < CONVERT(datetime2, @p2, 120)" +
        " GROUP BY CONVERT(char(10), CAST(CURDATETIME AS date), 120) ORDER BY CONVERT(char(10), CAST(CURDATETIME AS date), 120)",
    );
    const r = q.retrieval("mssql", { start: "S", end: "E" });
    expect(r.sql).toContain("FROM KITS.SYSDETHISTORYRM a INNER JOIN KITS.DETECTORSRM b ON a.DETID = b.DETID");
    expect(r.sql).toContain("CONVERT(char(19), a.CURDATETIME, 120) AS [curDateTime]");
    expect(r.sql).toMatch(/ORDER BY a\.CURDATETIME, INTNAME, DETNAME$/);
  });

  it("postgres uses $n placeholders cast to timestamp", () => {
    expect(q.availability("postgres", { start: "S" }).sql).toContain("WHERE CURDATETIME >= CAST($1 AS timestamp) GROUP BY");
    expect(q.availability("postgres", { end: "E" }).sql).toContain("WHERE CURDATETIME < CAST($1 AS timestamp) GROUP BY");
  });

  it("table names are configurable and checked", () => {
    expect(wtQueries({ history: "KITSDB.KITS.SYSDETHISTORYRM" }).tables("mssql").history).toBe("KITSDB.KITS.SYSDETHISTORYRM");
    expect(() => wtQueries({ detectors: "DETECTORSRM b; --" })).toThrow(ConfigError);
    expect(() => wtQueries({ history: "a.b.c.d" })).toThrow(/not a plain table name/);
  });
});

describeService(["PG_URL"], "KITS queries on PostgreSQL", () => {
  const schema = `wt_kits_${RUN_ID}`.toLowerCase();
  let pg: PostgresSql;
  afterAll(async () => {
    if (!pg) return;
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pg.close();
  });
  contract("postgres", async () => {
    pg = new PostgresSql(serviceEnv("PG_URL")!, 2);
    const spec = JSON.parse(fixture("kits-small.json").toString("utf8")) as {
      detectors: { DETID: number; INTID: number; INTNAME: string; DETNAME: string }[];
      columns: string[];
      readings: unknown[][];
    };
    await pg.query(`CREATE SCHEMA ${schema}`);
    await pg.query(`CREATE TABLE ${schema}.DETECTORSRM (DETID integer PRIMARY KEY, INTID integer NOT NULL, INTNAME varchar(64), DETNAME varchar(64))`);
    await pg.query(
      `CREATE TABLE ${schema}.SYSDETHISTORYRM (DETID integer NOT NULL, CURDATETIME timestamp NOT NULL, VOLUME integer, OCCUPANCY integer,` +
        ` SPEED integer, STATUS varchar(32), UPLOADSUCCESS integer, DETCOUNTCOMPARISON integer, DAILYCUMULATIVE integer)`,
    );
    for (const d of spec.detectors) await pg.query(`INSERT INTO ${schema}.DETECTORSRM VALUES ($1, $2, $3, $4)`, [d.DETID, d.INTID, d.INTNAME, d.DETNAME]);
    for (const r of spec.readings) {
      await pg.query(`INSERT INTO ${schema}.SYSDETHISTORYRM (${spec.columns.join(", ")}) VALUES (${spec.columns.map((_, i) => `$${i + 1}`).join(", ")})`, r);
    }
    const tables = { history: `${schema}.SYSDETHISTORYRM`, detectors: `${schema}.DETECTORSRM` };
    return { db: pg, queries: wtQueries(tables), writer: pg, tables };
  });
});
