/**
 * Catalog on PostgreSQL directly (pg): the same table as sql/catalog.sql, without PostgREST in between.
 * Keyset paging on (collection_date, id_base, id_ext); upserts are INSERT … ON CONFLICT in batches, all in one
 * transaction, so a refused row leaves nothing half-written. `ensureSchema` creates the schema and table.
 */
import { defineDriver } from "../define.js";
import { postgresCatalogOptions, type PostgresCatalogOptions, CATALOG_COLUMNS } from "../options.js";
import type { CallOptions, CatalogDriver, CatalogKey, CatalogQuery, CatalogRecord, TextFilter } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";
import { pgConnectionString, pgError, pgPool, pgQuery, pgWhere, quoteIdent, withPgClient, type PgPool } from "../utils/pg.js";

export const DRIVER_NAME = "postgres";
/** Columns per row in an INSERT; batches stay under PostgreSQL's 65,535 bind parameters. */
const COLUMNS = CATALOG_COLUMNS;


interface Row {
  repository: string;
  data_source: string;
  id_base: string;
  id_ext: string;
  pointer: string;
  collection_date: Date;
  collection_end: Date | null;
  processing_date: Date | null;
  metadata: Record<string, unknown> | null;
}

export class PostgresCatalog implements CatalogDriver {
  readonly driverName = DRIVER_NAME;
  readonly capabilities;
  readonly #pool: PgPool;
  readonly #where: string;
  readonly #table: string;
  #ready: Promise<void> | undefined;

  constructor(
    readonly options: PostgresCatalogOptions,
    connectionString: string,
  ) {
    this.capabilities = { maxRowsPerRequest: options.pageSize, maxUpsertBatch: options.upsertBatch };
    this.#pool = pgPool(connectionString, options.maxConnections);
    this.#where = pgWhere(connectionString);
    this.#table = quoteIdent(options.schema, options.table);
  }

  async *query(q: CatalogQuery, opts?: CallOptions): AsyncIterable<CatalogRecord> {
    await this.#ensure();
    const desc = q.order === "desc";
    const params: unknown[] = [q.repository, q.dataSource];
    const where = ["repository = $1", "data_source = $2"];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    _text(add, "id_base", q.base);
    _text(add, "id_ext", q.ext);
    if (q.early !== undefined) add((p) => `collection_date ${q.exact ? "=" : ">="} ${p}`, new Date(q.early));
    if (q.late !== undefined) add((p) => `collection_date < ${p}`, new Date(q.late));
    const dir = desc ? "desc" : "asc";
    const order = `order by collection_date ${dir}, id_base ${dir}, id_ext ${dir}`;
    let remaining = q.limit ?? Number.POSITIVE_INFINITY;
    let after: Row | undefined;
    while (remaining > 0) {
      const want = Math.min(this.options.pageSize, remaining);
      const p = [...params];
      let keyset = "";
      if (after) {
        p.push(after.collection_date, after.id_base, after.id_ext);
        const n = p.length;
        keyset = ` and (collection_date, id_base, id_ext) ${desc ? "<" : ">"} ($${n - 2}, $${n - 1}, $${n})`;
      }
      p.push(want);
      const sql = `select ${COLUMNS.join(", ")} from ${this.#table} where ${where.join(" and ")}${keyset} ${order} limit $${p.length}`;
      const rows = await this.#run<Row>("query", sql, p, opts?.signal);
      for (const r of rows) yield _toRecord(r);
      remaining -= rows.length;
      if (rows.length < want) return;
      after = rows[rows.length - 1];
    }
  }

