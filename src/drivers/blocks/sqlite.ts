/**
 * SQLite block store: tables lake_blocks and lake_leases in the embedded catalog's file (<home>/catalog.sqlite),
 * through the process-wide shared connection. Several processes may use the file at once (WAL, busy timeout).
 */
import path from "node:path";
import { defineDriver } from "../define.js";
import { sqliteBlocksOptions } from "../options.js";
import { addMissingColumns, closeSqlite, openSqlite } from "../sqlite-db.js";
import { ADDED_COLUMNS, blocksDdl, SqlBlockStore, type SqlExecutor } from "./sql-store.js";

export const BLOCKS_TABLE = "lake_blocks";
export const LEASES_TABLE = "lake_leases";

export function sqliteBlockStore(file: string, readOnly = false, name = "sqlite"): SqlBlockStore {
  const db = openSqlite(file);
  if (!readOnly) {
    for (const ddl of blocksDdl(BLOCKS_TABLE, LEASES_TABLE, "INTEGER")) db.exec(ddl);
    // A table made by an earlier version gets the columns added since.
    addMissingColumns(db, BLOCKS_TABLE, ADDED_COLUMNS);
  }
  const exec: SqlExecutor = {
    async run(sql, params) {
      const stmt = db.prepare(sql);
      if (stmt.reader) return { rows: stmt.all(...params) as Record<string, unknown>[], changes: 0 };
      return { rows: [], changes: stmt.run(...params).changes };
    },
    async close() {
      closeSqlite(db);
    },
    isMissingTable: (err) => /no such table/i.test(String((err as Error)?.message)),
  };
  return new SqlBlockStore(name, exec, BLOCKS_TABLE, LEASES_TABLE, readOnly);
}

export default defineDriver({
  options: sqliteBlocksOptions,
  create: (o, ctx) => sqliteBlockStore(path.resolve(ctx.baseDir, o.path ?? path.join(ctx.home, "catalog.sqlite")), o.readOnly),
});
