/** `lake schedule [--crontab]`: the nightly plan of every source, in the lake's zone. */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export interface ScheduleFlags {
  crontab?: boolean;
  json?: boolean;
  config?: string;
  /** Folder the cron jobs cd into (default the working folder). */
  cwd?: string;
  /** Folder of the cron jobs' log files (default <home>/logs). */
  logDir?: string;
  /** With --crontab: HH:MM of a nightly `lake backfill --incomplete-only` per source. */
  repairAt?: string;
  /** Days back the repair sweep covers (default 35). */
  repairDays?: string | number;
}

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
      setCode(self, await scheduleAction(opts));
    });
}

function repairDays(value: string | number | undefined): number {
  const n = Number(value ?? 35);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--repair-days must be a whole number of days, not "${String(value)}"`);
  return n;
}

export async function scheduleAction(flags: ScheduleFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const path = await import("node:path");
    const { buildSchedule, formatCrontab, formatScheduleTable } = await import("../orchestration/schedule.js");
    const { defaultRegistry } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const pipelines = await registry.all();
    const jobs = buildSchedule(pipelines, runtime.config.schedule);
    if (flags.json) out(`${JSON.stringify({ zone: runtime.zone, jobs })}\n`);
    else if (flags.crontab) {
      const cwd = path.resolve(flags.cwd ?? process.cwd());
      out(
        formatCrontab(jobs, {
          zone: runtime.zone,
          cwd,
          logDir: path.resolve(flags.logDir ?? path.join(runtime.home, "logs")),
          ...(flags.repairAt ? { repair: { time: flags.repairAt, days: repairDays(flags.repairDays), sources: pipelines.map((p) => p.code) } } : {}),
          ...(flags.config ? { config: path.resolve(flags.config) } : {}),
        }),
      );
    } else out(formatScheduleTable(jobs, runtime.zone));
    return 0;
  });
}
