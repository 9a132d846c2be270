/** In-memory catalog for tests. */
import { defineDriver } from "../define.js";
import { memoryCatalogOptions } from "../options.js";
import type { CatalogDriver, CatalogKey, CatalogQuery, CatalogRecord } from "../../support/drivers.js";
import { compareRecords, primaryKey, recordMatches } from "./filter.js";

export class MemoryCatalog implements CatalogDriver {
  readonly driverName = "memory";
  readonly rows = new Map<string, CatalogRecord>();
  constructor(readonly capabilities = { maxRowsPerRequest: 10_000, maxUpsertBatch: 10_000 }) {}

  async *query(q: CatalogQuery): AsyncIterable<CatalogRecord> {
    const match = recordMatches(q);
    const found = [...this.rows.values()].filter(match).sort(compareRecords);
    if (q.order === "desc") found.reverse();
    const limited = q.limit !== undefined ? found.slice(0, q.limit) : found;
    for (const r of limited) yield structuredClone(r);
  }

  async upsert(records: CatalogRecord[]): Promise<void> {
    for (const r of records) this.rows.set(primaryKey(r), structuredClone(r));
  }

  async claim(r: CatalogRecord): Promise<boolean> {
    const key = primaryKey(r);
    if (this.rows.has(key)) return false;
    this.rows.set(key, structuredClone(r));
    return true;
  }

  async delete(keys: CatalogKey[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.rows.delete(primaryKey(k))) n++;
    return n;
  }
}

export default defineDriver({
  options: memoryCatalogOptions,
  create: (o) => new MemoryCatalog({ maxRowsPerRequest: o.maxRowsPerRequest ?? 10_000, maxUpsertBatch: 10_000 }),
});