  async upsert(records: CatalogRecord[], opts?: CallOptions): Promise<void> {
    if (records.length === 0) return;
    await this.#ensure();
    const byKey = new Map<string, { index: number; record: CatalogRecord }>();
    records.forEach((record, index) => byKey.set(_keyText(record), { index, record }));
    const unique = [...byKey.values()];
    try {
      await withPgClient(this.#pool, opts?.signal, (client) => this.#upsertOn(client, unique));
    } catch (err) {
      throw pgError("postgres catalog", "upsert", this.#where, err);
    }
  }

  async #upsertOn(client: import("pg").PoolClient, unique: { index: number; record: CatalogRecord }[]): Promise<void> {
    try {
      await client.query("begin");
      for (let i = 0; i < unique.length; i += this.options.upsertBatch) {
        const batch = unique.slice(i, i + this.options.upsertBatch);
        try {
          await client.query(this.#insertSql(batch.length), batch.flatMap((b) => _params(b.record)));
        } catch (err) {
          await client.query("rollback");
          if (!/^2[23]/.test((err as { code?: string }).code ?? "")) throw err;
          throw await this.#findRefusedRow(client, batch, err);
        }
      }
      await client.query("commit");
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    }
  }

  async claim(record: CatalogRecord, opts?: CallOptions): Promise<boolean> {
    await this.#ensure();
    const values = COLUMNS.map((c, i) => `$${i + 1}${c === "metadata" ? "::jsonb" : ""}`);
    const sql =
      `insert into ${this.#table} (${COLUMNS.join(", ")}) values (${values.join(", ")}) ` +
      "on conflict (collection_date, repository, data_source, id_base, id_ext) do nothing";
    try {
      return ((await pgQuery(this.#pool, sql, _params(record), opts?.signal)).rowCount ?? 0) === 1;
    } catch (err) {
      throw pgError("postgres catalog", "claim", this.#where, err);
    }
  }

  async delete(keys: CatalogKey[], opts?: CallOptions): Promise<number> {
    if (keys.length === 0) return 0;
    await this.#ensure();
    const sql =
      `delete from ${this.#table} where (collection_date, repository, data_source, id_base, id_ext) in ` +
      "(select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[]))";
    const res = await pgQuery(
      this.#pool,
      sql,
      [
        keys.map((k) => new Date(k.collection_date)),
        keys.map((k) => k.repository),
        keys.map((k) => k.data_source),
        keys.map((k) => k.id_base),
        keys.map((k) => k.id_ext),
      ],
      opts?.signal,
    ).catch((err: unknown) => {
        throw pgError("postgres catalog", "delete", this.#where, err);
      });
    return res.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  #insertSql(rows: number): string {
    const values = Array.from({ length: rows }, (_, r) => {
      const ps = COLUMNS.map((c, i) => `$${r * COLUMNS.length + i + 1}${c === "metadata" ? "::jsonb" : ""}`);
      return `(${ps.join(", ")})`;
    });
    return (
      `insert into ${this.#table} (${COLUMNS.join(", ")}) values ${values.join(", ")} ` +
      "on conflict (collection_date, repository, data_source, id_base, id_ext) do update set " +
      "pointer = excluded.pointer, collection_end = excluded.collection_end, " +
      "processing_date = excluded.processing_date, metadata = excluded.metadata"
    );
  }

  /** Replays a refused batch row by row inside a throw-away transaction to name the refused row. */
  async #findRefusedRow(client: import("pg").PoolClient, batch: { index: number; record: CatalogRecord }[], original: unknown): Promise<Error> {
    await client.query("begin");
    try {
      for (const b of batch) {
        await client.query("savepoint one");
        try {
          await client.query(this.#insertSql(1), _params(b.record));
        } catch (err) {
          const r = b.record;
          return new TerminalError(
            `postgres catalog: row ${b.index} (repository=${r.repository} data_source=${r.data_source} ` +
              `id_base=${JSON.stringify(r.id_base)} id_ext=${JSON.stringify(r.id_ext)} collection_date=${_iso(r.collection_date)}) ` +
              `refused at ${this.#where}: ${(err as Error).message}; nothing was written`,
            { cause: err },
          );
        }
        await client.query("rollback to savepoint one");
      }
      return pgError("postgres catalog", "upsert", this.#where, original);
    } finally {
      await client.query("rollback");
    }
  }

  async #run<T>(op: string, sql: string, params: unknown[], signal?: AbortSignal): Promise<T[]> {
    try {
      return (await pgQuery(this.#pool, sql, params, signal)).rows as T[];
    } catch (err) {
      throw pgError("postgres catalog", op, this.#where, err);
    }
  }

  #ensure(): Promise<void> {
    if (!this.options.ensureSchema) return Promise.resolve();
    if (!this.#ready) {
      const { schema, table } = this.options;
      const sql = `
        create schema if not exists ${quoteIdent(schema)};
        create table if not exists ${this.#table} (
          id serial not null,
          repository text not null, data_source text not null, id_base text not null, id_ext text not null,
          pointer text not null, collection_date timestamptz not null, collection_end timestamptz,
          processing_date timestamptz, metadata jsonb,
          primary key (collection_date, repository, data_source, id_base, id_ext));
        create index if not exists ${quoteIdent(`${table}_collection_date_idx`)} on ${this.#table} (collection_date);`;
      this.#ready = this.#pool.query(sql).then(
        () => undefined,
        (err: unknown) => {
          this.#ready = undefined;
          throw pgError("postgres catalog", "create table", this.#where, err);
        },
      );
    }
    return this.#ready;
  }
}

export default defineDriver({
  options: postgresCatalogOptions,
  create: (o, ctx) =>
    new PostgresCatalog(o, pgConnectionString("postgres catalog", o.connectionString, ["CATALOG_PG_URL", "PG_URL"], ctx)),
});

// --- Internal helpers ---

/** A LIKE pattern from a "*" pattern: "\", "%" and "_" escaped (LIKE's default escape is "\"), "*" → "%". */
export function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%");
}

function _text(add: (sql: (p: string) => string, v: unknown) => void, column: string, f: TextFilter | undefined): void {
  if (f === undefined) return;
  if (typeof f === "string") add((p) => `${column} = ${p}`, f);
  else add((p) => `${column} like ${p}`, likePattern(f.like));
}

function _params(r: CatalogRecord): unknown[] {
  return [
    r.repository,
    r.data_source,
    r.id_base,
    r.id_ext,
    r.pointer,
    _date(r.collection_date),
    r.collection_end === null ? null : _date(r.collection_end),
    r.processing_date === null ? null : _date(r.processing_date),
    r.metadata === null || r.metadata === undefined ? null : JSON.stringify(r.metadata),
  ];
}

function _date(ms: number): Date {
  return new Date(ms);
}

function _iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

function _toRecord(r: Row): CatalogRecord {
  return {
    repository: r.repository,
    data_source: r.data_source,
    id_base: r.id_base,
    id_ext: r.id_ext,
    pointer: r.pointer,
    collection_date: r.collection_date.getTime(),
    collection_end: r.collection_end ? r.collection_end.getTime() : null,
    processing_date: r.processing_date ? r.processing_date.getTime() : null,
    metadata: r.metadata ?? null,
  };
}

function _keyText(r: CatalogKey): string {
  return JSON.stringify([r.collection_date, r.repository, r.data_source, r.id_base, r.id_ext]);
}
