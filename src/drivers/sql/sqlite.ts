/**
 * SQL source driver for SQLite files (better-sqlite3): the demo's simulated KITS database, and any source kept in
 * a SQLite file. Positional "?" parameters only; statements are prepared once and cached.
 *
 * Options: path (relative to the config's folder), readonly (default true: the lake only reads source systems).
 */
import path from "node:path";
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { sqliteOptions } from "../sqlite-db.js";
import { defineDriver } from "../define.js";
import { sqliteSqlOptions } from "../options.js";
import type { SqlDriver } from "../../support/drivers.js";
import { ConfigError, TerminalError, TransientError } from "../../support/errors.js";


/** SQLite result codes worth retrying: another connection holds a lock. */
const TRANSIENT_CODES = new Set(["SQLITE_BUSY", "SQLITE_LOCKED"]);

/** better-sqlite3 binds numbers, bigints, strings, buffers and null; anything else is converted here. */
function bindable(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  return value;
}

export class SqliteSqlDriver implements SqlDriver {
  readonly driverName = "sqlite";
  readonly dialect = "sqlite" as const;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  async query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const args = params.map(bindable);
    try {
      let stmt = this.statements.get(sql);
      if (!stmt) {
        stmt = this.db.prepare(sql);
        this.statements.set(sql, stmt);
      }
      if (stmt.reader) return stmt.all(...args) as T[];
      stmt.run(...args);
      return [];
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      const message = `sqlite ${this.file}: ${(err as Error).message}`;
      if (TRANSIENT_CODES.has(code)) throw new TransientError(`${message} (database locked; will retry)`, { cause: err });
      throw new TerminalError(`${message}; statement: ${sql.replace(/\s+/g, " ").trim().slice(0, 300)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

export default defineDriver({
  options: sqliteSqlOptions,
  create(options, ctx): SqlDriver {
    const file = path.resolve(ctx.baseDir, options.path);
    if (options.readonly && !existsSync(file)) {
      throw new ConfigError(`sql driver sqlite: database file ${file} does not exist (options.path "${options.path}", relative to ${ctx.baseDir})`);
    }
    let db: Database.Database;
    try {
      db = new Database(file, sqliteOptions({ readonly: options.readonly, fileMustExist: options.readonly, timeout: options.busyTimeoutMs }));
    } catch (err) {
      throw new ConfigError(`sql driver sqlite: cannot open ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new SqliteSqlDriver(db, file);
  },
});
