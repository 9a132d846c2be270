/**
 * The `csv` publisher's row index: a SQLite file beside the published folder (`<dir>.index.sqlite`) holding, per
 * dataset, row id → hash of the row's line, and the state of the CSV file it describes (header, row count, size,
 * mtime, inode). The index lives on disk, so the driver's memory does not grow with the dataset; the CSV file stays
 * the published data, and the index is rebuilt from it whenever they disagree.
 *
 * Every operation runs inside one `BEGIN IMMEDIATE` transaction (an in-process queue per index file in front of it):
 * the CSV write happens inside the transaction and the index commits only after the file is written, so other
 * processes publishing to the same folder wait, and a crash leaves an index that is either current or detectably
 * stale.
 */
import type Database from "better-sqlite3";
import { closeSqlite, openSqlite } from "../sqlite-db.js";
import { TransientError } from "../../support/errors.js";

/** Page cache of the index connection: bounded, whatever the dataset size (SQLite pages the rest from the file). */
const INDEX_CACHE_KIB = 16_384;

/** What the index knows of one dataset file. */
export interface DatasetState {
  rowIdField: string;
  header: string[];
  rows: number;
  /** Every record has exactly `header.length` fields. */
  uniform: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
}

interface MetaRow {
  row_id_field: string;
  header: string;
  rows: number;
  uniform: number;
  size: number;
  mtime: number;
  ino: number;
}

const queues = new Map<string, Promise<unknown>>();

export class CsvIndex {
  private db: Database.Database | undefined;

  constructor(readonly file: string) {}

  private conn(): Database.Database {
    if (!this.db) {
      const db = openSqlite(this.file);
      db.pragma(`cache_size = -${INDEX_CACHE_KIB}`);
      db.exec(`CREATE TABLE IF NOT EXISTS csv_datasets (
        name TEXT PRIMARY KEY, row_id_field TEXT NOT NULL, header TEXT NOT NULL, rows INTEGER NOT NULL,
        uniform INTEGER NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL, ino INTEGER NOT NULL)`);
      this.db = db;
    }
    return this.db;
  }

  /**
   * Runs `fn` as the only operation on this index file: in-process calls queue; other processes wait on SQLite's
   * write lock (busy → TransientError, so the framework retries). Commits when `fn` resolves, rolls back otherwise.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      const db = this.conn();
      try {
        db.exec("BEGIN IMMEDIATE");
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_BUSY") {
          throw new TransientError(`csv publisher: index ${this.file} is locked by another process`, { cause: err });
        }
        throw err;
      }
      try {
        const out = await fn();
        db.exec("COMMIT");
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw err;
      }
    };
    const prev = queues.get(this.file) ?? Promise.resolve();
    const p = prev.then(run, run);
    queues.set(this.file, p.catch(() => undefined));
    return p;
  }

  private table(dataset: string): string {
    return `"csv_ids:${dataset}"`;
  }

  state(dataset: string): DatasetState | undefined {
    const r = this.conn().prepare("SELECT * FROM csv_datasets WHERE name = ?").get(dataset) as MetaRow | undefined;
    if (!r) return undefined;
    return {
      rowIdField: r.row_id_field,
      header: JSON.parse(r.header) as string[],
      rows: r.rows,
      uniform: r.uniform === 1,
      size: r.size,
      mtimeMs: r.mtime,
      ino: r.ino,
    };
  }

  saveState(dataset: string, s: DatasetState): void {
    this.conn()
      .prepare(
        `INSERT INTO csv_datasets (name, row_id_field, header, rows, uniform, size, mtime, ino) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET row_id_field = excluded.row_id_field, header = excluded.header, rows = excluded.rows,
         uniform = excluded.uniform, size = excluded.size, mtime = excluded.mtime, ino = excluded.ino`,
      )
      .run(dataset, s.rowIdField, JSON.stringify(s.header), s.rows, s.uniform ? 1 : 0, s.size, s.mtimeMs, s.ino);
  }

  /** Forgets a dataset (its file is gone, or about to be indexed again from scratch). */
  clear(dataset: string): void {
    const db = this.conn();
    db.exec(`DROP TABLE IF EXISTS ${this.table(dataset)}`);
    db.prepare("DELETE FROM csv_datasets WHERE name = ?").run(dataset);
  }

  /** Creates the dataset's id table when missing. */
  ensure(dataset: string): void {
    this.conn().exec(`CREATE TABLE IF NOT EXISTS ${this.table(dataset)} (id TEXT PRIMARY KEY, h INTEGER NOT NULL) WITHOUT ROWID`);
  }

  /** Hashes of the ids present among `ids` (one query per call, not one per id). */
  lookup(dataset: string, ids: string[]): Map<string, number> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const rows = this.conn()
      .prepare(`SELECT id, h FROM ${this.table(dataset)} WHERE id IN (SELECT value FROM json_each(?))`)
      .raw()
      .all(JSON.stringify(ids)) as [string, number][];
    for (const [id, h] of rows) out.set(id, h);
    return out;
  }

  /** Inserts or updates [id, hash] pairs. */
  put(dataset: string, entries: [string, number][]): void {
    if (entries.length === 0) return;
    this.conn()
      .prepare(
        `INSERT INTO ${this.table(dataset)} (id, h) SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true
         ON CONFLICT(id) DO UPDATE SET h = excluded.h`,
      )
      .run(JSON.stringify(entries));
  }

  /** Inserts [id, hash] pairs read from the file; returns an id already present (a duplicate) instead, if any. */
  insertNew(dataset: string, entries: [string, number][]): string | undefined {
    if (entries.length === 0) return undefined;
    const seen = new Set<string>();
    for (const [id] of entries) {
      if (seen.has(id)) return id;
      seen.add(id);
    }
    const present = this.lookup(dataset, [...seen]);
    if (present.size > 0) return present.keys().next().value;
    this.conn()
      .prepare(`INSERT INTO ${this.table(dataset)} (id, h) SELECT value ->> 0, value ->> 1 FROM json_each(?)`)
      .run(JSON.stringify(entries));
    return undefined;
  }

  remove(dataset: string, ids: string[]): void {
    if (ids.length === 0) return;
    this.conn().prepare(`DELETE FROM ${this.table(dataset)} WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids));
  }

  close(): void {
    if (this.db) closeSqlite(this.db);
    this.db = undefined;
  }
}
