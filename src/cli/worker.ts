/** `lake worker`: runs queued blocks (BullMQ) with leases; SIGTERM lets the current blocks finish. */
import type { Command } from "commander";
import { logger } from "./log.js";
import { makeOwner, parseConcurrency, relayStageLogs, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export interface WorkerFlags {
  concurrency?: string | number;
  deadLetters?: boolean;
  retryDeadLetters?: boolean;
  untilEmpty?: boolean;
  config?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("worker")
    .description("process queued blocks until stopped (SIGTERM/SIGINT: current blocks finish); also lists dead letters")
    .option("--concurrency <n>", "blocks run at once by this worker", "1")
    .option("--until-empty", "exit when the queue has nothing waiting, delayed or active")
    .option("--dead-letters", "list failed jobs (terminal failures and exhausted retries) and exit")
    .option("--retry-dead-letters", "move every failed job back to the queue and exit")
    .option("--config <file>", "configuration file")
    .option("--json", "print the summary as one JSON object")
    .action(async (opts: Record<string, unknown>, self: Command) => {
      setCode(self, await workerAction(opts));
    });
}

export async function workerAction(flags: WorkerFlags, deps: ActionDeps & { stopSignal?: Promise<unknown> } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const q = await import("../orchestration/queue.js");
    const queue = await q.jobQueue(runtime, { shared: true });
    if (flags.deadLetters) {
      const dead = (await q.deadLetters(queue)).map(({ data: _data, next: _next, ...d }) => d);
      if (flags.json) out(`${JSON.stringify(dead)}\n`);
      else {
        out(`${dead.length} dead letter(s) on queue ${queue.queueName}\n`);
        for (const d of dead) {
          const at = d.failedAt ? new Date(d.failedAt).toISOString() : "?";
          out(`  ${d.stage} ${d.day} (job ${d.id}, ${d.attempts} attempt(s), failed ${at}): ${d.reason}\n`);
        }
      }
      return 0;
    }
    if (flags.retryDeadLetters) {
      out(`moved ${await queue.retryDeadLetters()} dead letter(s) back to wait\n`);
      return 0;
    }
    const { defaultRegistry } = await import("./runner.js");
    const { openBlockStore } = await import("./runner.js");
    const { createProgress } = await import("./progress.js");
    const concurrency = parseConcurrency(flags.concurrency);
    const registry = deps.registry ?? (await defaultRegistry());
    const store = await openBlockStore(runtime);
    const progress = deps.progress ?? createProgress({ quiet: Boolean(flags.json), label: `worker ${queue.queueName}` });
    const detach = relayStageLogs(runtime.events, progress);
    // First SIGTERM/SIGINT: take no new job, let the current blocks finish (leases released). Second: leave now; the
    // jobs' locks and the blocks' leases expire and another worker retries them.
    let signals = 0;
    let onSignal: () => void = () => undefined;
    const signalled = new Promise<void>((resolve) => {
      onSignal = () => {
        signals++;
        if (signals === 1) {
          const notice = "stopping: the current blocks finish, no new job is taken (signal again to leave at once)";
          if (flags.json) logger().warn(notice, { app: "worker" });
          else progress.log(notice);
          resolve();
        } else process.exit(130);
      };
    });
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    try {
      const res = await q.runWorker({
        runtime,
        registry,
        store,
        queue,
        owner: makeOwner("worker"),
        concurrency,
        progress,
        untilEmpty: Boolean(flags.untilEmpty),
        stopSignal: deps.stopSignal ? Promise.race([deps.stopSignal, signalled]) : signalled,
        ...(deps.now ? { now: deps.now } : {}),
      });
      const count = (s: string) => res.outcomes.filter((o) => o.status === s).length;
      const summary = { blocks: res.outcomes.length, succeeded: count("succeeded"), noData: count("no-data"), failed: count("failed"), seconds: res.seconds };
      if (flags.json) out(`${JSON.stringify(summary)}\n`);
      else out(`worker: ${summary.blocks} block(s): ${summary.succeeded} succeeded, ${summary.noData} no-data, ${summary.failed} failed in ${summary.seconds.toFixed(1)} s\n`);
      return summary.failed > 0 ? 1 : 0;
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      detach();
      await store.close();
    }
  }, "all");
}
