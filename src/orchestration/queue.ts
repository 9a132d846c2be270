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
import { ConfigError } from "../support/errors.js";
import type { LakeRuntime } from "../support/runtime.js";
import type { BlockStore } from "../support/block-store.js";
import type { DeadLetter, JobVerdict, QueueDriver } from "../support/drivers.js";
import { isDone } from "./blocks.js";
import { runBlock, type BlockEnv, type BlockOutcome, type BlockProgress } from "./block-runner.js";
import type { BackfillPlan } from "./backfill.js";
import type { SourceRegistry } from "../support/registry.js";
import { secretRedactor } from "../util/redact.js";

/**
 * The configured job queue (`queue:`), from the driver registry behind the driver runtime (every call has its
 * deadline). shared: a queue other processes reach, as `lake enqueue` and `lake worker` need (the in-process queue
 * is refused there: its jobs would end with the command).
 */
export async function jobQueue(runtime: LakeRuntime, opts: { shared?: boolean } = {}): Promise<QueueDriver> {
  const queue = await runtime.driver("queue", false);
  if (opts.shared && !queue.capabilities.shared) {
    throw new ConfigError(
      `The queue driver is "${queue.driverName}", whose jobs live in one process only: set queue: {driver: bullmq, options: {url: redis://…}} (or REDIS_URL) to enqueue; \`lake backfill\` runs blocks in process`,
    );
  }
  return queue;
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

function jobId(d: Pick<BlockJobData, "runId" | "source" | "stage" | "day">): string {
  return `${d.runId}.${d.source}.${d.stage}.${d.day}`;
}

function toJob(data: BlockJobData) {
  return { id: jobId(data), name: data.stage, data };
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
  queue: QueueDriver,
  store: BlockStore,
  plan: BackfillPlan,
  opts: { runId: string; force?: boolean; debug?: boolean; incompleteOnly?: boolean; dryRun?: boolean; now?: () => number },
): Promise<EnqueueResult> {
  const now = opts.now ?? Date.now;
  const status = new Map<string, string>();
  if (opts.incompleteOnly && plan.days.length) {
    for (const b of await store.list({ source: plan.source, from: plan.days[0]!.split("#")[0]! })) status.set(`${b.stage}|${b.day}`, b.status);
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
  // An unreachable queue fails here, within its deadline, before any block is marked queued.
  await queue.pending();
  for (const j of jobs) await store.markPending(j, now(), `queued (run ${j.runId})`);
  await queue.add(jobs.map(toJob));
  return { runId: opts.runId, jobs, doneDays };
}

export interface WorkerOptions {
  runtime: LakeRuntime;
  registry: SourceRegistry;
  store: BlockStore;
  queue: QueueDriver;
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
  const queue = o.queue;
  const t0 = Date.now();
  const env: BlockEnv = { runtime: o.runtime, store: o.store, registry: o.registry, owner: o.owner, leaseMs: o.runtime.config.blocks.leaseMs, ...(o.now ? { now: o.now } : {}) };
  const outcomes: BlockOutcome[] = [];
  // First call: an unreachable queue fails here, within the driver's deadline.
  o.progress?.start(await queue.pending());

  const handler = async (job: { data: unknown }): Promise<JobVerdict> => {
    const d = job.data as BlockJobData;
    const key = { source: d.source, stage: d.stage, day: d.day };
    let out: BlockOutcome;
    try {
      out = await runBlock(env, key, { force: d.force, debug: d.debug });
    } catch (err) {
      // ConfigError: retrying cannot help.
      return { verdict: "fail", reason: `${d.stage} ${d.day}: ${(err as Error).message}` };
    }
    if (out.status === "busy") return { verdict: "busy", reason: `${d.stage} ${d.day} is leased elsewhere: ${out.message}` };
    outcomes.push(out);
    o.onOutcome?.(out);
    if (isDone(out.status) && d.next.length > 0) {
      const data: BlockJobData = { ...d, stage: d.next[0]!, next: d.next.slice(1) };
      await o.store.markPending(data, (o.now ?? Date.now)(), `queued after ${d.stage} (run ${d.runId})`);
      await queue.add([toJob(data)]);
    }
    // Total = done here + still queued (this job is still active in the counts).
    if (o.progress) {
      o.progress.setTotal(outcomes.length + Math.max(0, (await queue.pending().catch(() => 1)) - 1));
      o.progress.done(out);
    }
    if (out.status === "failed") {
      const reason = `${d.stage} ${d.day}: ${out.message ?? "failed"}`;
      return { verdict: out.errorKind === "transient" ? "retry" : "fail", reason };
    }
    return { verdict: "done" };
  };

  // A verdict's reason is kept by the queue (the dead letters): secrets masked like every block message.
  const masked = async (job: { data: unknown }): Promise<JobVerdict> => secretRedactor.redactDeep(await handler(job));
  const consumer = await queue.consume(masked, { concurrency: o.concurrency, onError: (err) => o.progress?.log(`worker: ${err.message}`) });

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
          if ((await queue.pending()) === 0) {
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
  await consumer.close();
  o.progress?.stop();
  return { outcomes, seconds: (Date.now() - t0) / 1000 };
}

/** The dead letters of block jobs. */
export async function deadLetters(queue: QueueDriver): Promise<(DeadLetter & BlockJobData)[]> {
  return (await queue.deadLetters()).map((d) => ({ ...d, ...(d.data as BlockJobData) }));
}
