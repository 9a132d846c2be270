/** `lake backfill <source>`: every (stage, day) block over a range, in process, with status and leases. */
import type { Command } from "commander";
import { addRangeOptions, setCode } from "./shared.js";

export function register(program: Command): void {
  const cmd = program
    .command("backfill")
    .description("run a source's stages for every day of a range (blocks = stage × day) with block status and leases")
    .argument("<source>", "source code, e.g. wt");
  addRangeOptions(cmd)
    .option("--dry-run", "print the blocks and the command each would run; write nothing")
    .option("--concurrency <n>", "days run in parallel (each day's stages stay in order)", "1")
    .option("--continue-on-error", "go on with other days after a block fails (default: stop starting new blocks)")
    .option("--json", "print the summary as one JSON object")
    .action(async (source: string, opts: Record<string, unknown>, self: Command) => {
      const { backfillAction } = await import("./actions.js");
      setCode(self, await backfillAction(source, opts));
    });
}
