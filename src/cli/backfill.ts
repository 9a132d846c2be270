/** `lake backfill <source>`: every (stage, day) block over a range, in process, with status and leases. */
import type { Command } from "commander";
import { logger } from "./log.js";
import type { BlockStore } from "../support/block-store.js";
import { addRangeOptions, rangeFlags, makeOwner, parseConcurrency, relayStageLogs, setCode, stdout, withRuntime, type ActionDeps, type RangeFlags } from "./shared.js";

export interface BackfillFlags extends RangeFlags {
  dryRun?: boolean;
  concurrency?: string | number;
  continueOnError?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("backfill")
    .description("run a source's stages for every day of a range (blocks = stage × day) with block status and leases")
    .argument("<source>", "source code, e.g. wt");
  addRangeOptions(cmd)
    .option("--concurrency <n>", "days run in parallel (each day's stages stay in order)", "1")
    .option("--continue-on-error", "go on with other days after a block fails (default: stop starting new blocks)")
    .option("--json", "print the summary as one JSON object")
    .action(async (source: string, opts: Record<string, unknown>, self: Command) => {
      setCode(self, await backfillAction(source, rangeFlags(opts)));
    });
}

export async function backfillAction(source: string, flags: BackfillFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { defaultRegistry } = await import("./runner.js");
    const { formatBackfillSummary, planRange, runBackfill } = await import("../orchestration/backfill.js");
    const { openBlockStore } = await import("./runner.js");
    const { createProgress } = await import("./progress.js");
    const concurrency = parseConcurrency(flags.concurrency);
    const registry = deps.registry ?? (await defaultRegistry());
    const plan = await planRange(runtime, registry, source, flags);
    let store: BlockStore | undefined;
    const progress = deps.progress ?? createProgress({ quiet: Boolean(flags.json), label: `backfill ${source}` });
    const detach = relayStageLogs(runtime.events, progress);
    try {
      store = await openBlockStore(runtime, { readOnly: Boolean(flags.dryRun) });
      // First SIGINT/SIGTERM: start no more blocks, let the running ones finish (statuses and leases stay right).
      let interrupted = false;
      const onSignal = () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        progress.log("stopping: running blocks finish, no new block starts (signal again to leave at once)");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
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
          shouldStop: () => interrupted,
        },
        progress,
      ).finally(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      });
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
      if (result.aborted) logger().error(result.aborted.message);
      return result.exitCode;
    } finally {
      detach();
      await store?.close();
    }
  }, "all");
}
