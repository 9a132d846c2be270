/** `lake schedule [--crontab]`: the nightly plan of every source, in the lake's zone. */
import type { Command } from "commander";
import { setCode } from "./shared.js";

export function register(program: Command): void {
  program
    .command("schedule")
    .description("print the nightly schedule (stage, local time, window flags); --crontab prints crontab lines")
    .option("--crontab", "crontab lines (CRON_TZ = the lake's zone) calling `npx lake run ...`")
    .option("--cwd <dir>", "with --crontab: the project folder the jobs run in (default: the working folder)")
    .option("--log-dir <dir>", "with --crontab: folder of the jobs' log files (default <home>/logs)")
    .option("--repair-at <HH:MM>", "with --crontab: also a nightly `lake backfill <source> --incomplete-only` per source at this time")
    .option("--repair-days <n>", "days back the repair sweep covers", "35")
    .option("--config <file>", "configuration file (also passed to every job)")
    .option("--json", "print the schedule as JSON")
    .action(async (opts: Record<string, unknown>, self: Command) => {
      const { scheduleAction } = await import("./actions.js");
      setCode(self, await scheduleAction(opts));
    });
}
