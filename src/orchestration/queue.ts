/**
 * Scale-out on BullMQ (Redis): `lake enqueue` puts one job per block on a queue, `lake worker` processes them.
 *
 * Stage order per day: only a day's first selected stage is enqueued; when a block finishes well (succeeded or
 * no-data) the worker enqueues the day's next stage (job id = run id + block, so a retried or duplicated completion
 * adds it once). A failed block adds nothing: its later stages wait for a repair run (`--incomplete-only`).
 *
 * Failures: a TransientError (or an unclassified error) is retried with exponential backoff up to `attempts`; a
 * TerminalError, failed items or a ConfigError fail the job at once (UnrecoverableError). Failed jobs are kept: they
 * are the dead letters (`lake worker --dead-letters`, `--retry-dead-letters`).
 *
 * Leases: a worker takes the block's lease before running it; a block leased elsewhere (another worker, a backfill, a
 * crashed process whose lease has not expired yet) is put back as delayed, without using up an attempt.
 */
import * as z from "zod/mini";
import type { Job, Queue, Worker } from "bullmq";
import { ConfigError } from "../support/errors.js";
import type { LakeRuntime } from "../support/runtime.js";
import type { BlockStore } from "../support/block-store.js";
import { isDone } from "./blocks.js";
import { runBlock, type BlockEnv, type BlockOutcome, type BlockProgress } from "./block-runner.js";
import type { BackfillPlan } from "./backfill.js";
import type { SourceRegistry } from "../support/registry.js";

export const queueOptionsSchema = z.strictObject({
  /** redis://host:port; default the secret REDIS_URL. */
  url: z.optional(z.string()),
  queueName: z._default(z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/)), "lake-blocks"),
  /** Key prefix in Redis. */
  prefix: z._default(z.string(), "bull"),
  /** Tries of a block with transient failures (the first run included). */
  attempts: z._default(z.int().check(z.minimum(1)), 5),
  /** First retry delay; doubles each time. */
  backoffMs: z._default(z.int().check(z.minimum(0)), 5_000),
  /** A job whose worker stops renewing its lock for this long is moved back to wait (crashed worker). */
  lockMs: z._default(z.int().check(z.minimum(500)), 30_000),
  stalledIntervalMs: z._default(z.int().check(z.minimum(500)), 30_000),
  /** How long a job waits before trying again when its block is leased elsewhere. */
  busyDelayMs: z._default(z.int().check(z.minimum(10)), 5_000),
  /** Completed jobs kept in Redis (failed jobs are all kept). */
  keepCompleted: z._default(z.int().check(z.minimum(0)), 10_000),
});
export type QueueSettings = z.infer<typeof queueOptionsSchema> & { url: string };

