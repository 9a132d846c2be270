/**
 * Catalog on PostgREST (@supabase/postgrest-js): the original's deployment (original §2.3), with its bugs fixed:
 * the limit is forwarded (B4), queries page by offset past the server's max-rows cap (B21), and metadata and
 * collection_end are written (B6). The JWT comes from the secret CATALOG_KEY and is never logged.
 */
import { defineDriver } from "../define.js";
import { postgrestCatalogOptions, type PostgrestCatalogOptions } from "../options.js";
import type { CallOptions, CatalogDriver, CatalogKey, CatalogQuery, CatalogRecord, TextFilter } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";
import {
  abortable,
  chunked,
  fromIso,
  fromIsoOrNull,
  isoOrNull,
  pagedSelect,
  postgrestClient,
  postgrestError,
  postgrestLike,
  sendFindingRejectedRow,
  toIso,
  type PostgrestFailure,
} from "../utils/postgrest.js";

export const DRIVER_NAME = "postgrest";
const COLUMNS = "repository,data_source,id_base,id_ext,pointer,collection_date,collection_end,processing_date,metadata";
const PRIMARY_KEY = "collection_date,repository,data_source,id_base,id_ext";
/** Dates per DELETE request (one `in` list in the URL). */
const DELETE_DATES_PER_REQUEST = 100;


interface Row {
  repository: string;
  data_source: string;
  id_base: string;
  id_ext: string;
  pointer: string;
  collection_date: string;
  collection_end: string | null;
  processing_date: string | null;
  metadata: Record<string, unknown> | null;
}

export class PostgrestCatalog implements CatalogDriver {
  readonly driverName = DRIVER_NAME;
  readonly capabilities;
  readonly #client;

  constructor(
    readonly options: PostgrestCatalogOptions,
    token: string | undefined,
  ) {
    this.capabilities = { maxRowsPerRequest: options.pageSize, maxUpsertBatch: options.upsertBatch };
    this.#client = postgrestClient({ url: options.url, schema: options.schema, token });
  }

  async *query(q: CatalogQuery, opts?: CallOptions): AsyncIterable<CatalogRecord> {
    for await (const r of pagedSelect((offset, count) => this.#page(q, offset, count, opts?.signal), this.options.pageSize, q.limit)) {
      yield _toRecord(r);
    }
  }

  async upsert(records: CatalogRecord[], opts?: CallOptions): Promise<void> {
    records.forEach((r, i) => _validate(r, i));
    // Later duplicates of a key win, as one statement cannot update a row twice.
    const byKey = new Map<string, { index: number; row: Row }>();
    records.forEach((r, index) => byKey.set(_keyText(r), { index, row: _toRow(r) }));
    for (const batch of chunked([...byKey.values()], this.options.upsertBatch)) {
      await sendFindingRejectedRow(
        batch,
        async (rows) => {
          const res = await abortable(this.#client.from(this.options.table).upsert(rows, { onConflict: PRIMARY_KEY }), opts?.signal);
          return res.error ? (res as PostgrestFailure) : null;
        },
        (f, culprit) =>
          culprit
            ? new TerminalError(
                `postgrest catalog: row ${culprit.index} (${_describe(culprit.row)}) refused by ${this.options.url}: ` +
                  `HTTP ${f.status} ${f.error.code ?? ""}: ${f.error.message}; fix the row and run again`,
              )
            : this.#error("upsert", `${batch.length} rows`, f),
      );
    }
  }

  async claim(record: CatalogRecord, opts?: CallOptions): Promise<boolean> {
    _validate(record, 0);
    // INSERT … ON CONFLICT DO NOTHING RETURNING: the row comes back only when this request inserted it.
    const res = await abortable(
      this.#client.from(this.options.table).upsert([_toRow(record)], { onConflict: PRIMARY_KEY, ignoreDuplicates: true }).select("id_base"),
      opts?.signal,
    );
    if (res.error) throw this.#error("claim", `${record.id_base}/${record.id_ext}`, res as PostgrestFailure);
    return (res.data ?? []).length === 1;
  }

  async delete(keys: CatalogKey[], opts?: CallOptions): Promise<number> {
    const groups = new Map<string, { key: CatalogKey; dates: number[] }>();
    for (const k of keys) {
      const g = JSON.stringify([k.repository, k.data_source, k.id_base, k.id_ext]);
      const entry = groups.get(g) ?? { key: k, dates: [] };
      entry.dates.push(k.collection_date);
      groups.set(g, entry);
    }
    let deleted = 0;
    for (const { key, dates } of groups.values()) {
      for (const part of chunked(dates, DELETE_DATES_PER_REQUEST)) {
        const res = await abortable(
          this.#client
          .from(this.options.table)
          .delete({ count: "exact" })
          .eq("repository", key.repository)
          .eq("data_source", key.data_source)
          .eq("id_base", key.id_base)
          .eq("id_ext", key.id_ext)
          .in("collection_date", part.map(toIso)),
          opts?.signal,
        );
        if (res.error) throw this.#error("delete", `${key.repository}/${key.data_source}/${key.id_base}`, res as PostgrestFailure);
        deleted += res.count ?? 0;
      }
    }
    return deleted;
  }

  async #page(q: CatalogQuery, offset: number, count: number, signal: AbortSignal | undefined): Promise<Row[]> {
    const ascending = q.order !== "desc";
    let b = this.#client
      .from(this.options.table)
      .select(COLUMNS)
      .eq("repository", q.repository)
      .eq("data_source", q.dataSource);
    b = _text(b, "id_base", q.base);
    b = _text(b, "id_ext", q.ext);
    if (q.early !== undefined) b = q.exact ? b.eq("collection_date", toIso(q.early)) : b.gte("collection_date", toIso(q.early));
    if (q.late !== undefined) b = b.lt("collection_date", toIso(q.late));
    const res = await abortable(b, signal)
      .order("collection_date", { ascending })
      .order("id_base", { ascending })
      .order("id_ext", { ascending })
      .range(offset, offset + count - 1);
    if (res.error) throw this.#error("query", `${q.repository}/${q.dataSource}`, res as PostgrestFailure);
    return (res.data ?? []) as Row[];
  }

  #error(op: string, where: string, f: PostgrestFailure): Error {
    return postgrestError("postgrest catalog", op, `${this.options.table} ${where}`, this.options.url, this.options.keySecret, f);
  }
}

