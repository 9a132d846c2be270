/** Every SQL source driver through the one conformance suite (SQLite file; PostgreSQL when PG_URL is set). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import sqliteSql from "../../src/drivers/sql/sqlite.js";
import postgresSql from "../../src/drivers/sql/postgres.js";
import { sqlConformance } from "../conformance/sql.js";
import { testContext } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

const home = mkdtempSync(path.join(tmpdir(), "lake-sql-"));
new Database(path.join(home, "source.sqlite")).close();
sqlConformance("sqlite", () => sqliteSql.create(sqliteSql.options.parse({ path: "source.sqlite" }), testContext({}, { home })));

describeService(["PG_URL"], "postgres sql", () => {
  // One connection: the deadline case proves a stuck statement gives its connection back.
  sqlConformance("postgres", () => postgresSql.create(postgresSql.options.parse({ maxConnections: 1 }), testContext({ PG_URL: serviceEnv("PG_URL") })), {
    slowStatement: "SELECT pg_sleep(30)",
  });
});
