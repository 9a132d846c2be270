/**
 * The SQL source conformance suite: every SqlDriver that runs real SQL (SQLite, PostgreSQL) runs it through the
 * driver runtime, as the compare loop's SqlDayProvider and the ingest stages get it. Statements are written once,
 * with placeholder(dialect, i) and CAST, so one text runs on every dialect. A driver that can be interrupted names
 * a statement that runs for a long time: the deadline case checks the statement is abandoned in time and the
 * driver answers the next one (its connection was given back). The MS SQL driver (no server can run here) runs the
 * deadline case on its stand-in transport (test/drivers/sql-mssql.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeholder, type SqlDriver } from "../../src/support/drivers.js";
import { TerminalError, TransientError } from "../../src/support/errors.js";
import { LakeEventBus } from "../../src/support/events.js";
import type { DriverCallEvent } from "../../src/support/resilience.js";
import { runtimeDriver } from "../helpers/context.js";

export interface SqlSuiteOptions {
  /** A statement that runs for at least 20 s and can be cancelled; none = calls cannot be interrupted (embedded). */
  slowStatement?: string;
  /** The driver runs real SQL; false = a stand-in transport (only the deadline case runs). @default true */
  engine?: boolean;
}

export function sqlConformance(name: string, make: () => SqlDriver | Promise<SqlDriver>, opts: SqlSuiteOptions = {}): void {
  describe(`sql conformance: ${name}`, () => {
    let db: SqlDriver;
    const calls: DriverCallEvent[] = [];
    const events = new LakeEventBus();
    events.on("driver.call", (e) => calls.push(e));
    beforeAll(async () => {
      db = runtimeDriver("sql", await make(), { events });
    });
    afterAll(async () => {
      await db?.close?.();
    });
    const p = (i: number) => placeholder(db.dialect, i);

    describe.skipIf(opts.engine === false)("statements", () => {
      it("binds positional parameters and returns plain rows, in order", async () => {
        const rows = await db.query(
          `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < CAST(${p(0)} AS INTEGER))
           SELECT x, CAST(${p(1)} AS TEXT) AS label FROM s WHERE x >= CAST(${p(2)} AS INTEGER) ORDER BY x`,
          [5, "day", 3],
        );
        expect(rows).toEqual([
          { x: 3, label: "day" },
          { x: 4, label: "day" },
          { x: 5, label: "day" },
        ]);
        expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
      });

      it("passes text with quotes, unicode and null as data, never as SQL", async () => {
        const evil = "x'); DROP TABLE t; -- é ☃";
        expect(await db.query(`SELECT CAST(${p(0)} AS TEXT) AS v, CAST(${p(1)} AS TEXT) AS n`, [evil, null])).toEqual([{ v: evil, n: null }]);
      });

      it("answers a statement without rows with an empty list", async () => {
        expect(await db.query(`SELECT 1 AS one WHERE 1 = CAST(${p(0)} AS INTEGER)`, [2])).toEqual([]);
      });

      it("a refused statement is a TerminalError naming the statement, tried once; the driver goes on answering", async () => {
        calls.length = 0;
        const err = await db.query("SELEC broken FROM nowhere").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TerminalError);
        expect(calls.map((c) => [c.op, c.attempts, c.ok])).toEqual([["query", 1, false]]);
        expect(await db.query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
      });

      it("answers many statements at once, each with its own rows", async () => {
        const got = await Promise.all(Array.from({ length: 24 }, (_, i) => db.query(`SELECT CAST(${p(0)} AS INTEGER) AS i`, [i])));
        expect(got.map((r) => r[0]!.i)).toEqual(Array.from({ length: 24 }, (_, i) => i));
      });
    });

    it.skipIf(!opts.slowStatement)("a statement past the runtime's deadline fails as a TransientError; the next one is answered", async () => {
      const quick = runtimeDriver("sql", await make(), { timeoutMs: 400, retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 } });
      try {
        const err = await quick.query(opts.slowStatement!).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TransientError);
        expect((err as Error).message).toMatch(/no answer within 400 ms/);
        if (opts.engine !== false) expect(await quick.query("SELECT 3 AS three")).toEqual([{ three: 3 }]);
      } finally {
        await quick.close?.();
      }
    });
  });
}
