/**
 * Running one block: take its lease (renewed by a heartbeat while the stage runs), mark it running, run the stage's
 * App through runApp over that one day inside the shared runtime, record the outcome, release the lease.
 */
import type { AppClass } from "../support/etl-app.js";
import { parseOptions, runApp } from "../support/etl-app.js";
import { ConfigError, TerminalError, errorMessage } from "../support/errors.js";
import type { RunSummary } from "../support/events.js";
import type { LakeRuntime } from "../support/runtime.js";
import { describeHolder, takeLease, type BlockCounts, type BlockFinish, type BlockKey, type BlockStatus, type BlockStore, type LeaseRecord } from "../support/block-store.js";
import type { SourceRegistry } from "../support/registry.js";

export interface BlockEnv {
  runtime: LakeRuntime;
  store: BlockStore;
  registry: SourceRegistry;
  /** Lease holder name of this process/run. */
  owner: string;
  leaseMs: number;
  /** Wall clock of leases and block timestamps (real time: the lake clock may be frozen in tests). */
  now?: () => number;
}

export type OutcomeStatus = BlockStatus | "busy" | "blocked" | "done-before" | "planned" | "not-run";

export interface BlockOutcome extends BlockKey {
  status: OutcomeStatus;
  message: string | null;
  counts: BlockCounts;
  seconds: number;
  holder?: LeaseRecord;
  /**
   * Why a failed block failed: "transient" (a TransientError or an unclassified error escaped the stage: worth a
   * retry), "terminal" (a TerminalError, or items of the day failed), "config" (a ConfigError).
   */
  errorKind?: "transient" | "terminal" | "config";
}

/** Where block runs report their progress (the CLI draws a bar or prints lines; tests collect). */
export interface BlockProgress {
  start(total: number): void;
  /** Raises the total (a worker learns of new jobs). */
  setTotal(total: number): void;
  done(outcome: BlockOutcome): void;
  log(line: string): void;
  /** A line of a warning level (default: log). */
  warn?(line: string): void;
  stop(): void;
}

export const NO_COUNTS: BlockCounts = { processed: 0, skipped: 0, failed: 0, records: 0, errors: 0 };

/** Longest block message kept in the store. */
const MAX_MESSAGE = 2_000;

/** A stage run's summary → block status: failures → failed; nothing processed or skipped → no-data. */
function statusOf(summary: RunSummary): { status: BlockStatus; message: string | null } {
  if (summary.failed > 0) {
    const text = summary.failures.slice(0, 5).map((f) => `${f.item}: ${f.error}`).join("; ");
    const more = summary.failures.length > 5 ? ` (+${summary.failures.length - 5} more)` : "";
    return { status: "failed", message: `${summary.failed} item(s) failed: ${text}${more}`.slice(0, MAX_MESSAGE) };
  }
  if (summary.processed === 0 && summary.skipped === 0) return { status: "no-data", message: "no source items for this day" };
  return { status: "succeeded", message: null };
}

/** A block stage's report of its one block → what the block store records. */
function finishOfBlock(summary: RunSummary): BlockFinish & { status: BlockStatus; transient?: boolean } {
  const r = summary.blocks?.[0];
  if (!r) return { status: "failed", message: "the block stage reported no block (is the partition over yet?)", counts: NO_COUNTS };
  const counts = { processed: r.processed, skipped: r.total - r.processed - r.errors, failed: r.status === "failed" ? 1 : 0, records: r.total, errors: r.errors };
  return { status: r.status as BlockStatus, message: r.message, counts, payload: r.payload, errorPayload: r.errorPayload, ...(r.transient ? { transient: true } : {}) };
}

