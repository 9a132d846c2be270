/** One better-sqlite3 connection per file per process, shared by the embedded catalog, perfmet and block stores. */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { ConfigError, fsErrorMessage, isSystemError } from "../support/errors.js";

let addon: string | null | undefined;

/**
 * better-sqlite3's options with its compiled addon, loaded by path. The package's JavaScript is bundled
 * (scripts/build.mjs: start-up), and its own way of finding the addon (the `bindings` package, which searches beside
 * the calling file) would look in the wrong place and costs several milliseconds per process. When the addon is not
 * where `npm ci` builds it, better-sqlite3 is left to find it.
 */
export function sqliteOptions(options: Database.Options = {}): Database.Options {
  if (addon === undefined) {
    addon = null;
    const pkg = createRequire(import.meta.url).resolve("better-sqlite3/package.json");
    const file = path.join(path.dirname(pkg), "build", "Release", "better_sqlite3.node");
    if (existsSync(file)) addon = file;
  }
  return addon ? { ...options, nativeBinding: addon } : options;
}

const open = new Map<string, { db: Database.Database; users: number }>();

export function openSqlite(file: string): Database.Database {
  const abs = file === ":memory:" ? file : path.resolve(file);
  const held = abs === ":memory:" ? undefined : open.get(abs);
  if (held) {
    held.users++;
    return held.db;
  }
  let db: Database.Database;
  try {
    if (abs !== ":memory:") mkdirSync(path.dirname(abs), { recursive: true });
    db = new Database(abs, sqliteOptions());
    db.pragma("journal_mode = WAL");
  } catch (err) {
    // A lake on a read-only or immutable folder: say which file and what to do, not a driver stack.
    const detail = isSystemError(err) ? fsErrorMessage(err, undefined, abs) : `${(err as Error).message}`;
    throw new ConfigError(`cannot open the SQLite database ${abs}: ${detail}; the folder must exist and be writable (LAKE_HOME or the driver's path option)`, { cause: err });
  }
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 10000");
  db.pragma("cache_size = -65536"); // 64 MiB page cache: large catalogs stay linear to read
  if (abs !== ":memory:") open.set(abs, { db, users: 1 });
  return db;
}

/**
 * Additive migration of a table made by an earlier version: the columns it lacks are added (nullable, so its older
 * rows hold null there). `columns` are [name, SQL type] pairs.
 */
export function addMissingColumns(db: Database.Database, table: string, columns: readonly (readonly [string, string])[]): void {
  const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  for (const [name, type] of columns) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
}

export function closeSqlite(db: Database.Database): void {
  for (const [file, held] of open) {
    if (held.db !== db) continue;
    held.users--;
    if (held.users <= 0) {
      open.delete(file);
      db.close();
    }
    return;
  }
  if (db.open) db.close();
}
