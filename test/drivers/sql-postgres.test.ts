/** The PostgreSQL SQL-source driver against the real server: parameterised statements and error classes. */
import { expect, it } from "vitest";
import postgresSql, { type PostgresSql } from "../../src/drivers/sql/postgres.js";
import { placeholder } from "../../src/support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../src/support/errors.js";
import { runtimeDriver, testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

const make = (over: Record<string, unknown> = {}) =>
  postgresSql.create(postgresSql.options.parse(over), testContext({ PG_URL: serviceEnv("PG_URL") })) as PostgresSql;

describeService(["PG_URL"], "postgres sql driver", () => {
  it("runs parameterised statements with the postgres placeholders", async () => {
    const db = make();
    expect(db.dialect).toBe("postgres");
    const sql = `select x, x * 2 as twice from generate_series(${placeholder("postgres", 0)}::int, ${placeholder("postgres", 1)}::int) as x`;
    expect(await db.query(sql, [1, 3])).toEqual([
      { x: 1, twice: 2 },
      { x: 2, twice: 4 },
      { x: 3, twice: 6 },
    ]);
    await db.close();
  });

  it("treats a parameter as data, never as SQL", async () => {
    const db = make();
    const evil = "x'; drop table api.data_lake_cat; --";
    expect(await db.query("select $1::text as v", [evil])).toEqual([{ v: evil }]);
    expect(await db.query("select count(*)::int as n from api.data_lake_cat where id_base = $1", [evil])).toEqual([{ n: 0 }]);
    await db.close();
  });

  it("a bad statement is a TerminalError; a missing table a ConfigError", async () => {
    const db = make();
    await expect(db.query("selec 1")).rejects.toBeInstanceOf(TerminalError);
    await expect(db.query("select * from no_such_table")).rejects.toBeInstanceOf(ConfigError);
    await db.close();
  });

  it("the runtime's deadline cancels a stuck statement on the server and gives its connection back", async () => {
    const tag = `lake_deadline_${process.pid}_${Date.now()}`;
    const db = runtimeDriver("sql", make({ maxConnections: 1 }), { timeoutMs: 300, retry: { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 } });
    const watcher = make();
    const running = async () =>
      (await watcher.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1", [`%${tag}%`]))[0]!.n;
    try {
      await expect(db.query(`select pg_sleep(60) as "${tag}"`)).rejects.toBeInstanceOf(TransientError);
      expect(await db.query("select 1 as one")).toEqual([{ one: 1 }]); // the only connection is free again
      for (let i = 0; i < 100 && (await running()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await running()).toBe(0); // and the server stopped the statement
    } finally {
      await db.close?.();
      await watcher.close();
    }
  });

  it("a closed port is a TransientError; no connection string is a ConfigError naming the secret", async () => {
    const db = make({ connectionString: "postgres://postgres@127.0.0.1:1/lake" });
    await expect(db.query("select 1")).rejects.toBeInstanceOf(TransientError);
    await db.close();
    expect(() => postgresSql.create(postgresSql.options.parse({ secret: "SOURCE_DB" }), testContext())).toThrow(/secret SOURCE_DB/);
  });
});
