/** SQLite perfmet (the embedded default): job and observation tables with the PostgreSQL primary keys. */
import path from "node:path";
import type Database from "better-sqlite3";
import { defineDriver } from "../define.js";
import { sqlitePerfmetOptions } from "../options.js";
import type { PerfmetDriver, PerfmetJob, PerfmetObs } from "../../support/drivers.js";
import { addMissingColumns, closeSqlite, openSqlite } from "../sqlite-db.js";
import { perfmetTables } from "./tables.js";

export class SqlitePerfmet implements PerfmetDriver {
  readonly driverName = "sqlite";
  private readonly db: Database.Database;
  readonly names: { job: string; obs: string };

  constructor(file: string, debug: boolean) {
    this.names = perfmetTables(debug);
    this.db = openSqlite(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${this.names.job} (
        data_source TEXT NOT NULL, stage TEXT NOT NULL, seconds REAL, records INTEGER,
        processing_date INTEGER NOT NULL, collection_start INTEGER, collection_end INTEGER, rows INTEGER,
        PRIMARY KEY (processing_date, data_source, stage));
      CREATE TABLE IF NOT EXISTS ${this.names.obs} (
        data_source TEXT NOT NULL, sensor_name TEXT NOT NULL, data_type TEXT NOT NULL, data REAL, expected REAL,
        collection_date INTEGER NOT NULL, timestamp_min INTEGER, timestamp_max INTEGER,
        PRIMARY KEY (collection_date, data_source, data_type, sensor_name));
    `);
    // A job table of an older lake gets the rows column (additive: its earlier rows hold null there).
    addMissingColumns(this.db, this.names.job, [["rows", "INTEGER"]]);
  }

  async writeJob(job: PerfmetJob): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO ${this.names.job} (data_source, stage, seconds, records, rows, processing_date, collection_start, collection_end)
         VALUES (@data_source, @stage, @seconds, @records, @rows, @processing_date, @collection_start, @collection_end)
         ON CONFLICT (processing_date, data_source, stage) DO UPDATE SET seconds = excluded.seconds, records = excluded.records, rows = excluded.rows,
           collection_start = excluded.collection_start, collection_end = excluded.collection_end`,
      )
      .run({ ...job, rows: job.rows ?? null });
  }

  async writeObs(obs: PerfmetObs[]): Promise<void> {
    const stmt = this.db.prepare(
      `INSERT INTO ${this.names.obs} (data_source, sensor_name, data_type, data, expected, collection_date, timestamp_min, timestamp_max)
       VALUES (@data_source, @sensor_name, @data_type, @data, @expected, @collection_date, @timestamp_min, @timestamp_max)
       ON CONFLICT (collection_date, data_source, data_type, sensor_name) DO UPDATE SET data = excluded.data,
         expected = excluded.expected, timestamp_min = excluded.timestamp_min, timestamp_max = excluded.timestamp_max`,
    );
    this.db.transaction((rows: PerfmetObs[]) => {
      for (const o of rows) stmt.run(o);
    })(obs);
  }

  async readJobs(q: { from: number; to: number }): Promise<PerfmetJob[]> {
    return this.db
      .prepare(
        `SELECT * FROM ${this.names.job} WHERE processing_date >= ? AND processing_date < ? ORDER BY data_source, stage, processing_date`,
      )
      .all(q.from, q.to) as PerfmetJob[];
  }

  async readObs(q: { from: number; to: number; dataSource?: string; dataType?: string }): Promise<PerfmetObs[]> {
    const where = ["collection_date >= ?", "collection_date < ?"];
    const params: unknown[] = [q.from, q.to];
    if (q.dataSource !== undefined) {
      where.push("data_source = ?");
      params.push(q.dataSource);
    }
    if (q.dataType !== undefined) {
      where.push("data_type = ?");
      params.push(q.dataType);
    }
    return this.db
      .prepare(`SELECT * FROM ${this.names.obs} WHERE ${where.join(" AND ")} ORDER BY data_type, sensor_name, collection_date`)
      .all(...params) as PerfmetObs[];
  }

  async close(): Promise<void> {
    closeSqlite(this.db);
  }
}

export default defineDriver({
  options: sqlitePerfmetOptions,
  create: (o, ctx) => new SqlitePerfmet(path.resolve(ctx.baseDir, o.path ?? path.join(ctx.home, "perfmet.sqlite")), ctx.debug),
});
