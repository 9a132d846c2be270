/**
 * SQLite catalog (the embedded default): same columns and primary key as the PostgreSQL catalog
 * (collection_date, repository, data_source, id_base, id_ext); dates as epoch ms; metadata as JSON text.
 * Reads page by keyset so a loop that writes while it reads never holds a statement open.
 */
import path from "node:path";
import type Database from "better-sqlite3";
import { defineDriver } from "../define.js";
import { sqliteCatalogOptions } from "../options.js";
import type { CatalogDriver, CatalogKey, CatalogQuery, CatalogRecord } from "../../support/drivers.js";
import { closeSqlite, openSqlite } from "../sqlite-db.js";
import { globPattern } from "./filter.js";

const PAGE = 5_000;
const TABLE = "data_lake_cat";

interface Row {
  repository: string;
  data_source: string;
  id_base: string;
  id_ext: string;
  pointer: string;
  collection_date: number;
  collection_end: number | null;
  processing_date: number | null;
  metadata: string | null;
}

export class SqliteCatalog implements CatalogDriver {
  readonly driverName = "sqlite";
  readonly capabilities = { maxRowsPerRequest: PAGE, maxUpsertBatch: 10_000 };
  private readonly db: Database.Database;
  private readonly upsertStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;
  private readonly claimStmt: Database.Statement;

  constructor(readonly file: string) {
    this.db = openSqlite(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${TABLE} (
        repository TEXT NOT NULL,
        data_source TEXT NOT NULL,
        id_base TEXT NOT NULL,
        id_ext TEXT NOT NULL,
        pointer TEXT NOT NULL,
        collection_date INTEGER NOT NULL,
        collection_end INTEGER,
        processing_date INTEGER,
        metadata TEXT,
        PRIMARY KEY (collection_date, repository, data_source, id_base, id_ext)
      );
      CREATE INDEX IF NOT EXISTS ${TABLE}_lookup ON ${TABLE} (repository, data_source, collection_date, id_base, id_ext);
    `);
    this.upsertStmt = this.db.prepare(`
      INSERT INTO ${TABLE} (repository, data_source, id_base, id_ext, pointer, collection_date, collection_end, processing_date, metadata)
      VALUES (@repository, @data_source, @id_base, @id_ext, @pointer, @collection_date, @collection_end, @processing_date, @metadata)
      ON CONFLICT (collection_date, repository, data_source, id_base, id_ext) DO UPDATE SET
        pointer = excluded.pointer, collection_end = excluded.collection_end,
        processing_date = excluded.processing_date, metadata = excluded.metadata`);
    this.claimStmt = this.db.prepare(`
      INSERT INTO ${TABLE} (repository, data_source, id_base, id_ext, pointer, collection_date, collection_end, processing_date, metadata)
      VALUES (@repository, @data_source, @id_base, @id_ext, @pointer, @collection_date, @collection_end, @processing_date, @metadata)
      ON CONFLICT (collection_date, repository, data_source, id_base, id_ext) DO NOTHING`);
    this.deleteStmt = this.db.prepare(
      `DELETE FROM ${TABLE} WHERE collection_date = ? AND repository = ? AND data_source = ? AND id_base = ? AND id_ext = ?`,
    );
  }

  async *query(q: CatalogQuery): AsyncIterable<CatalogRecord> {
    const where: string[] = ["repository = ?", "data_source = ?"];
    const params: unknown[] = [q.repository, q.dataSource];
    for (const [col, f] of [
      ["id_base", q.base],
      ["id_ext", q.ext],
    ] as const) {
      if (f === undefined) continue;
      if (typeof f === "string") {
        where.push(`${col} = ?`);
        params.push(f);
      } else {
        where.push(`${col} GLOB ?`);
        params.push(globPattern(f.like));
      }
    }
    if (q.exact && q.early !== undefined) {
      where.push("collection_date = ?");
      params.push(q.early);
    }
    // The bound on the side pages move away from is replaced by the keyset on later pages: with both, SQLite seeks
    // on the plain bound and rescans from it for every page (quadratic on large catalogs).
    const lower = !q.exact && q.early !== undefined ? q.early : undefined;
    const upper = !q.exact && q.late !== undefined ? q.late : undefined;
    const desc = q.order === "desc";
    const dir = desc ? "DESC" : "ASC";
    let remaining = q.limit ?? Infinity;
    let after: [number, string, string] | undefined;
    while (remaining > 0) {
      const page = Math.min(PAGE, remaining);
      const bounds: string[] = [];
      const boundParams: unknown[] = [];
      if (lower !== undefined && !(after && !desc)) {
        bounds.push("collection_date >= ?");
        boundParams.push(lower);
      }
      if (upper !== undefined && !(after && desc)) {
        bounds.push("collection_date < ?");
        boundParams.push(upper);
      }
      if (after) {
        bounds.push(`(collection_date, id_base, id_ext) ${desc ? "<" : ">"} (?, ?, ?)`);
        boundParams.push(...after);
      }
      const sql = `SELECT * FROM ${TABLE} WHERE ${[...where, ...bounds].join(" AND ")}
        ORDER BY collection_date ${dir}, id_base ${dir}, id_ext ${dir} LIMIT ?`;
      const rows = this.db.prepare(sql).all(...params, ...boundParams, page) as Row[];
      for (const r of rows) yield toRecord(r);
      if (rows.length < page) return;
      remaining -= rows.length;
      const last = rows[rows.length - 1]!;
      after = [last.collection_date, last.id_base, last.id_ext];
    }
  }

  async upsert(records: CatalogRecord[]): Promise<void> {
    const run = this.db.transaction((rows: CatalogRecord[]) => {
      for (const r of rows) this.upsertStmt.run({ ...r, metadata: r.metadata === null ? null : JSON.stringify(r.metadata) });
    });
    run(records);
  }

  async claim(r: CatalogRecord): Promise<boolean> {
    return this.claimStmt.run({ ...r, metadata: r.metadata === null ? null : JSON.stringify(r.metadata) }).changes === 1;
  }

  async delete(keys: CatalogKey[]): Promise<number> {
    const run = this.db.transaction((ks: CatalogKey[]) => {
      let n = 0;
      for (const k of ks) n += this.deleteStmt.run(k.collection_date, k.repository, k.data_source, k.id_base, k.id_ext).changes;
      return n;
    });
    return run(keys);
  }

  async close(): Promise<void> {
    closeSqlite(this.db);
  }
}

function toRecord(r: Row): CatalogRecord {
  return {
    repository: r.repository,
    data_source: r.data_source,
    id_base: r.id_base,
    id_ext: r.id_ext,
    pointer: r.pointer,
    collection_date: r.collection_date,
    collection_end: r.collection_end,
    processing_date: r.processing_date,
    metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
  };
}

export default defineDriver({
  options: sqliteCatalogOptions,
  create: (o, ctx) => new SqliteCatalog(path.resolve(ctx.baseDir, o.path ?? path.join(ctx.home, "catalog.sqlite"))),
});
