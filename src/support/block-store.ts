/**
 * The block store interface: status rows of (source, stage, local day) blocks and the leases that keep two runs from
 * processing one block at once. Drivers live in src/drivers/blocks/ (the `blocks` kind of the driver registry) and run
 * behind the driver runtime like every other interface; the backfill, the queue and window leases use it.
 */
import type { CallOptions, CallTable } from "./drivers.js";
import { ownerIsDeadHere } from "../util/file-lock.js";

/**
 * A block's status in one stage. pending: queued; leased: a run holds its lease and works on it; succeeded;
 * succeeded-with-errors: done, but some records were refused (counted in `errors`, listed in the error payload);
 * failed: the stage failed for the block; no-data: the partition is empty; skipped: not run because an earlier stage
 * of the partition found no data, or because the stage did not run it (e.g. its entity is disabled: the message
 * says why). Terminal statuses are final (--incomplete-only leaves them alone); the others
 * are retried.
 */
export type BlockStatus = "pending" | "leased" | "succeeded" | "succeeded-with-errors" | "failed" | "no-data" | "skipped";

export const BLOCK_STATUSES: readonly BlockStatus[] = ["pending", "leased", "succeeded", "succeeded-with-errors", "failed", "no-data", "skipped"];

/** Final: a rerun without --force has nothing to do for the block. */
export function isTerminal(status: string | undefined): boolean {
  return status === "succeeded" || status === "no-data" || status === "skipped";
}

/** Worth another run: failed, partly failed, or left pending/leased by a run that ended (never run is retried too). */
export function isRetryable(status: string | undefined): boolean {
  return !isTerminal(status);
}

/** The stored text of a status (rows written before "leased" existed say "running"). */
export function readStatus(text: string): BlockStatus {
  return (text === "running" ? "leased" : text) as BlockStatus;
}

export interface BlockKey {
  source: string;
  /** Entry name of the stage, e.g. "wt-ready". */
  stage: string;
  /**
   * The block's partition: a local day, YYYY-MM-DD (the daily sources), or an hour YYYY-MM-DDTHH:mm±HH:MM; a block of
   * one entity of the partition (a provider) ends in "#<entity>" (src/util/partitions.ts).
   */
  day: string;
}

export interface BlockCounts {
  processed: number;
  skipped: number;
  failed: number;
  records: number;
  /** Records refused (validation, load): the block is succeeded-with-errors, or failed when nothing was taken. */
  errors?: number;
}

/** What a finished block records. */
export interface BlockFinish {
  status: BlockStatus;
  message: string | null;
  counts: BlockCounts;
  /** Where the stage's output is (a lake object key). */
  payload?: string | null;
  /** Structured details of what failed (JSON text: refused records with file, line and reason). */
  errorPayload?: string | null;
}

export interface BlockRecord extends BlockKey, BlockCounts {
  status: BlockStatus;
  message: string | null;
  payload: string | null;
  errorPayload: string | null;
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
  /** Started by owner (status leased): attempts + 1, counts, message and error payload cleared. */
  markRunning(key: BlockKey, owner: string, now: number, opts?: CallOptions): Promise<void>;
  markFinished(key: BlockKey, result: BlockFinish, now: number, opts?: CallOptions): Promise<void>;
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
