/**
 * The catalog (original §2): indexes every object written and every publication. One Catalog per run, shared by
 * every Storage, filtered by the run's data source. Staged upserts are de-duplicated on the primary key and flushed
 * by the compare loop when the date changes and at the end.
 */
import type { DateTime } from "luxon";
import { DateTime as LuxonDateTime } from "luxon";
import type { CatalogDriver, CatalogKey, CatalogRecord, TextFilter } from "./drivers.js";
import type { RunWriteOptions } from "./events.js";
import { ConfigError } from "./errors.js";

export interface CatalogEntry {
  repository: string;
  dataSource: string;
  base: string;
  ext: string;
  pointer: string;
  collectionDate: DateTime;
  collectionEnd: DateTime | null;
  processingDate: DateTime | null;
  metadata: Record<string, unknown> | null;
}

export interface CatalogQueryOptions {
  base?: TextFilter;
  ext?: TextFilter;
  early?: DateTime;
  late?: DateTime;
  /** collection_date == early. */
  exact?: boolean;
  order?: "asc" | "desc";
  limit?: number;
}


export function entryKey(e: Pick<CatalogEntry, "repository" | "dataSource" | "base" | "ext" | "collectionDate">): string {
  return `${e.repository}\u0000${e.dataSource}\u0000${e.base}\u0000${e.ext}\u0000${e.collectionDate.toMillis()}`;
}

export interface CatalogOptions extends Omit<RunWriteOptions, "outputDir"> {
  zone: string;
}

export class Catalog {
  private readonly staged = new Map<string, CatalogEntry>();
  readonly zone: string;

  constructor(
    readonly driver: CatalogDriver,
    readonly dataSource: string,
    private readonly opts: CatalogOptions,
  ) {
    this.zone = opts.zone;
  }

  get simulate(): boolean {
    return this.opts.simulate ?? false;
  }

  /** Zoned DateTimes by epoch ms: catalog dates repeat (one per day), and building a zoned DateTime is costly. */
  private readonly dateCache = new Map<number, DateTime>();

  private zoned(ms: number): DateTime {
    let dt = this.dateCache.get(ms);
    if (!dt) {
      if (this.dateCache.size >= 100_000) this.dateCache.clear();
      dt = LuxonDateTime.fromMillis(ms, { zone: this.zone });
      this.dateCache.set(ms, dt);
    }
    return dt;
  }

  toEntry(r: CatalogRecord): CatalogEntry {
    const z = (ms: number | null) => (ms === null ? null : this.zoned(ms));
    return {
      repository: r.repository,
      dataSource: r.data_source,
      base: r.id_base,
      ext: r.id_ext,
      pointer: r.pointer,
      collectionDate: z(r.collection_date)!,
      collectionEnd: z(r.collection_end),
      processingDate: z(r.processing_date),
      metadata: r.metadata,
    };
  }

  toRecord(e: CatalogEntry): CatalogRecord {
    return {
      repository: e.repository,
      data_source: e.dataSource,
      id_base: e.base,
      id_ext: e.ext,
      pointer: e.pointer,
      collection_date: e.collectionDate.toMillis(),
      collection_end: e.collectionEnd ? e.collectionEnd.toMillis() : null,
      processing_date: e.processingDate ? e.processingDate.toMillis() : null,
      metadata: e.metadata ?? null,
    };
  }

  /** Every matching entry of this data source in a repository, streamed in order. */
  async *query(repository: string, q: CatalogQueryOptions = {}): AsyncGenerator<CatalogEntry> {
    // Text is always exact: an id holding "%" or "_" matches only itself; patterns are explicit ({like: "A*"}).
    const base = q.base;
    const ext = q.ext;
    const iter = this.driver.query({
      repository,
      dataSource: this.dataSource,
      ...(base !== undefined ? { base } : {}),
      ...(ext !== undefined ? { ext } : {}),
      ...(q.early ? { early: q.early.toMillis() } : {}),
      ...(q.late && !q.exact ? { late: q.late.toMillis() } : {}),
      ...(q.exact ? { exact: true } : {}),
      order: q.order ?? "asc",
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
    });
    for await (const r of iter) yield this.toEntry(r);
  }

  async list(repository: string, q: CatalogQueryOptions = {}): Promise<CatalogEntry[]> {
    const out: CatalogEntry[] = [];
    for await (const e of this.query(repository, q)) out.push(e);
    return out;
  }

