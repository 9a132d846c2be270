/** `lake coverage <source> --from D --to D`: day × layer counts from the catalog, gaps marked. */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { addWindowFlags, setCode, stdout, windowDays, withRuntime, type ActionDeps } from "./shared.js";

export interface CoverageFlags {
  from?: string;
  to?: string;
  json?: boolean;
  debug?: boolean;
  config?: string;
  /** Exit 1 when a day is missing or partial (for monitoring). */
  failOnGaps?: boolean;
  /** Also write the report as a web page to this file. */
  html?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("coverage")
    .description("day × layer matrix (raw, standardized, ready, aggregated, published) of a source from the catalog, gaps marked")
    .argument("<source>", "source code, e.g. gs");
  addWindowFlags(cmd, { start: "first day: YYYY-MM-DD or N days back (required)", end: "end day, exclusive: YYYY-MM-DD or N days back (required; equal to --start = that day)", aliases: ["--from", "--to"] })
    .option("--json", "print the report as JSON")
    .option("--fail-on-gaps", "exit 1 when a day is missing or partial")
    .option("--html <file>", "also write the report as a web page")
    .option("--debug", "report the debug (test) repositories")
    .option("--config <file>", "configuration file")
    .action(async (source: string, opts: Record<string, unknown> & { start?: string; end?: string }, self: Command) => {
      const { start, end, ...rest } = opts;
      setCode(self, await coverageAction(source, { ...rest, ...(start ? { from: start } : {}), ...(end ? { to: end } : {}) }));
    });
}

export async function coverageAction(source: string, flags: CoverageFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    if (!flags.from || !flags.to) throw new UsageError("lake coverage: -s/--start and -e/--end are required (YYYY-MM-DD or N days back; --end is exclusive)");
    const { from, to } = await windowDays(runtime, flags.from, flags.to);
    const { coverageReport, formatCoverage, formatCoverageHtml } = await import("../orchestration/coverage.js");
    const { defaultRegistry } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const pipeline = await registry.source(source);
    const report = await coverageReport(runtime, pipeline, { from, to, debug: Boolean(flags.debug) });
    out(flags.json ? `${JSON.stringify(report)}\n` : formatCoverage(report, pipeline.name));
    if (flags.html) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(flags.html, formatCoverageHtml(report, pipeline.name));
    }
    return flags.failOnGaps && report.gaps.length > 0 ? 1 : 0;
  });
}
