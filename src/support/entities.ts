/**
 * Entities with their own incremental state, for any source (seed-systems §1.10, F01, F05–F07):
 *
 * - fan-out: a discovery step lists entities (e.g. customer → usage points); each becomes one item of an ingest
 *   stage, keyed by its id parts (`entityBase`: parts escaped, joined by "_", so an id holding "_" survives);
 * - a per-entity watermark (the max reading date stored): kept in the catalog's state repository, staged with the
 *   item's outputs (a failed item advances nothing), and inferred from the lake (the newest target object's
 *   catalog row) when no state exists; a new entity starts `lookBackYears` before the boundary;
 * - the fetch boundary: `lagDays` before now (the injected clock), snapped down to the source's end-of-day time in
 *   its own zone (DST-aware; the request's max is one second before it);
 * - a "new data?" probe that vetoes a fetch before anything is written: no new data is a skip, not a failure, and
 *   neither the watermark nor the run number moves;
 * - run-numbered objects `<entity parts>_<run>.<ext>` whose run numbers are claimed atomically in the catalog
 *   (INSERT … ON CONFLICT DO NOTHING on `run:<n>` rows): two allocators never get the same number. Numbers are
 *   unique per entity, not necessarily contiguous (a run that failed after its claim leaves a gap).
 */
import { randomUUID } from "node:crypto";
import { DateTime } from "luxon";
import type { Catalog, CatalogEntry } from "./catalog.js";
import { ConfigError, TerminalError } from "./errors.js";
import { LastUpdateProvider, type DateWindow, type ProvItem, type UpdateItem } from "./last-update.js";
import type { StageContext, StageOutput } from "./kit.js";

// ------------------------------------------------------------------------------------------------ names

const ESCAPED = /[%_/\\]/g;

