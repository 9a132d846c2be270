/**
 * The compare loop's providers and the comparison itself (original §1.8–1.9), with fixes:
 * - B9: a window whose start equals its end is exactly that day (normalised by windowFor()).
 * - B37: a target that started before the source item but still covers it counts as overlap.
 * - B8: pattern filters are explicit ({like: "*.json"}, "*" the only wildcard); text filters are exact, so an id
 *   holding "%" or "_" never acts as a pattern.
 * - B32: "today" is the configured zone's midnight from the injected clock.
 */
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { isTempName } from "../util/temp-file.js";
import { DateTime } from "luxon";
import type { Catalog, CatalogEntry } from "./catalog.js";
import type { SqlDriver, TextFilter } from "./drivers.js";
import type { Storage } from "./storage.js";
import { addDays } from "../util/dates.js";

/** One thing a provider has: (base, ext, date) with an optional end and a payload. */
export interface ProvItem<P = unknown> {
  base: string;
  ext: string;
  /** Collection start (local midnight for daily data). */
  date: DateTime;
  /** Exclusive end; undefined/null = date + 1 calendar day. */
  dateEnd?: DateTime | null;
  payload: P;
  /** Human label; for catalog providers the storage key, for file providers the full path. */
  label: string;
  /**
   * What the item is, as a version (a lake object's content hash, a file's size and modification time): when it
   * changes, the targets made from the earlier version no longer cover it. Undefined = not known (never "changed").
   */
  version?: string;
  /** Target side: the versions of the source items this object was made from (one per line); undefined = not known. */
  from?: string;
}

export interface UpdateItem<P = unknown> {
  base: string;
  ext: string;
  date: DateTime;
  provItem: ProvItem<P>;
  label: string;
  /** The compare loop yielded it only because of --force. */
  forced: boolean;
}

export function describeItem(item: Pick<UpdateItem, "base" | "ext" | "date">): string {
  return `${item.base}/${item.ext}/${item.date.toISODate()}`;
}

/** The date window of a run: [start, end) with start/end optional. */
export interface DateWindow {
  start?: DateTime;
  /** Exclusive. */
  end?: DateTime;
  /** -e was given: then today's items are allowed inside the window. */
  endGiven: boolean;
}

/** -s/-e as the original meant them: end exclusive; end equal to start = exactly that day (fixes B9). */
export function windowFor(start: DateTime | undefined, end: DateTime | undefined): DateWindow {
  if (start && end && end.toMillis() === start.toMillis()) return { start, end: addDays(start, 1), endGiven: true };
  return { ...(start ? { start } : {}), ...(end ? { end } : {}), endGiven: end !== undefined };
}

export function inWindow(date: DateTime, w: Pick<DateWindow, "start" | "end">): boolean {
  if (w.start && date < w.start) return false;
  if (w.end && date >= w.end) return false;
  return true;
}

export interface ProviderOptions {
  /** Allow items dated today or later even without -e (default false: the day is not over). */
  sameDay?: boolean;
  /** Today's local midnight (from the run's clock and zone). */
  today: DateTime;
}

export abstract class LastUpdateProvider<P = unknown> {
  protected window: DateWindow = { endGiven: false };
  constructor(protected readonly popts: ProviderOptions) {}

  /** Remembers the window; subclasses may list their source here. */
  async prepare(window: DateWindow): Promise<void> {
    this.window = window;
  }

  protected abstract runQuery(): AsyncIterable<ProvItem<P>>;

  /** Items in the window, without today's and later ones unless -e was given or sameDay (same-day cancel). */
  async *items(): AsyncGenerator<ProvItem<P>> {
    const cutoff = this.popts.sameDay || this.window.endGiven ? undefined : this.popts.today.toMillis();
    for await (const item of this.runQuery()) {
      if (cutoff !== undefined && item.date.toMillis() >= cutoff) continue;
      yield item;
    }
  }
}

