/** `lake worker`: runs queued blocks (BullMQ) with leases; SIGTERM lets the current blocks finish. */
import type { Command } from "commander";
import { setCode } from "./shared.js";

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
      const { workerAction } = await import("./actions.js");
      setCode(self, await workerAction(opts));
    });
}