  async single(repository: string, base: string, ext: string, date: DateTime): Promise<CatalogEntry | undefined> {
    const [first] = await this.list(repository, { base, ext, early: date, exact: true, limit: 1 });
    return first;
  }

  async latest(repository: string, q: Omit<CatalogQueryOptions, "order" | "limit"> = {}): Promise<CatalogEntry | undefined> {
    const [first] = await this.list(repository, { ...q, order: "desc", limit: 1 });
    return first;
  }

  async earliest(repository: string, q: Omit<CatalogQueryOptions, "order" | "limit"> = {}): Promise<CatalogEntry | undefined> {
    const [first] = await this.list(repository, { ...q, order: "asc", limit: 1 });
    return first;
  }

  build(
    repository: string,
    base: string,
    ext: string,
    collectionDate: DateTime,
    pointer: string,
    extra: { processingDate?: DateTime | null; collectionEnd?: DateTime | null; metadata?: Record<string, unknown> | null } = {},
  ): CatalogEntry {
    return {
      repository,
      dataSource: this.dataSource,
      base,
      ext,
      pointer,
      collectionDate: collectionDate.setZone(this.zone),
      collectionEnd: extra.collectionEnd ?? null,
      processingDate: extra.processingDate ?? null,
      metadata: extra.metadata ?? null,
    };
  }

  /** Stages an upsert; a later one for the same key replaces it (one bulk request may not hold duplicates). */
  stage(entry: CatalogEntry): void {
    this.staged.set(entryKey(entry), entry);
  }

  get stagedCount(): number {
    return this.staged.size;
  }

  /** Upserts now (nothing in simulation: the plan records it). */
  async upsert(entries: CatalogEntry | CatalogEntry[]): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries];
    if (list.length === 0) return;
    if (this.simulate) {
      for (const e of list) this.opts.plan?.push({ kind: "catalog", target: e.repository, detail: `${e.pointer} (${e.base}, ${e.ext}, ${e.collectionDate.toISODate()})` });
      this.opts.events?.emit("catalog.upsert", { app: this.opts.app ?? "", rows: list.length, simulated: true });
      return;
    }
    const batch = Math.max(1, this.driver.capabilities.maxUpsertBatch);
    for (let i = 0; i < list.length; i += batch) {
      const records = list.slice(i, i + batch).map((e) => this.toRecord(e));
      await this.driver.upsert(records);
    }
    this.opts.events?.emit("catalog.upsert", { app: this.opts.app ?? "", rows: list.length, simulated: false });
  }

  /** Commits every staged upsert (fixes the original's cadence: the compare loop calls this on date change and at the end). */
  async flush(): Promise<void> {
    if (this.staged.size === 0) return;
    const entries = [...this.staged.values()];
    this.staged.clear();
    await this.upsert(entries);
  }

  /** Keys staged so far (to undo what one item staged if it fails). */
  stagedKeys(): Set<string> {
    return new Set(this.staged.keys());
  }

  /** Drops entries staged since `keep` was taken, without writing them (an item failed after staging). */
  discardStagedExcept(keep: Set<string>): void {
    for (const k of [...this.staged.keys()]) if (!keep.has(k)) this.staged.delete(k);
  }

  /**
   * Inserts the entry now only if its key is absent (atomic in the driver): true when this call inserted it. Under
   * -0 nothing is written and the claim is granted (the plan records it).
   */
  async claim(entry: CatalogEntry): Promise<boolean> {
    if (this.simulate) {
      this.opts.plan?.push({ kind: "catalog", target: entry.repository, detail: `claim (${entry.base}, ${entry.ext})` });
      return true;
    }
    if (!this.driver.claim) throw new ConfigError(`catalog driver ${this.driver.driverName} cannot claim a key atomically (run numbers need it)`);
    return this.driver.claim(this.toRecord(entry));
  }

  async delete(entries: CatalogEntry[]): Promise<number> {
    if (entries.length === 0 || this.simulate) return 0;
    const keys: CatalogKey[] = entries.map((e) => {
      const r = this.toRecord(e);
      return { collection_date: r.collection_date, repository: r.repository, data_source: r.data_source, id_base: r.id_base, id_ext: r.id_ext };
    });
    return this.driver.delete(keys);
  }
}