/** Catalog entries of a repository (another layer, or the publish target) in the window. */
export class CatalogProvider extends LastUpdateProvider<CatalogEntry> {
  constructor(
    private readonly catalog: Catalog,
    private readonly repository: string,
    private readonly filters: { base?: TextFilter; ext?: TextFilter },
    popts: ProviderOptions,
  ) {
    super(popts);
  }

  protected async *runQuery(): AsyncIterable<ProvItem<CatalogEntry>> {
    const { start, end } = this.window;
    for await (const e of this.catalog.query(this.repository, {
      ...this.filters,
      ...(start ? { early: start } : {}),
      ...(end ? { late: end } : {}),
      order: "asc",
    })) {
      const meta = e.metadata;
      const version = typeof meta?.hash === "string" ? meta.hash : undefined;
      const from = typeof meta?.from === "string" ? meta.from : undefined;
      yield { base: e.base, ext: e.ext, date: e.collectionDate, dateEnd: e.collectionEnd, payload: e, label: e.pointer, ...(version ? { version } : {}), ...(from ? { from } : {}) };
    }
  }
}

/**
 * Objects found by listing storage (no catalog needed): keys YYYY/MM/DD/<ds>/<base>_<ds>_<date>(.|_)<ext>.
 * Useful to rebuild a catalog or to compare against a lake written by another tool.
 */
export class StorageListingProvider extends LastUpdateProvider<{ key: string; size: number }> {
  constructor(
    private readonly storage: Storage,
    private readonly zone: string,
    popts: ProviderOptions,
    private readonly filter?: (base: string, ext: string) => boolean,
  ) {
    super(popts);
  }

  /** Splits a storage filename back into base and ext, or undefined when it is not one of ours. */
  static parseFilename(filename: string, dataSource: string): { base: string; ext: string; day: string } | undefined {
    const re = new RegExp(`^(.+)_${dataSource.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_(\\d{4}-\\d{2}-\\d{2})([._])(.+)$`);
    const m = re.exec(filename);
    if (!m) return undefined;
    const [, base, day, sep, ext] = m as unknown as [string, string, string, string, string];
    if ((sep === "_") !== ext.includes(".")) return undefined;
    return { base, ext, day };
  }

