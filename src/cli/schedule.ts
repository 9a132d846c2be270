/** `lake schedule [--crontab]`: the nightly plan of every source, in the lake's zone. */
import type { Command } from "commander";
import { logger } from "./log.js";
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
    .description("print the schedule (nightly stages, hourly block sweeps; local time, window flags); --crontab prints crontab lines")
    .option("--crontab", "crontab lines (CRON_TZ = the lake's zone, PATH, log folder created); install: `lake schedule --crontab > lake.cron && crontab lake.cron`")
    .option("--cwd <dir>", "with --crontab: the project folder the jobs run in (default: the working folder)")
    .option("--log-dir <dir>", "with --crontab: folder of the jobs' log files (default <home>/logs)")
    .option("--repair-at <HH:MM>", "with --crontab: also a nightly `lake backfill <source> --incomplete-only` per source at this time")
    .option("--repair-days <n>", "days back the repair sweep covers", "35")
    .option("--config <file>", "configuration file (default: the one found; passed to every job)")
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

/** The command that runs this lake from cron: node and the package's bin/lake.js (no npx: it could download). */
export async function lakeCommand(): Promise<string[]> {
  const { existsSync } = await import("node:fs");
  const path = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const bin = path.join(dir, "bin", "lake.js");
    if (existsSync(bin) && existsSync(path.join(dir, "package.json"))) return [process.execPath, bin];
    const up = path.dirname(dir);
    if (up === dir) throw new Error("lake schedule: cannot find the package's bin/lake.js above this module");
    dir = up;
  }
}

/** Environment variables of this shell that change the configuration and that cron would not have. */
const CARRIED_ENV = ["LAKE_HOME", "LAKE_ZONE", "LAKE_SECRETS_FILE"] as const;

export async function scheduleAction(flags: ScheduleFlags, deps: ActionDeps & { env?: NodeJS.ProcessEnv; warn?: (s: string) => void } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const env = deps.env ?? process.env;
  const warn = deps.warn ?? ((s: string) => logger().warn(s.trimEnd()));
  return withRuntime(flags, deps, async (runtime) => {
    const path = await import("node:path");
    const { buildSchedule, formatCrontab, formatScheduleTable } = await import("../orchestration/schedule.js");
    const { defaultRegistry } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const pipelines = await registry.all();
    const jobs = buildSchedule(pipelines, runtime.config.schedule);
    // Everything is computed before the first byte goes out: on an error stdout stays empty (`> lake.cron` keeps no
    // half crontab) and the exit code is not 0.
    let text: string;
    if (flags.json) text = `${JSON.stringify({ zone: runtime.zone, jobs })}\n`;
    else if (flags.crontab) {
      const config = flags.config ?? runtime.configFile;
      const carried: Record<string, string> = {};
      for (const name of CARRIED_ENV) {
        const v = env[name];
        if (v) carried[name] = name === "LAKE_ZONE" ? v : path.resolve(v);
      }
      const dropped = Object.keys(env).filter((k) => k.startsWith("LAKE__"));
      if (dropped.length) warn(`lake schedule: the cron jobs do not see ${dropped.join(", ")} of this shell: put those settings in the config file\n`);
      text = formatCrontab(jobs, {
        zone: runtime.zone,
        cwd: path.resolve(flags.cwd ?? process.cwd()),
        logDir: path.resolve(flags.logDir ?? path.join(runtime.home, "logs")),
        lake: await lakeCommand(),
        path: [...new Set([path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"])].join(":"),
        env: carried,
        ...(flags.repairAt ? { repair: { time: flags.repairAt, days: repairDays(flags.repairDays), sources: pipelines.map((p) => p.code) } } : {}),
        ...(config ? { config: path.resolve(config) } : {}),
      });
    } else text = formatScheduleTable(jobs, runtime.zone);
    out(text);
    return 0;
  });
}
