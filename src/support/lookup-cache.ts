/**
 * A persistent keyed lookup cache (IP → location, an address → a geocode) for enrichment, shared through storage:
 * one JSON object under a key of an ObjectAccess (the lake's state repository by default), so every run, worker and
 * CI machine of a lake sees the same entries. Entries carry their lookup time and expire after a TTL (the seed's
 * cache-forever bug). Keys are de-duplicated before calling, calls are rate limited (an interval between starts)
 * and retried on transient errors (withRetry); a key whose lookup fails is reported, not cached, and the run goes on.
 * Runs of one runtime (concurrent blocks) share the loaded entries and the lookups in flight, so a key is looked up
 * once however many blocks ask for it; a write re-reads and merges, so concurrent processes lose no entries.
 */
import type { ObjectAccess } from "./kit.js";
import { errorMessage } from "./errors.js";
import { withRetry, type RetryPolicy } from "./resilience.js";

interface Entry<V> {
  v: V;
  /** Lookup time, epoch ms. */
  t: number;
}

export interface LookupCacheOptions {
  store: ObjectAccess;
  /** Object key of the cache, e.g. "cache/geoip.json". */
  key: string;
  ttlMs: number;
  /** Lookups started per second at most (0 = no limit). */
  ratePerSecond?: number;
  retry: RetryPolicy;
  clock: () => number;
  onRetry?: (message: string) => void;
}

export interface LookupResult<V> {
  values: Map<string, V>;
  /** Keys asked for (distinct), answered from the cache, looked up. */
  distinct: number;
  hits: number;
  lookups: number;
  failed: { key: string; error: string }[];
}

async function readAll<V>(store: ObjectAccess, key: string): Promise<Map<string, Entry<V>>> {
  const text = await store.read(key);
  if (!text) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(text) as Record<string, Entry<V>>));
  } catch {
    return new Map(); // an unreadable cache is rebuilt, never fatal
  }
}

interface Shared {
  entries: Promise<Map<string, Entry<unknown>>>;
  inflight: Map<string, Promise<unknown>>;
  last: number;
}
const shared = new WeakMap<object, Map<string, Shared>>();

export class LookupCache<V> {
  private readonly s: Shared;
  constructor(private readonly o: LookupCacheOptions) {
    let byKey = shared.get(o.store.scope);
    if (!byKey) shared.set(o.store.scope, (byKey = new Map()));
    const id = `${o.store.repository}/${o.key}`;
    let s = byKey.get(id);
    if (!s) {
      byKey.set(id, (s = { entries: readAll(o.store, o.key), inflight: new Map(), last: 0 }));
      s.entries.catch(() => byKey.delete(id)); // a failed read (storage down) is tried again by the next run
    }
    this.s = s;
  }

  private entries(): Promise<Map<string, Entry<V>>> {
    return this.s.entries as Promise<Map<string, Entry<V>>>;
  }

  private async paced(): Promise<void> {
    const rate = this.o.ratePerSecond ?? 0;
    if (rate <= 0) return;
    const gap = 1000 / rate;
    const now = Date.now();
    const at = Math.max(now, this.s.last + gap);
    this.s.last = at;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  /** The values of keys: cached ones (younger than the TTL) as they are, the others looked up once each. */
  async get(keys: Iterable<string>, lookup: (key: string) => Promise<V>): Promise<LookupResult<V>> {
    const entries = await this.entries();
    const now = this.o.clock();
    const distinct = [...new Set(keys)];
    const values = new Map<string, V>();
    const missing: string[] = [];
    for (const k of distinct) {
      const e = entries.get(k);
      if (e && now - e.t < this.o.ttlMs) values.set(k, e.v);
      else missing.push(k);
    }
    const failed: { key: string; error: string }[] = [];
    const fresh = new Map<string, Entry<V>>();
    for (const k of missing) {
      const done = entries.get(k); // looked up by another run since this one started
      if (done && now - done.t < this.o.ttlMs) {
        values.set(k, done.v);
        continue;
      }
      let pending = this.s.inflight.get(k) as Promise<V> | undefined;
      const mine = !pending;
      if (!pending) {
        pending = withRetry(`lookup ${k}`, async () => (await this.paced(), lookup(k)), this.o.retry, ({ attempt, error }) =>
          this.o.onRetry?.(`lookup ${k}: attempt ${attempt} failed (${errorMessage(error)}); retrying`),
        );
        this.s.inflight.set(k, pending);
        void pending.then(() => this.s.inflight.delete(k), () => this.s.inflight.delete(k));
      }
      try {
        const v = await pending;
        values.set(k, v);
        if (mine) {
          fresh.set(k, { v, t: now });
          entries.set(k, { v, t: now });
        }
      } catch (err) {
        failed.push({ key: k, error: errorMessage(err).slice(0, 300) });
      }
    }
    if (fresh.size) await this.save(fresh);
    return { values, distinct: distinct.length, hits: distinct.length - fresh.size - failed.length, lookups: fresh.size + failed.length, failed };
  }

  /** Re-reads the stored cache, adds the new entries (and drops expired ones), writes it back. */
  private async save(fresh: Map<string, Entry<V>>): Promise<void> {
    const stored = await readAll<V>(this.o.store, this.o.key);
    const now = this.o.clock();
    const mine = await this.entries();
    for (const [k, e] of mine) if (!stored.has(k) || stored.get(k)!.t < e.t) stored.set(k, e);
    for (const [k, e] of fresh) stored.set(k, e);
    for (const [k, e] of stored) if (now - e.t >= this.o.ttlMs) stored.delete(k);
    await this.o.store.write(this.o.key, JSON.stringify(Object.fromEntries(stored)));
  }
}
