/** Small helpers of the operations command modules (no imports: command modules must stay light). */
import type { Command } from "commander";

/** The exit code the CLI returns after this command's action (read by src/cli.ts). */
export function setCode(cmd: Command, code: number): void {
  (cmd as Command & { exitCodeValue?: number }).exitCodeValue = code;
}

/** Repeatable option values: --only a --only b,c → ["a", "b,c"] (split later). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The range flags shared by backfill and enqueue. */
export function addRangeOptions(cmd: Command): Command {
  return cmd
    .option("--time-min <day>", "first day, YYYY-MM-DD or N days back (default: --interval before --time-max)")
    .option("--time-max <day>", "end day, exclusive (YYYY-MM-DD or N days back; default today; equal to --time-min = that day)")
    .option("--interval <days>", "range length when --time-min is not given, e.g. 1d or 7d", "1d")
    .option("--only <stage>", "run only this stage (repeatable or comma-separated; full name or suffix, e.g. ready)", collect)
    .option("--skip <stage>", "skip this stage (repeatable or comma-separated)", collect)
    .option("--incomplete-only", "only blocks that failed or never ran (succeeded and no-data blocks are left alone)")
    .option("-F, --force", "pass --force to every stage (reprocess items the target already has)")
    .option("--debug", "debug mode: test repositories, publish targets and perfmet tables")
    .option("--config <file>", "configuration file");
}