export function queueSettings(runtime: LakeRuntime): QueueSettings {
  const spec = runtime.config.queue;
  if (spec.driver !== "bullmq") {
    throw new ConfigError(
      `The queue driver is "${spec.driver}": set queue: {driver: bullmq, options: {url: redis://…}} (or REDIS_URL) to enqueue; \`lake backfill\` runs blocks in process`,
    );
  }
  const parsed = queueOptionsSchema.safeParse(spec.options ?? {});
  if (!parsed.success) throw new ConfigError(`queue.options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const url = parsed.data.url ?? runtime.secrets.get("REDIS_URL");
  if (!url) throw new ConfigError("queue (bullmq): no Redis: set queue.options.url or the environment variable REDIS_URL");
  return { ...parsed.data, url };
}

export interface BlockJobData {
  runId: string;
  source: string;
  stage: string;
  day: string;
  /** Stages of the day still to run after this one, in order. */
  next: string[];
  force: boolean;
  debug: boolean;
}

function connection(s: QueueSettings) {
  return { url: s.url, maxRetriesPerRequest: null };
}

function jobId(d: Pick<BlockJobData, "runId" | "source" | "stage" | "day">): string {
  return `${d.runId}.${d.source}.${d.stage}.${d.day}`;
}

function jobOptions(s: QueueSettings, data: BlockJobData) {
  return {
    jobId: jobId(data),
    attempts: s.attempts,
    backoff: { type: "exponential" as const, delay: s.backoffMs },
    removeOnComplete: { count: s.keepCompleted },
    removeOnFail: false,
  };
}

export async function openQueue(s: QueueSettings): Promise<Queue<BlockJobData>> {
  const { Queue } = await import("bullmq");
  return new Queue<BlockJobData>(s.queueName, { connection: connection(s), prefix: s.prefix });
}

export interface EnqueueResult {
  runId: string;
  jobs: BlockJobData[];
  /** Days left out because every selected stage is already done (--incomplete-only). */
  doneDays: string[];
}

/**
 * One job per day for its first stage to run (later stages follow as each finishes). With incompleteOnly the day
 * starts at its first stage not done; dryRun adds nothing and marks nothing.
 */
export async function enqueuePlan(
  s: QueueSettings,
  store: BlockStore,
  plan: BackfillPlan,
  opts: { runId: string; force?: boolean; debug?: boolean; incompleteOnly?: boolean; dryRun?: boolean; now?: () => number },
): Promise<EnqueueResult> {
  const now = opts.now ?? Date.now;
  const status = new Map<string, string>();
  if (opts.incompleteOnly && plan.days.length) {
    for (const b of await store.list({ source: plan.source, from: plan.days[0]! })) status.set(`${b.stage}|${b.day}`, b.status);
  }
  const jobs: BlockJobData[] = [];
  const doneDays: string[] = [];
  for (const day of plan.days) {
    const first = opts.incompleteOnly ? plan.stages.findIndex((st) => !isDone(status.get(`${st}|${day}`))) : 0;
    if (first < 0) {
      doneDays.push(day);
      continue;
    }
    jobs.push({
      runId: opts.runId,
      source: plan.source,
      stage: plan.stages[first]!,
      day,
      next: plan.stages.slice(first + 1),
      force: Boolean(opts.force),
      debug: Boolean(opts.debug),
    });
  }
  if (opts.dryRun || jobs.length === 0) return { runId: opts.runId, jobs, doneDays };
  for (const j of jobs) await store.markPending(j, now(), `queued (run ${j.runId})`);
  const queue = await openQueue(s);
  try {
    await queue.addBulk(jobs.map((data) => ({ name: data.stage, data, opts: jobOptions(s, data) })));
  } finally {
    await queue.close();
  }
  return { runId: opts.runId, jobs, doneDays };
}

export interface WorkerOptions {
  runtime: LakeRuntime;
  registry: SourceRegistry;
  store: BlockStore;
  settings: QueueSettings;
  owner: string;
  concurrency: number;
  progress?: BlockProgress;
  /** Stop when the queue has nothing waiting, delayed or active (one-shot runs, tests, benchmarks). */
  untilEmpty?: boolean;
  /** Resolves to stop gracefully (the CLI wires SIGTERM/SIGINT to it). */
  stopSignal?: Promise<unknown>;
  now?: () => number;
  onOutcome?: (o: BlockOutcome) => void;
}

export interface WorkerResult {
  outcomes: BlockOutcome[];
  seconds: number;
}

/** Runs jobs until stopped (or the queue is empty with untilEmpty). The current blocks finish before it returns. */
export async function runWorker(o: WorkerOptions): Promise<WorkerResult> {
  const { Worker, Queue, UnrecoverableError, DelayedError } = await import("bullmq");
  const s = o.settings;
  const t0 = Date.now();
  const env: BlockEnv = { runtime: o.runtime, store: o.store, registry: o.registry, owner: o.owner, leaseMs: o.runtime.config.blocks.leaseMs, ...(o.now ? { now: o.now } : {}) };
  const queue = new Queue<BlockJobData>(s.queueName, { connection: connection(s), prefix: s.prefix });
  const outcomes: BlockOutcome[] = [];
  const counts = async () => {
    const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children");
    return Object.values(c).reduce((a, b) => a + b, 0);
  };
  o.progress?.start(outcomes.length + (await counts()));

  const processor = async (job: Job<BlockJobData>, token?: string): Promise<{ status: string }> => {
    const d = job.data;
    const key = { source: d.source, stage: d.stage, day: d.day };
    let out: BlockOutcome;
    try {
      out = await runBlock(env, key, { force: d.force, debug: d.debug });
    } catch (err) {
      // ConfigError: retrying cannot help.
      throw new UnrecoverableError(`${d.stage} ${d.day}: ${(err as Error).message}`);
    }
    if (out.status === "busy") {
      await job.moveToDelayed(Date.now() + s.busyDelayMs, token);
      throw new DelayedError(`${d.stage} ${d.day} is leased elsewhere: ${out.message}`);
    }
    outcomes.push(out);
    o.onOutcome?.(out);
    if (isDone(out.status) && d.next.length > 0) {
      const data: BlockJobData = { ...d, stage: d.next[0]!, next: d.next.slice(1) };
      await o.store.markPending(data, (o.now ?? Date.now)(), `queued after ${d.stage} (run ${d.runId})`);
      await queue.add(data.stage, data, jobOptions(s, data));
    }
    // Total = done here + still queued (this job is still active in the counts).
    if (o.progress) {
      o.progress.setTotal(outcomes.length + Math.max(0, (await counts().catch(() => 1)) - 1));
      o.progress.done(out);
    }
    if (out.status === "failed") {
      const msg = `${d.stage} ${d.day}: ${out.message ?? "failed"}`;
      if (out.errorKind === "transient") throw new Error(msg);
      throw new UnrecoverableError(msg);
    }
    return { status: out.status };
  };

  const worker: Worker<BlockJobData> = new Worker<BlockJobData>(s.queueName, processor, {
    connection: connection(s),
    prefix: s.prefix,
    concurrency: o.concurrency,
    lockDuration: s.lockMs,
    stalledInterval: s.stalledIntervalMs,
    maxStalledCount: 3,
  });
  worker.on("error", (err) => o.progress?.log(`worker: ${err.message}`));

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      resolve();
    };
    o.stopSignal?.then(stop, stop);
    if (o.untilEmpty) {
      const poll = setInterval(async () => {
        if (stopping) return clearInterval(poll);
        try {
          if ((await counts()) === 0) {
            clearInterval(poll);
            stop();
          }
        } catch {
          // Redis hiccup: poll again
        }
      }, 200);
    }
  });
  await stopped;
  // Graceful: no new jobs; active blocks finish (their leases are released, their successors enqueued).
  await worker.close();
  await queue.close();
  o.progress?.stop();
  return { outcomes, seconds: (Date.now() - t0) / 1000 };
}

export interface DeadLetter {
  id: string;
  source: string;
  stage: string;
  day: string;
  attempts: number;
  reason: string;
  failedAt: number | null;
}

export async function deadLetters(s: QueueSettings): Promise<DeadLetter[]> {
  const queue = await openQueue(s);
  try {
    const failed = await queue.getFailed(0, -1);
    return failed.map((j) => ({
      id: String(j.id),
      source: j.data.source,
      stage: j.data.stage,
      day: j.data.day,
      attempts: j.attemptsMade,
      reason: j.failedReason,
      failedAt: j.finishedOn ?? null,
    }));
  } finally {
    await queue.close();
  }
}

/** Moves every dead letter back to wait (after the cause was fixed). */
export async function retryDeadLetters(s: QueueSettings): Promise<number> {
  const queue = await openQueue(s);
  try {
    const failed = await queue.getFailed(0, -1);
    for (const j of failed) await j.retry("failed");
    return failed.length;
  } finally {
    await queue.close();
  }
}