export default defineDriver({
  options: postgrestCatalogOptions,
  create: (options, ctx) => new PostgrestCatalog(options, ctx.secrets.get(options.keySecret)),
});

// --- Internal helpers ---

function _text<B extends { eq(c: string, v: string): B; like(c: string, v: string): B }>(b: B, column: string, f: TextFilter | undefined): B {
  if (f === undefined) return b;
  return typeof f === "string" ? b.eq(column, f) : b.like(column, postgrestLike(f.like));
}

function _toRow(r: CatalogRecord): Row {
  return {
    repository: r.repository,
    data_source: r.data_source,
    id_base: r.id_base,
    id_ext: r.id_ext,
    pointer: r.pointer,
    collection_date: toIso(r.collection_date),
    collection_end: isoOrNull(r.collection_end),
    processing_date: isoOrNull(r.processing_date),
    metadata: r.metadata ?? null,
  };
}

function _toRecord(r: Row): CatalogRecord {
  return {
    repository: r.repository,
    data_source: r.data_source,
    id_base: r.id_base,
    id_ext: r.id_ext,
    pointer: r.pointer,
    collection_date: fromIso(r.collection_date),
    collection_end: fromIsoOrNull(r.collection_end),
    processing_date: fromIsoOrNull(r.processing_date),
    metadata: r.metadata ?? null,
  };
}

function _keyText(r: CatalogKey): string {
  return JSON.stringify([r.collection_date, r.repository, r.data_source, r.id_base, r.id_ext]);
}

function _describe(r: Row): string {
  return `repository=${r.repository} data_source=${r.data_source} id_base=${JSON.stringify(r.id_base)} id_ext=${JSON.stringify(r.id_ext)} collection_date=${r.collection_date}`;
}

/** Refuses rows that cannot be sent before anything goes out, naming the row and field. */
function _validate(r: CatalogRecord, i: number): void {
  for (const f of ["repository", "data_source", "id_base", "id_ext", "pointer"] as const) {
    if (typeof r[f] !== "string") throw new TerminalError(`postgrest catalog: row ${i}: ${f} must be text, got ${JSON.stringify(r[f])}`);
  }
  for (const f of ["collection_date", "collection_end", "processing_date"] as const) {
    const v = r[f];
    if (f !== "collection_date" && v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || Number.isNaN(new Date(v).getTime())) {
      throw new TerminalError(`postgrest catalog: row ${i} (${r.repository}/${r.id_base}/${r.id_ext}): ${f} must be epoch milliseconds, got ${JSON.stringify(v)}`);
    }
  }
}
