/** `lake enqueue <source>`: one BullMQ job per day's first block; workers run them (`lake worker`). */
import type { Command } from "commander";
import { addRangeOptions, rangeFlags, setCode, stdout, withRuntime, type ActionDeps, type RangeFlags } from "./shared.js";

export interface EnqueueFlags extends RangeFlags {
  dryRun?: boolean;
  /** Names the run in job ids (default: a time-based id). */
  runId?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("enqueue")
    .description("queue a source's blocks (stage × day) for `lake worker` processes (queue: {driver: bullmq} in the config)")
    .argument("<source>", "source code, e.g. wt");
  addRangeOptions(cmd)
    .option("--run-id <id>", "name of this run in job ids (default: time-based)")
    .option("--json", "print the result as one JSON object")
    .action(async (source: string, opts: Record<string, unknown>, self: Command) => {
      setCode(self, await enqueueAction(source, rangeFlags(opts)));
    });
}

export async function enqueueAction(source: string, flags: EnqueueFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { jobQueue, enqueuePlan } = await import("../orchestration/queue.js");
    const { defaultRegistry } = await import("./runner.js");
    const { planRange } = await import("../orchestration/backfill.js");
    const { openBlockStore } = await import("./runner.js");
    const queue = await jobQueue(runtime, { shared: true });
    const registry = deps.registry ?? (await defaultRegistry());
    const plan = await planRange(runtime, registry, source, flags);
    const store = await openBlockStore(runtime, { readOnly: Boolean(flags.dryRun) });
    try {
      const runId = flags.runId ?? `r${Date.now().toString(36)}`;
      const res = await enqueuePlan(queue, store, plan, {
        runId,
        force: Boolean(flags.force),
        debug: Boolean(flags.debug),
        incompleteOnly: Boolean(flags.incompleteOnly),
        dryRun: Boolean(flags.dryRun),
        ...(deps.now ? { now: deps.now } : {}),
      });
      if (flags.json) {
        out(`${JSON.stringify({ source, queue: queue.queueName, runId, jobs: res.jobs.length, dryRun: Boolean(flags.dryRun), doneDays: res.doneDays, first: res.jobs.map((j) => `${j.stage} ${j.day}`) })}\n`);
      } else {
        const verb = flags.dryRun ? "would enqueue" : "enqueued";
        out(`${verb} ${res.jobs.length} job(s) on queue ${queue.queueName} (run ${runId}); each day's later stages follow as its earlier stage finishes\n`);
        for (const j of res.jobs) out(`  ${j.stage} ${j.day}${j.next.length ? ` → ${j.next.join(" → ")}` : ""}\n`);
        if (res.doneDays.length) out(`  ${res.doneDays.length} day(s) already done: ${res.doneDays.join(", ")}\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  });
}
