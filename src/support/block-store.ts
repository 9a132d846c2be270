/**
 * The block store interface: status rows of (source, stage, local day) blocks and the leases that keep two runs from
 * processing one block at once. Drivers live in src/drivers/blocks/ (the `blocks` kind of the driver registry) and run
 * behind the driver runtime like every other interface; the backfill, the queue and window leases use it.
 */
import type { CallOptions, CallTable } from "./drivers.js";
import { ownerIsDeadHere } from "../util/file-lock.js";

export type BlockStatus = "pending" | "running" | "succeeded" | "no-data" | "failed";

export interface BlockKey {
  source: string;
  /** Entry name of the stage, e.g. "wt-ready". */
  stage: string;
  /** Local day, YYYY-MM-DD. */
  day: string;
}

export interface BlockCounts {
  processed: number;
  skipped: number;
  failed: number;
  records: number;
}

export interface BlockRecord extends BlockKey, BlockCounts {
  status: BlockStatus;
  message: string | null;
  /** Times the block was started. */
  attempts: number;
  /** Who ran it last (host:pid:…). */
  owner: string | null;
  /** Epoch ms. */
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

export interface LeaseRecord extends BlockKey {
  owner: string;
  acquiredAt: number;
  expiresAt: number;
}

export type LeaseResult = { acquired: true } | { acquired: false; holder: LeaseRecord | undefined };

export interface BlockQuery {
  source: string;
  stage?: string;
  /** Inclusive first day. */
  from?: string;
  /** Exclusive last day. */
  to?: string;
}

export interface AcquireOptions extends CallOptions {
  /** Also take the lease from this owner though it has not expired (its holder is known to be dead). */
  takeOver?: string;
}

export interface BlockStore {
  readonly driverName: string;
  list(q: BlockQuery, opts?: CallOptions): Promise<BlockRecord[]>;
  get(key: BlockKey, opts?: CallOptions): Promise<BlockRecord | undefined>;
  /** Queued (enqueue): a running block is left as is. */
  markPending(key: BlockKey, now: number, message?: string, opts?: CallOptions): Promise<void>;
  /** Started by owner: attempts + 1, counts and message cleared. */
  markRunning(key: BlockKey, owner: string, now: number, opts?: CallOptions): Promise<void>;
  markFinished(key: BlockKey, result: { status: BlockStatus; message: string | null; counts: BlockCounts }, now: number, opts?: CallOptions): Promise<void>;
  /**
   * Takes the block's lease atomically (one INSERT … ON CONFLICT DO UPDATE … WHERE expired, ours or opts.takeOver's):
   * refused while another owner's lease has not expired.
   */
  acquireLease(key: BlockKey, owner: string, now: number, ttlMs: number, opts?: AcquireOptions): Promise<LeaseResult>;
  /** Extends our lease; false when it is no longer ours (it expired and someone took it). */
  renewLease(key: BlockKey, owner: string, now: number, ttlMs: number, opts?: CallOptions): Promise<boolean>;
  releaseLease(key: BlockKey, owner: string, opts?: CallOptions): Promise<void>;
  leases(q: { source?: string }, opts?: CallOptions): Promise<LeaseRecord[]>;
  close(): Promise<void>;
}

const block = (a: unknown[]) => {
  const k = a[0] as BlockKey;
  return `${k.stage} ${k.day}`;
};
/** How the driver runtime wraps a block store (every call idempotent, so every one may be retried). */
export const BLOCK_CALLS: CallTable = {
  list: { at: 1, what: (a) => (a[0] as BlockQuery).source },
  get: { at: 1, what: block },
  markPending: { at: 3, what: block, redactArgs: true },
  markRunning: { at: 3, what: block },
  markFinished: { at: 3, what: block, redactArgs: true },
  acquireLease: { at: 4, what: block },
  renewLease: { at: 4, what: block },
  releaseLease: { at: 2, what: block },
  leases: { at: 1 },
};

/**
 * Takes a block's lease; a lease held by a process of this host that no longer runs (a killed run: owners are
 * "host:pid:…") is taken over at once instead of after it expires. Any other holder is returned.
 */
export async function takeLease(store: BlockStore, key: BlockKey, owner: string, now: number, ttlMs: number): Promise<LeaseResult> {
  const got = await store.acquireLease(key, owner, now, ttlMs);
  if (got.acquired || !got.holder || !ownerIsDeadHere(got.holder.owner)) return got;
  return store.acquireLease(key, owner, now, ttlMs, { takeOver: got.holder.owner });
}

/** "held by host:pid:run:ab12 until 2024-11-03T10:00:00.000Z" (what a waiting run prints). */
export function describeHolder(holder: LeaseRecord | undefined): string {
  return holder ? `held by ${holder.owner} until ${new Date(holder.expiresAt).toISOString()}` : "held by another run";
}
