/**
 * MS SQL driver. No SQL Server can be installed on the test machines, so:
 * - statement and parameter handling run through an in-process stand-in of the ConnectionPool/Request surface
 *   the driver uses (labelled "no server available: stubbed transport");
 * - connection failures run real mssql/tedious against a closed port, a server that drops every connection and a
 *   server that never answers.
 */
import net from "node:net";
import sql from "mssql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mssqlDriver, { MssqlSql, mssqlConfig, mssqlError, mssqlOptions, mssqlType, type MssqlPoolLike } from "../../src/drivers/sql/mssql.js";
import { placeholder } from "../../src/support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import { testContext } from "../helpers/context.js";
import { wtQueries } from "../../src/sources/wt/queries.js";

interface Call {
  text: string;
  inputs: { name: string; type: unknown; value: unknown }[];
}

/** In-process stand-in of mssql's ConnectionPool/Request: records what the driver sends, answers canned rows. */
function standIn(answer: (text: string) => Record<string, unknown>[] | Error = () => []) {
  const calls: Call[] = [];
  let connects = 0;
  let closed = 0;
  const pool: MssqlPoolLike = {
    async connect() {
      connects++;
    },
    request() {
      const call: Call = { text: "", inputs: [] };
      const req = {
        input(name: string, type: unknown, value: unknown) {
          call.inputs.push({ name, type, value });
          return req;
        },
        async query(text: string) {
          call.text = text;
          calls.push(call);
          const a = answer(text);
          if (a instanceof Error) throw a;
          const recordset = Object.assign([...a], { columns: {} });
          return { recordset };
        },
      };
      return req;
    },
    async close() {
      closed++;
    },
  };
  return { pool, calls, stats: () => ({ connects, closed }) };
}

const OPTS = mssqlOptions.parse({ server: "kits.example", database: "KITSDB", user: "etl", encrypt: false, connectTimeoutMs: 3000 });

describe("mssql driver (no server available: stubbed transport)", () => {
  it("binds positional parameters as @p1..@pN with explicit types and returns plain rows", async () => {
    const s = standIn(() => [{ day: "2024-11-01", n: 5 }]);
    const db = new MssqlSql(mssqlConfig(OPTS, "etl", "pw"), () => s.pool);
    const text = `SELECT x FROM t WHERE a >= ${placeholder("mssql", 0)} AND b < ${placeholder("mssql", 1)} AND c = ${placeholder("mssql", 2)}`;
    const rows = await db.query(text, ["2024-11-01 00:00:00", 42, null]);
    expect(rows).toEqual([{ day: "2024-11-01", n: 5 }]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]!.text).toBe(text);
    expect(s.calls[0]!.inputs.map((i) => [i.name, i.value])).toEqual([["p1", "2024-11-01 00:00:00"], ["p2", 42], ["p3", null]]);
    expect((s.calls[0]!.inputs[1]!.type as { name?: string }) === sql.Int || String(s.calls[0]!.inputs[1]!.type).includes("Int")).toBe(true);
  });

  it("connects once, lazily, and closes the pool", async () => {
    const s = standIn();
    const db = new MssqlSql(mssqlConfig(OPTS, "etl", "pw"), () => s.pool);
    expect(s.stats().connects).toBe(0);
    await db.query("SELECT 1");
    await db.query("SELECT 2");
    expect(s.stats().connects).toBe(1);
    await db.close();
    expect(s.stats().closed).toBe(1);
  });

  it("runs the Wavetronix availability statement with its window parameters", async () => {
    const s = standIn(() => [{ day: "2024-11-01", n: 288 }]);
    const db = new MssqlSql(mssqlConfig(OPTS, "etl", "pw"), () => s.pool);
    const { sql: text, params } = wtQueries().availability("mssql", { start: "2024-11-01 00:00:00", end: "2024-11-03 00:00:00" });
    expect(await db.query(text, params)).toEqual([{ day: "2024-11-01", n: 288 }]);
    expect(s.calls[0]!.text).toContain("@p1");
    expect(s.calls[0]!.text).toContain("@p2");
    expect(s.calls[0]!.inputs.map((i) => i.value)).toEqual(["2024-11-01 00:00:00", "2024-11-03 00:00:00"]);
  });

  it("refuses a statement that mentions more parameters than given, before sending anything", async () => {
    const s = standIn();
    const db = new MssqlSql(mssqlConfig(OPTS, "etl", "pw"), () => s.pool);
    await expect(db.query("SELECT 1 WHERE a = @p2", ["x"])).rejects.toThrow(/uses @p2 but only 1 parameters/);
    expect(s.calls).toHaveLength(0);
  });

  it("picks SQL types by value", () => {
    expect(mssqlType(1)).toBe(sql.Int);
    expect(mssqlType(2 ** 40)).toBe(sql.BigInt);
    expect(mssqlType(1.5)).toBe(sql.Float);
    expect(mssqlType(true)).toBe(sql.Bit);
    expect(() => mssqlType({})).toThrow(TerminalError);
  });

  it("classifies errors: SQL error → TerminalError, deadlock/timeout/socket → TransientError, login → ConfigError", async () => {
    const sqlErr = Object.assign(new Error("Invalid object name 'KITS.X'."), { code: "EREQUEST", number: 208 });
    const s = standIn(() => sqlErr);
    const db = new MssqlSql(mssqlConfig(OPTS, "etl", "pw"), () => s.pool);
    const err = await db.query("SELECT * FROM KITS.X").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as Error).message).toMatch(/kits\.example:1433\/KITSDB.*Invalid object name/);
    expect(mssqlError("query", "w", Object.assign(new Error("deadlock"), { code: "EREQUEST", number: 1205 }))).toBeInstanceOf(TransientError);
    expect(mssqlError("query", "w", Object.assign(new Error("Timeout"), { code: "ETIMEOUT" }))).toBeInstanceOf(TransientError);
    expect(mssqlError("connect", "w", Object.assign(new Error("Login failed for user 'etl'."), { code: "ELOGIN" }))).toBeInstanceOf(ConfigError);
  });
});