  protected async *runQuery(): AsyncIterable<ProvItem<{ key: string; size: number }>> {
    const ds = this.storage.dataSource;
    const items: ProvItem<{ key: string; size: number }>[] = [];
    for await (const obj of this.storage.driver.list(this.storage.repository, "")) {
      const parts = obj.key.split("/");
      if (parts.length !== 5 || parts[3] !== ds) continue;
      const parsed = StorageListingProvider.parseFilename(parts[4]!, ds);
      if (!parsed) continue;
      if (this.filter && !this.filter(parsed.base, parsed.ext)) continue;
      const date = DateTime.fromISO(parsed.day, { zone: this.zone });
      if (!inWindow(date, this.window)) continue;
      const version = `size ${obj.size}${obj.modified !== undefined ? ` modified ${obj.modified}` : ""}`;
      items.push({ base: parsed.base, ext: parsed.ext, date, payload: { key: obj.key, size: obj.size }, label: obj.key, version });
    }
    items.sort((a, b) => a.date.toMillis() - b.date.toMillis() || cmp(a.base, b.base) || cmp(a.ext, b.ext));
    yield* items;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Day availability in a source database (the original's LastUpdDB). The query builder is the source's own
 * (table names, date casts per dialect); its availability query must return rows with a `day` column holding
 * 'YYYY-MM-DD' text, local days, for days with data in [start, end). Parameterised queries only.
 */
export interface SqlDayQueries {
  availability(dialect: SqlDriver["dialect"], window: { start?: string; end?: string }): { sql: string; params: unknown[] };
  /**
   * Optional: per day of the window, aggregates that change when the day's data changes (a `day` column and any
   * others). They become the day's version, so a day whose rows were corrected in the database is taken again.
   */
  fingerprint?(dialect: SqlDriver["dialect"], window: { start?: string; end?: string }): { sql: string; params: unknown[] };
}

export class SqlDayProvider extends LastUpdateProvider<DateTime> {
  constructor(
    private readonly db: SqlDriver,
    private readonly queries: SqlDayQueries,
    private readonly base: string,
    private readonly ext: string,
    private readonly zone: string,
    popts: ProviderOptions,
  ) {
    super(popts);
  }

  protected async *runQuery(): AsyncIterable<ProvItem<DateTime>> {
    const fmt = (d?: DateTime) => (d ? d.toFormat("yyyy-MM-dd HH:mm:ss") : undefined);
    const start = fmt(this.window.start);
    const end = fmt(this.window.end);
    const { sql, params } = this.queries.availability(this.db.dialect, { ...(start ? { start } : {}), ...(end ? { end } : {}) });
    // Retried and timed by the driver runtime (the SQL driver comes from runtime.driver).
    const rows = await this.db.query<{ day: unknown }>(sql, params);
    const dayOf = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));
    const days = new Set<string>();
    for (const row of rows) days.add(dayOf(row.day));
    const versions = new Map<string, string>();
    if (this.queries.fingerprint) {
      const fp = this.queries.fingerprint(this.db.dialect, { ...(start ? { start } : {}), ...(end ? { end } : {}) });
      const fpRows = await this.db.query<{ day: unknown }>(fp.sql, fp.params);
      for (const { day, ...rest } of fpRows) {
        const text = JSON.stringify(Object.entries(rest).map(([k, x]) => [k, typeof x === "bigint" ? x.toString() : x]));
        versions.set(dayOf(day), `db ${createHash("md5").update(text).digest("hex")}`);
      }
    }
    for (const day of [...days].sort()) {
      const date = DateTime.fromISO(day, { zone: this.zone });
      if (!date.isValid || !inWindow(date, this.window)) continue;
      const version = versions.get(day);
      yield { base: this.base, ext: this.ext, date, payload: date, label: `${this.base}_${day}.${this.ext}`, ...(version ? { version } : {}) };
    }
  }
}

/** A filename pattern: prefix + date (luxon format) + postfix, giving base and ext. */
export interface FilePattern {
  prefix: string;
  /** luxon format of the date part, e.g. "MM-dd-yyyy". */
  dateFormat: string;
  postfix: string;
  base: string;
  ext: string;
}

/** Files in a folder whose names carry their date (the original's LastUpdFileProv). Label = full path. */
export class FileProvider extends LastUpdateProvider<{ path: string; pattern: FilePattern }> {
  constructor(
    private readonly dir: string,
    private readonly patterns: FilePattern[],
    private readonly zone: string,
    popts: ProviderOptions,
  ) {
    super(popts);
  }

  /** The date a filename carries under a pattern, or undefined. */
  static matchDate(name: string, p: FilePattern, zone: string): DateTime | undefined {
    if (!name.startsWith(p.prefix) || !name.endsWith(p.postfix) || name.length <= p.prefix.length + p.postfix.length) return undefined;
    const middle = name.slice(p.prefix.length, name.length - p.postfix.length);
    const d = DateTime.fromFormat(middle, p.dateFormat, { zone });
    return d.isValid ? d.startOf("day") : undefined;
  }

