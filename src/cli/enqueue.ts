/** `lake enqueue <source>`: one BullMQ job per day's first block; workers run them (`lake worker`). */
import type { Command } from "commander";
import { addRangeOptions, setCode } from "./shared.js";

export function register(program: Command): void {
  const cmd = program
    .command("enqueue")
    .description("queue a source's blocks (stage × day) for `lake worker` processes (queue: {driver: bullmq} in the config)")
    .argument("<source>", "source code, e.g. wt");
  addRangeOptions(cmd)
    .option("--dry-run", "print the jobs that would be queued; queue and write nothing")
    .option("--run-id <id>", "name of this run in job ids (default: time-based)")
    .option("--json", "print the result as one JSON object")
    .action(async (source: string, opts: Record<string, unknown>, self: Command) => {
      const { enqueueAction } = await import("./actions.js");
      setCode(self, await enqueueAction(source, opts));
    });
}