describe("mssql driver configuration", () => {
  it("a missing database is a ConfigError (fixes B10)", async () => {
    const o = mssqlOptions.parse({ server: "kits.example" });
    await expect(async () => mssqlDriver.create(o, testContext({ WT_DB_USER: "u", WT_DB_PASSWORD: "p" }))).rejects.toThrow(/option "database" is not set.*KITSDB/);
  });

  it("user from the option or the WT_DB_USER secret; the password only from WT_DB_PASSWORD", async () => {
    const o = mssqlOptions.parse({ server: "kits.example", database: "KITSDB" });
    await expect(async () => mssqlDriver.create(o, testContext({ WT_DB_USER: "u" }))).rejects.toThrow(/WT_DB_PASSWORD/);
    await expect(async () => mssqlDriver.create(o, testContext({ WT_DB_PASSWORD: "p" }))).rejects.toThrow(/WT_DB_USER/);
    const d = await mssqlDriver.create(o, testContext({ WT_DB_USER: "u", WT_DB_PASSWORD: "p" }));
    expect(d.dialect).toBe("mssql");
    await d.close?.();
    expect(mssqlOptions.safeParse({ server: "s", database: "d", password: "inline" }).success).toBe(false);
  });

  it("maps options to the mssql config", () => {
    const o = mssqlOptions.parse({ server: "s", database: "d", trustServerCertificate: true, connectTimeoutMs: 5000 });
    expect(mssqlConfig(o, "u", "p")).toMatchObject({
      server: "s", port: 1433, database: "d", user: "u", connectionTimeout: 5000, requestTimeout: 0,
      options: { encrypt: true, trustServerCertificate: true },
    });
  });
});

describe("mssql driver: real tedious connection failures (no SQL Server needed)", () => {
  const servers: net.Server[] = [];
  const listen = async (onConnection: (s: net.Socket) => void): Promise<number> => {
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return (server.address() as net.AddressInfo).port;
  };
  const sockets: net.Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
  const driverAt = (port: number, connectTimeoutMs = 3000) =>
    new MssqlSql(mssqlConfig(mssqlOptions.parse({ server: "127.0.0.1", port, database: "KITSDB", user: "u", encrypt: false, connectTimeoutMs }), "u", "p"));

  let closedPort = 0;
  beforeAll(async () => {
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", () => r()));
    closedPort = (tmp.address() as net.AddressInfo).port;
    await new Promise((r) => tmp.close(r));
  });

  it("a closed port is a clear TransientError (ESOCKET)", async () => {
    const db = driverAt(closedPort);
    const err = await db.query("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(new RegExp(`ESOCKET.*127\\.0\\.0\\.1:${closedPort}`));
    await db.close();
  });

  it("a server that accepts then drops the connection is a clear TransientError, no hang", async () => {
    const port = await listen((s) => s.destroy());
    const db = driverAt(port);
    const err = await db.query("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/mssql: connect on 127\.0\.0\.1:\d+\/KITSDB failed/);
    await db.close();
  });

  it("a server that never answers fails after connectTimeoutMs (ETIMEOUT)", async () => {
    const port = await listen((s) => {
      sockets.push(s);
      s.on("data", () => undefined);
    });
    const db = driverAt(port, 500);
    const err = await db.query("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/ETIMEOUT/);
    await db.close();
  });
});