  protected async *runQuery(): AsyncIterable<ProvItem<{ path: string; pattern: FilePattern }>> {
    const names = (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isFile() && !isTempName(d.name)).map((d) => d.name).sort();
    const versionOf = async (full: string) => {
      const st = await stat(full).catch(() => undefined);
      return st ? `size ${st.size} mtime ${Math.floor(st.mtimeMs)}` : undefined;
    };
    const byDay = new Map<number, Map<number, string>>();
    for (const name of names) {
      this.patterns.forEach((p, i) => {
        const date = FileProvider.matchDate(name, p, this.zone);
        if (!date || !inWindow(date, this.window)) return;
        const slot = byDay.get(date.toMillis()) ?? new Map<number, string>();
        if (!slot.has(i)) slot.set(i, name); // a second file with the same date is a duplicate: first wins
        byDay.set(date.toMillis(), slot);
      });
    }
    for (const ms of [...byDay.keys()].sort((a, b) => a - b)) {
      const slot = byDay.get(ms)!;
      for (const i of [...slot.keys()].sort((a, b) => a - b)) {
        const p = this.patterns[i]!;
        const full = path.join(this.dir, slot.get(i)!);
        const version = await versionOf(full);
        yield { base: p.base, ext: p.ext, date: DateTime.fromMillis(ms, { zone: this.zone }), payload: { path: full, pattern: p }, label: full, ...(version ? { version } : {}) };
      }
    }
  }
}

/**
 * A provider seen through a mapping: items renamed (another ext) or left out. Lets a stage compare on (base, ext)
 * when the target names the same file type differently (raw "unmatched.txt" ↔ standardized "unmatched.json"), and
 * leave out items a catalog filter cannot express.
 */
export class MappedProvider<P> extends LastUpdateProvider<P> {
  constructor(
    private readonly inner: LastUpdateProvider<P>,
    private readonly map: (item: ProvItem<P>) => ProvItem<P> | undefined,
  ) {
    // The inner provider applies the same-day cut itself; this wrapper only maps.
    super({ sameDay: true, today: undefined as never });
  }

  override async prepare(window: DateWindow): Promise<void> {
    await super.prepare(window);
    await this.inner.prepare(window);
  }

