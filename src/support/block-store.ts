/**
 * The block store interface: status rows of (source, stage, local day) blocks and the leases that keep two runs from
 * processing one block at once. Drivers live in src/drivers/blocks/; the backfill, the queue and window leases use it.
 */

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

export interface BlockStore {
  readonly driverName: string;
  list(q: BlockQuery): Promise<BlockRecord[]>;
  get(key: BlockKey): Promise<BlockRecord | undefined>;
  /** Queued (enqueue): a running block is left as is. */
  markPending(key: BlockKey, now: number, message?: string): Promise<void>;
  /** Started by owner: attempts + 1, counts and message cleared. */
  markRunning(key: BlockKey, owner: string, now: number): Promise<void>;
  markFinished(key: BlockKey, result: { status: BlockStatus; message: string | null; counts: BlockCounts }, now: number): Promise<void>;
  /**
   * Takes the block's lease atomically (one INSERT … ON CONFLICT DO UPDATE … WHERE expired or ours): refused while
   * another owner's lease has not expired.
   */
  acquireLease(key: BlockKey, owner: string, now: number, ttlMs: number): Promise<LeaseResult>;
  /** Extends our lease; false when it is no longer ours (it expired and someone took it). */
  renewLease(key: BlockKey, owner: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(key: BlockKey, owner: string): Promise<void>;
  leases(q: { source?: string }): Promise<LeaseRecord[]>;
  close(): Promise<void>;
}
