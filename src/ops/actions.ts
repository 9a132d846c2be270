/**
 * What the operations commands do, behind their light command modules (src/commands/*.ts import this inside their
 * action). Each action returns the exit code: 0 all done, 1 some block/stage failed, 2 usage or configuration error.
 */
import { reportError } from "../support/cli-entry.js";
import type { LakeEventBus } from "../support/events.js";
import { LakeRuntime } from "../support/runtime.js";
import { openBlockStore, type BlockStore } from "./blocks.js";
import { formatBackfillSummary, runBackfill, type BackfillPlan } from "./backfill.js";
import { createProgress, type BlockProgress } from "./progress.js";
import { defaultRegistry, loadPipeline, makeOwner, rangeDays, selectStages, type OpsRegistry } from "./pipelines.js";

export interface RangeFlags {
  timeMin?: string;
  timeMax?: string;
  interval?: string;
  only?: string[];
  skip?: string[];
  force?: boolean;
  debug?: boolean;
  config?: string;
  json?: boolean;
}

export interface BackfillFlags extends RangeFlags {
  dryRun?: boolean;
  incompleteOnly?: boolean;
  concurrency?: string | number;
  continueOnError?: boolean;
}

/** Injected for tests and embedding: a runtime (not closed afterwards), a registry, output sinks. */
export interface ActionDeps {
  runtime?: LakeRuntime;
  registry?: OpsRegistry;
  out?: (s: string) => void;
  progress?: BlockProgress;
  /** Lease clock (real time by default). */
  now?: () => number;
}

export function stdout(s: string): void {
  process.stdout.write(s);
}

/** Runs body with a runtime (created from --config unless injected) and closes what it created. */
export async function withRuntime(flags: { config?: string }, deps: ActionDeps, body: (runtime: LakeRuntime) => Promise<number>): Promise<number> {
  let runtime: LakeRuntime | undefined;
  try {
    runtime = deps.runtime ?? LakeRuntime.create(flags.config ? { file: flags.config } : {});
    return await body(runtime);
  } catch (err) {
    return reportError(err);
  } finally {
    if (runtime && !deps.runtime) await runtime.close();
  }
}

/** The blocks a range command covers: source, selected stages, days. */
export async function planRange(runtime: LakeRuntime, registry: OpsRegistry, source: string, flags: RangeFlags): Promise<BackfillPlan> {
  const pipeline = await loadPipeline(registry, source);
  const stages = selectStages(pipeline, flags.only, flags.skip);
  const days = rangeDays(
    { ...(flags.timeMin ? { timeMin: flags.timeMin } : {}), ...(flags.timeMax ? { timeMax: flags.timeMax } : {}), ...(flags.interval ? { interval: flags.interval } : {}) },
    runtime.zone,
    runtime.clock,
  );
  return { source, stages, days };
}

/** Prints stage failures and warnings of block runs through the progress reporter. */
export function relayStageLogs(events: LakeEventBus, progress: BlockProgress): () => void {
  const offs = [
    events.on("item.failed", (e) => progress.log(`  ${e.app}: FAILED ${e.item}: ${e.error}`)),
    events.on("log", (e) => {
      if (e.level === "warn" || e.level === "error") progress.log(`  ${e.app}: ${e.level.toUpperCase()}: ${e.message}`);
    }),
  ];
  return () => offs.forEach((off) => off());
}

export async function backfillAction(source: string, flags: BackfillFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { UsageError } = await import("../support/errors.js");
    const concurrency = Number(flags.concurrency ?? 1);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new UsageError(`--concurrency must be a whole number from 1 to 256, not "${String(flags.concurrency)}"`);
    }
    const registry = deps.registry ?? (await defaultRegistry());
    const plan = await planRange(runtime, registry, source, flags);
    let store: BlockStore | undefined;
    const progress = deps.progress ?? createProgress({ quiet: Boolean(flags.json), label: `backfill ${source}` });
    const detach = relayStageLogs(runtime.events, progress);
    try {
      store = await openBlockStore(runtime, { readOnly: Boolean(flags.dryRun) });
      const result = await runBackfill(
        { runtime, store, registry, owner: makeOwner("backfill"), leaseMs: runtime.config.blocks.leaseMs, ...(deps.now ? { now: deps.now } : {}) },
        plan,
        {
          force: Boolean(flags.force),
          dryRun: Boolean(flags.dryRun),
          incompleteOnly: Boolean(flags.incompleteOnly),
          concurrency,
          continueOnError: Boolean(flags.continueOnError),
          debug: Boolean(flags.debug),
        },
        progress,
      );
      if (flags.json) {
        const count = (s: string) => result.outcomes.filter((o) => o.status === s).length;
        out(
          `${JSON.stringify({
            source,
            stages: plan.stages,
            days: plan.days.length,
            blocks: result.outcomes.length,
            succeeded: count("succeeded"),
            noData: count("no-data"),
            failed: count("failed"),
            busy: count("busy"),
            blocked: count("blocked") + count("not-run"),
            doneBefore: count("done-before"),
            planned: count("planned"),
            seconds: result.seconds,
            outcomes: result.outcomes,
          })}\n`,
        );
      } else {
        out(formatBackfillSummary(result));
      }
      if (result.aborted) process.stderr.write(`error: ${result.aborted.message}\n`);
      return result.exitCode;
    } finally {
      detach();
      await store?.close();
    }
  });
}