/** One id part, escaped so "_" (the separator), "/", "\" and "%" cannot be misread: "a_b" → "a%5Fb". */
export function escapePart(part: string): string {
  if (part.length === 0) throw new TerminalError("entity id part is empty");
  return part.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

export function unescapePart(text: string): string {
  return text.replace(/%([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The catalog base of an entity: its parts escaped, joined by "_". */
export function entityBase(parts: readonly string[]): string {
  if (parts.length === 0) throw new TerminalError("an entity needs at least one id part");
  return parts.map(escapePart).join("_");
}

export function entityParts(base: string): string[] {
  return base.split("_").map(unescapePart);
}

/** `<entity parts>_<run>.<ext>`. */
export function runName(parts: readonly string[], run: number, ext: string): string {
  if (!Number.isInteger(run) || run < 0) throw new TerminalError(`run number ${run} is not a whole number >= 0`);
  return `${entityBase(parts)}_${run}.${ext}`;
}

/** Reads a run-numbered name back (undefined when it is not one). */
export function parseRunName(name: string): { parts: string[]; run: number; ext: string } | undefined {
  const m = /^(.+)_(\d+)\.([^._/]+)$/.exec(name);
  if (!m) return undefined;
  return { parts: entityParts(m[1]!), run: Number(m[2]), ext: m[3]! };
}

// ------------------------------------------------------------------------------------------------ the boundary

export interface WatermarkPolicy {
  /** The source's zone (its end of day is local there). */
  zone: string;
  /** Local time at which the source's day ends, "HH:mm" (PG&E: "00:00" America/Los_Angeles = 07:00 UTC in summer). */
  endOfDay: string;
  /** Publication lag: data is complete only this many days after the fact. */
  lagDays: number;
  /** A new entity's first window reaches this far back from the boundary. */
  lookBackYears: number;
}

/**
 * The exclusive end of what may be fetched now: the latest end-of-day instant (local `endOfDay` in the source's
 * zone) at or before now − lag. The request's max date is one second before it.
 */
export function fetchBoundary(nowMs: number, policy: WatermarkPolicy): DateTime {
  const m = /^(\d{2}):(\d{2})$/.exec(policy.endOfDay);
  if (!m) throw new ConfigError(`endOfDay "${policy.endOfDay}": use HH:mm`);
  const lagged = DateTime.fromMillis(nowMs, { zone: policy.zone }).minus({ days: policy.lagDays });
  if (!lagged.isValid) throw new ConfigError(`zone "${policy.zone}" is not an IANA zone`);
  const at = (d: DateTime) => d.set({ hour: Number(m[1]), minute: Number(m[2]), second: 0, millisecond: 0 });
  const today = at(lagged);
  return today <= lagged ? today : at(lagged.minus({ days: 1 }));
}

// ------------------------------------------------------------------------------------------------ state

/** An entity as discovery yields it: id parts (catalog base, object name) and what the fetch needs. */
export interface Entity<P = unknown> {
  parts: string[];
  payload: P;
}

/** The payload of an entity's fetch item. */
export interface EntityItem<P = unknown> {
  entity: Entity<P>;
  /** What is stored so far, and where that was read ("state", or "lake" when inferred). */
  watermark?: { at: DateTime; from: "state" | "lake" };
  /** The fetch window: [start, end); end is the boundary. */
  start: DateTime;
  end: DateTime;
}

export const NO_NEW_DATA = "no new data";
const EPOCH = 0;

/** Watermarks and run numbers of a source's entities in the catalog (the kit hands one to a stage as ctx.entities). */
export class EntityState {
  constructor(
    private readonly catalog: Catalog,
    private readonly stateRepository: string,
    /** The layer whose objects hold the entities' data (inference reads its catalog rows). */
    private readonly dataRepository: string,
    private readonly stage: string,
  ) {}

  private row(base: string, ext: string, metadata: Record<string, unknown>): CatalogEntry {
    return this.catalog.build(this.stateRepository, base, ext, DateTime.fromMillis(EPOCH, { zone: this.catalog.zone }), "", { metadata });
  }

  /** The stored watermark; else inferred from the newest data object's catalog row; undefined for a new entity. */
  async watermark(base: string): Promise<{ at: DateTime; from: "state" | "lake" } | undefined> {
    const state = await this.catalog.single(this.stateRepository, base, `watermark:${this.stage}`, DateTime.fromMillis(EPOCH, { zone: this.catalog.zone }));
    const text = state?.metadata?.watermark;
    if (typeof text === "string") return { at: DateTime.fromISO(text, { zone: this.catalog.zone }), from: "state" };
    const newest = await this.catalog.latest(this.dataRepository, { base });
    if (!newest) return undefined;
    const meta = newest.metadata?.watermark;
    const at = typeof meta === "string" ? DateTime.fromISO(meta, { zone: this.catalog.zone }) : newest.collectionEnd;
    return at ? { at, from: "lake" } : undefined;
  }

  /** Stages the new watermark with the item's catalog rows (dropped if the item fails). */
  setWatermark(base: string, at: DateTime, extra: Record<string, unknown> = {}): void {
    this.catalog.stage(this.row(base, `watermark:${this.stage}`, { ...extra, watermark: at.toISO() }));
  }

  /**
   * A record the source keeps about an entity beside its watermark, not tied to a stage (e.g. "disabled" with why,
   * or sealed credentials): its metadata, or undefined when there is none.
   */
  async record(base: string, kind: string): Promise<Record<string, unknown> | undefined> {
    return (await this.catalog.single(this.stateRepository, base, `record:${kind}`, DateTime.fromMillis(EPOCH, { zone: this.catalog.zone })))?.metadata ?? undefined;
  }

  /** Stages a record (written with the item's catalog rows; nothing under -0). */
  setRecord(base: string, kind: string, metadata: Record<string, unknown>): void {
    this.catalog.stage(this.row(base, `record:${kind}`, metadata));
  }

  /** Removes a record now: whether there was one. */
  async clearRecord(base: string, kind: string): Promise<boolean> {
    return (await this.catalog.delete([this.row(base, `record:${kind}`, {})])) > 0;
  }

  private readonly held = new Set<() => Promise<void>>();

  /** Releases every lease still held (the kit calls it once the run's catalog rows are written). */
  async releaseLeases(): Promise<void> {
    for (const release of [...this.held]) await release().catch(() => undefined); // an unreleased lease expires
  }

  /**
   * Takes the entity's lease for this stage (a `lease:<stage>` row claimed atomically in the state repository):
   * the release function, or the holder when another run holds it. A lease past its `until` (its holder died) is
   * taken over.
   */
  async lease(base: string, owner: string, nowMs: number, ms: number): Promise<{ release(): Promise<void> } | { holder: string }> {
    const ext = `lease:${this.stage}`;
    for (let tries = 0; ; tries++) {
      const row = this.row(base, ext, { by: owner, until: new Date(nowMs + ms).toISOString() });
      if (await this.catalog.claim(row)) {
        const release = async () => {
          this.held.delete(release);
          await this.catalog.delete([row]);
        };
        this.held.add(release);
        return { release };
      }
      const held = await this.catalog.single(this.stateRepository, base, ext, DateTime.fromMillis(EPOCH, { zone: this.catalog.zone }));
      const until = Date.parse(String(held?.metadata?.until ?? ""));
      if (held && (tries > 0 || !(until < nowMs))) return { holder: `${String(held.metadata?.by ?? "?")} until ${held.metadata?.until ?? "?"}` };
      if (held) await this.catalog.delete([held]); // expired: its holder died
    }
  }

  /** The next run number of an entity, claimed atomically (concurrent callers get distinct numbers). */
  async allocateRun(base: string, claimedBy = ""): Promise<number> {
    const taken = await this.catalog.list(this.stateRepository, { base, ext: { like: "run:*" } });
    let next = taken.reduce((max, e) => Math.max(max, Number(e.ext.slice(4)) + 1), 0);
    for (let tries = 0; tries < 1000; tries++, next++) {
      if (await this.catalog.claim(this.row(base, `run:${next}`, { stage: this.stage, by: claimedBy }))) return next;
    }
    throw new TerminalError(`${base}: could not claim a run number after 1000 tries`);
  }
}

/** A source's entities as fetch items: one per entity, its window from its watermark and the boundary. */
export async function entityItems<P>(entities: readonly Entity<P>[], state: EntityState, policy: WatermarkPolicy, nowMs: number): Promise<ProvItem<EntityItem<P>>[]> {
  const end = fetchBoundary(nowMs, policy);
  const items: ProvItem<EntityItem<P>>[] = [];
  for (const entity of entities) {
    const base = entityBase(entity.parts);
    const watermark = await state.watermark(base);
    const start = watermark?.at ?? end.minus({ years: policy.lookBackYears });
    items.push({ base, ext: "", date: start, dateEnd: end > start ? end : start.plus({ seconds: 1 }), payload: { entity, ...(watermark ? { watermark } : {}), start, end }, label: entity.parts.join("/") });
  }
  return items.sort((a, b) => a.date.toMillis() - b.date.toMillis());
}

/** What an incremental fetch gives back: the bytes and the max reading they hold (undefined: no readings). */
export interface Increment {
  body: Uint8Array | string;
  maxReading: DateTime | undefined;
  rows: number;
}

/**
 * One entity's incremental fetch: the probe may veto it (nothing newer than the watermark: skipped as "no new
 * data", nothing written, nothing advanced); else the fetch; an empty answer is "no new data" too; else the next
 * run number is claimed and the object `<parts>_<run>.<ext>` returned for the kit to write, with the watermark
 * staged beside its catalog row.
 */
export async function fetchIncrement<P>(
  ctx: StageContext<never>,
  item: UpdateItem<EntityItem<P>>,
  spec: { ext: string; contentType?: string; probe?(): Promise<DateTime | undefined>; fetch(): Promise<Increment> },
): Promise<StageOutput | undefined> {
  const { entity, watermark, end } = item.provItem.payload;
  const start = item.provItem.payload.start.setZone(end.zone); // messages in the source's zone
  const noNew = (why: string) => {
    ctx.log.info(`${item.label}: ${NO_NEW_DATA} (${why})`);
    ctx.skip(NO_NEW_DATA);
    return undefined;
  };
  if (start >= end) return noNew(`stored up to ${start.toISO()}, boundary ${end.toISO()}`);
  // One fetch of an entity at a time: a second concurrent one would write a second object for the same catalog row.
  const lease = await ctx.entities.lease(item.base, `${ctx.stage}:${process.pid}:${randomUUID().slice(0, 8)}`, ctx.realTime(), FETCH_LEASE_MS);
  if ("holder" in lease) {
    ctx.log.info(`${item.label}: skipped, another fetch of it is running (${lease.holder})`);
    ctx.skip(FETCH_HELD);
    return undefined;
  }
  // Held until the run's catalog rows are written (the kit releases it then): a later fetch reads this one's
  // watermark once it has the lease.
  const current = await ctx.entities.watermark(item.base);
  if (current && (!watermark || current.at > watermark.at)) {
    if (current.at >= end) return noNew(`another fetch stored up to ${current.at.setZone(end.zone).toISO()} meanwhile`);
    item.provItem.payload.watermark = current;
    item.provItem.payload.start = current.at;
  }
  return fetchLeased(ctx, item, spec, noNew);
}

/** Longest a fetch holds its entity's lease (a crashed fetcher's entity is free again after it). */
const FETCH_LEASE_MS = 30 * 60_000;
export const FETCH_HELD = "another fetch of this entity is running";

async function fetchLeased<P>(
  ctx: StageContext<never>,
  item: UpdateItem<EntityItem<P>>,
  spec: Parameters<typeof fetchIncrement<P>>[2],
  noNew: (why: string) => undefined,
): Promise<StageOutput | undefined> {
  const { entity, watermark, end } = item.provItem.payload;
  const start = item.provItem.payload.start.setZone(end.zone);
  if (watermark && spec.probe) {
    const newest = await spec.probe();
    if (!newest || newest <= watermark.at) return noNew(`the probe found ${newest ? `readings up to ${newest.setZone(end.zone).toISO()}` : "no readings"}; stored up to ${start.toISO()}`);
  }
  const got = await spec.fetch();
  if (!got.maxReading || (watermark && got.maxReading <= watermark.at)) return noNew("the fetch returned no newer readings");
  const run = await ctx.entities.allocateRun(item.base);
  ctx.entities.setWatermark(item.base, got.maxReading, { run });
  return {
    ext: spec.ext,
    name: runName(entity.parts, run, spec.ext),
    body: got.body,
    date: start,
    collectionEnd: got.maxReading,
    rows: got.rows,
    ...(spec.contentType ? { contentType: spec.contentType } : {}),
    metadata: { run, parts: entity.parts, watermark: got.maxReading.toISO(), requested: { start: start.toISO(), end: end.toISO() }, previous: watermark?.from ?? "new" },
  };
}

/** A provider seen without the run's window (a stage whose items are decided by state or markers, not dates). */
export class AllTime<P> extends LastUpdateProvider<P> {
  constructor(private readonly inner: LastUpdateProvider<P>) {
    super({ sameDay: true, today: undefined as never });
  }
  override async prepare(_window: DateWindow): Promise<void> {
    await super.prepare({ endGiven: true });
    await this.inner.prepare({ endGiven: true });
  }
  protected async *runQuery(): AsyncIterable<ProvItem<P>> {
    yield* this.inner.items();
  }
}
