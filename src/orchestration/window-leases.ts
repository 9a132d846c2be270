/**
 * Leases over a whole window: `lake pipeline` takes the lease of every (source, stage, day) its stage run covers, so a
 * backfill or a worker never runs one of those blocks at the same time (and it waits for theirs). All or nothing: when
 * one day is held elsewhere, the ones taken are released and the whole set is tried again until waitMs runs out. A
 * day held by a dead process of this host is taken over at once (takeLease); for any other holder the waiting run
 * is told who holds it and until when.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { takeLease, type BlockKey, type BlockStore, type LeaseRecord } from "../support/block-store.js";

export interface WindowLeaseOptions {
  store: BlockStore;
  owner: string;
  leaseMs: number;
  /** How long to wait for days held elsewhere before giving up. */
  waitMs: number;
  /** Pause between tries. */
  retryMs?: number;
  now?: () => number;
  /** Told once when a day is held elsewhere (by a live run): which day, who holds it and until when. */
  onWait?: (key: BlockKey, holder: LeaseRecord | undefined) => void;
}

export type WindowLease = { held: true; release(): Promise<void> } | { held: false; key: BlockKey; holder: LeaseRecord | undefined };

export async function leaseWindow(keys: BlockKey[], o: WindowLeaseOptions): Promise<WindowLease> {
  const now = o.now ?? Date.now;
  const deadline = now() + o.waitMs;
  let told = false;
  for (;;) {
    const taken: BlockKey[] = [];
    let refused: { key: BlockKey; holder: LeaseRecord | undefined } | undefined;
    for (const key of keys) {
      const r = await takeLease(o.store, key, o.owner, now(), o.leaseMs);
      if (!r.acquired) {
        refused = { key, holder: r.holder };
        break;
      }
      taken.push(key);
    }
    if (!refused) {
      const beat = setInterval(() => {
        for (const key of taken) void o.store.renewLease(key, o.owner, now(), o.leaseMs).catch(() => undefined);
      }, Math.max(50, Math.floor(o.leaseMs / 3)));
      beat.unref();
      return {
        held: true,
        async release() {
          clearInterval(beat);
          for (const key of taken) await o.store.releaseLease(key, o.owner).catch(() => undefined);
        },
      };
    }
    for (const key of taken) await o.store.releaseLease(key, o.owner).catch(() => undefined);
    if (now() >= deadline) return { held: false, ...refused };
    if (!told) {
      told = true;
      o.onWait?.(refused.key, refused.holder);
    }
    await sleep(Math.min(o.retryMs ?? 1_000, Math.max(10, deadline - now())));
  }
}