  protected async *runQuery(): AsyncIterable<ProvItem<P>> {
    for await (const item of this.inner.items()) {
      const mapped = this.map(item);
      if (mapped) yield mapped;
    }
  }
}

/** A fixed list (tests, device APIs that list their own days). */
export class ListProvider<P = unknown> extends LastUpdateProvider<P> {
  constructor(
    private readonly list: () => Promise<ProvItem<P>[]> | ProvItem<P>[],
    popts: ProviderOptions,
  ) {
    super(popts);
  }
  protected async *runQuery(): AsyncIterable<ProvItem<P>> {
    const items = await this.list();
    for (const item of items) if (inWindow(item.date, this.window)) yield item;
  }
}

export interface CompareOptions {
  window: DateWindow;
  force: boolean;
  /** Key on (base, ext) when true; on base alone when false (target metadata objects then ignored). */
  baseExtKey: boolean;
  /** Target objects that are not a day's output (unit data, quarantine objects, a source's metadata), by ext. */
  isMetadata?: (ext: string) => boolean;
  /**
   * Decide per (day, base) instead of per item: a day's items of one base are all yielded when any of them is not
   * covered (a grouped stage remakes the day from all of them), or are all covered. onCovered then hears each group
   * once.
   */
  groupBy?: "base";
  /** Called once per distinct (key, date) that --force let through. */
  onForced?: (item: ProvItem) => void;
  /** Called for each source item (or group, with groupBy) skipped because the target covers it. */
  onCovered?: (item: ProvItem) => void;
}

interface TargetSpan {
  start: number;
  end: number;
  /** Versions of the sources the target was made from; undefined = not known (covers any version). */
  from?: ReadonlySet<string>;
}


/**
 * Yields the source items no target item covers (interval overlap on the same key). Memory: the target spans
 * as numbers, O(targets); time: O(sources + targets) for date-ordered providers.
 */
export async function* compare<P>(
  source: LastUpdateProvider<P>,
  target: LastUpdateProvider | undefined,
  opts: CompareOptions,
): AsyncGenerator<UpdateItem<P>> {
  await source.prepare(opts.window);
  const keyOf = (base: string, ext: string) => (opts.baseExtKey ? `${base}\u0000${ext}` : base);
  const dayEndCache = new Map<number, number>();
  const endOf = (date: DateTime, dateEnd: DateTime | null | undefined): number => {
    if (dateEnd) return dateEnd.toMillis();
    const ms = date.toMillis();
    let end = dayEndCache.get(ms);
    if (end === undefined) {
      end = addDays(date, 1).toMillis();
      dayEndCache.set(ms, end);
    }
    return end;
  };

  const targets = new Map<string, { spans: TargetSpan[]; cursor: number }>();
  if (target) {
    await target.prepare(opts.window);
    for await (const t of target.items()) {
      if (!opts.baseExtKey && opts.isMetadata?.(t.ext)) continue;
      const key = keyOf(t.base, t.ext);
      let slot = targets.get(key);
      if (!slot) targets.set(key, (slot = { spans: [], cursor: 0 }));
      slot.spans.push({ start: t.date.toMillis(), end: endOf(t.date, t.dateEnd), ...(t.from ? { from: new Set(t.from.split("\n")) } : {}) });
    }
    for (const slot of targets.values()) {
      // Providers yield in date order; sort defensively (stable, cheap when already sorted).
      for (let i = 1; i < slot.spans.length; i++) {
        if (slot.spans[i]!.start < slot.spans[i - 1]!.start) {
          slot.spans.sort((a, b) => a.start - b.start);
          break;
        }
      }
    }
  }

  const covers = (span: TargetSpan, s: ProvItem<P>) => s.version === undefined || span.from === undefined || span.from.has(s.version);
  const isCovered = (s: ProvItem<P>): boolean => {
    const slot = targets.get(keyOf(s.base, s.ext));
    if (!slot) return false;
    const sStart = s.date.toMillis();
    const sEnd = endOf(s.date, s.dateEnd);
    const spans = slot.spans;
    // Targets that ended before this source starts cannot cover it or any later source.
    while (slot.cursor < spans.length && spans[slot.cursor]!.end <= sStart) slot.cursor++;
    for (let j = slot.cursor; j < spans.length && spans[j]!.start < sEnd; j++) {
      if (spans[j]!.end > sStart && covers(spans[j]!, s)) return true;
    }
    return false;
  };

  const forcedSeen = new Set<string>();
  /** The item as yielded, or undefined when the target covers it and it is not forced. */
  const decide = (s: ProvItem<P>, covered: boolean): UpdateItem<P> | undefined => {
    let forced = false;
    if (covered) {
      if (!opts.force) return undefined;
      forced = true;
      const fk = `${keyOf(s.base, s.ext)}\u0000${s.date.toMillis()}`;
      if (!forcedSeen.has(fk)) {
        forcedSeen.add(fk);
        opts.onForced?.(s);
      }
    }
    return { base: s.base, ext: s.ext, date: s.date, provItem: s, label: s.label, forced };
  };

  if (opts.groupBy !== "base") {
    for await (const s of source.items()) {
      const covered = isCovered(s);
      const out = decide(s, covered);
      if (out) yield out;
      else opts.onCovered?.(s);
    }
    return;
  }
  // Grouped: one day of items at a time (providers yield in date order), decided per base.
  let day: ProvItem<P>[] = [];
  const flushDay = function* (): Generator<UpdateItem<P>> {
    const byBase = new Map<string, ProvItem<P>[]>();
    for (const s of day) {
      const list = byBase.get(s.base);
      if (list) list.push(s);
      else byBase.set(s.base, [s]);
    }
    day = [];
    for (const group of byBase.values()) {
      const covered = group.map(isCovered).every(Boolean);
      if (covered && !opts.force) {
        opts.onCovered?.(group[0]!);
        continue;
      }
      for (const s of group) yield decide(s, covered)!;
    }
  };
  for await (const s of source.items()) {
    if (day.length && day[0]!.date.toMillis() !== s.date.toMillis()) yield* flushDay();
    day.push(s);
  }
  yield* flushDay();
}