/** The `lake run` command equivalent of a block (a partition key with a "T" or "#" is a block stage's block). */
export function blockCommand(key: BlockKey, force: boolean): string {
  if (/[T#]/.test(key.day)) return `lake run ${key.stage} --partition '${key.day}'${force ? " -F" : ""}`;
  return `lake run ${key.stage} -s ${key.day} -e ${key.day}${force ? " -F" : ""}`;
}

/**
 * Holds a lease while fn runs: acquire (refused → undefined), renew every third of the lease, release at the end.
 * onLost is told when a renewal finds the lease gone (the run went on longer than the lease without heartbeats).
 */
async function withLease<T>(
  env: BlockEnv,
  key: BlockKey,
  fn: () => Promise<T>,
  onLost?: () => void,
): Promise<{ ran: true; value: T } | { ran: false; holder: LeaseRecord | undefined }> {
  const now = env.now ?? Date.now;
  const got = await takeLease(env.store, key, env.owner, now(), env.leaseMs);
  if (!got.acquired) return { ran: false, holder: got.holder };
  let renewing: Promise<unknown> = Promise.resolve();
  const beat = setInterval(() => {
    renewing = env.store.renewLease(key, env.owner, now(), env.leaseMs).then(
      (ok) => (!ok ? onLost?.() : undefined),
      () => undefined, // a missed heartbeat is retried at the next beat
    );
  }, Math.max(50, Math.floor(env.leaseMs / 3)));
  beat.unref();
  try {
    return { ran: true, value: await fn() };
  } finally {
    clearInterval(beat);
    await renewing;
    await env.store.releaseLease(key, env.owner).catch(() => undefined); // an unreleased lease just expires
  }
}

/**
 * Runs one block. ConfigError is recorded on the block and rethrown (the whole run stops: every block would fail).
 */
export async function runBlock(env: BlockEnv, key: BlockKey, opts: { force?: boolean; debug?: boolean } = {}): Promise<BlockOutcome> {
  const now = env.now ?? Date.now;
  const t0 = now();
  let configError: unknown;
  const res = await withLease(
    env,
    key,
    async (): Promise<BlockOutcome> => {
      await env.store.markRunning(key, env.owner, now());
      let status: BlockStatus;
      let message: string | null;
      let counts = NO_COUNTS;
      let errorKind: BlockOutcome["errorKind"];
      let extra: Pick<BlockFinish, "payload" | "errorPayload"> = {};
      let transient = false;
      try {
        const bound = await env.registry.stage(key.stage);
        const App: AppClass = bound.App;
        const isBlockStage = bound.decl.kind === "block";
        const day = key.day.slice(0, 10);
        const options = parseOptions(App, {
          start_date: day,
          end_date: day,
          ...(isBlockStage ? { partition: key.day } : {}),
          force: Boolean(opts.force),
          debug: Boolean(opts.debug),
        });
        const summary = await runApp(App, options, { runtime: env.runtime });
        if (isBlockStage) {
          const f = finishOfBlock(summary);
          ({ status, message, counts } = f);
          extra = { payload: f.payload ?? null, errorPayload: f.errorPayload ?? null };
          transient = Boolean(f.transient);
        } else {
          ({ status, message } = statusOf(summary));
          counts = { processed: summary.processed, skipped: summary.skipped, failed: summary.failed, records: summary.records, errors: 0 };
        }
        if (status === "failed") errorKind = transient ? "transient" : "terminal";
      } catch (err) {
        status = "failed";
        message = `${err instanceof Error ? err.name : "Error"}: ${errorMessage(err)}`.slice(0, MAX_MESSAGE);
        if (err instanceof ConfigError) configError = err;
        errorKind = err instanceof ConfigError ? "config" : err instanceof TerminalError ? "terminal" : "transient";
      }
      await env.store.markFinished(key, { status, message, counts, ...extra }, now());
      return { ...key, status, message, counts, seconds: (now() - t0) / 1000, ...(errorKind ? { errorKind } : {}) };
    },
    () => env.runtime.events.emit("log", { app: key.stage, level: "warn", message: `lease of ${key.stage} ${key.day} was lost while running` }),
  );
  if (configError) throw configError;
  if (!res.ran) {
    const holder = res.holder;
    return {
      ...key,
      status: "busy",
      message: describeHolder(holder),
      counts: NO_COUNTS,
      seconds: 0,
      ...(holder ? { holder } : {}),
    };
  }
  return res.value;
}
