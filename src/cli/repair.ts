/** `lake repair <source> --day D [-0] [--json]`: delete a day's published rows at the destination and publish it again. */
import type { Command } from "commander";
import type { RepairReport } from "../orchestration/repair.js";
import type { SourceRegistry } from "../support/registry.js";
import type { LakeRuntime } from "../support/runtime.js";
import { runWithNotice, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export interface RepairFlags {
  day?: string;
  simulate?: boolean;
  json?: boolean;
  debug?: boolean;
  config?: string;
}

export function register(program: Command): void {
  program
    .command("repair")
    .description("delete a day's published rows at the destination and publish the day again (both recorded in perfmet)")
    .argument("<source>", "source code, e.g. wt")
    .requiredOption("--day <day>", "the day, YYYY-MM-DD")
    .option("-0, --simulate", "show the plan: what would be deleted and republished (alias --dry-run)")
    .option("--dry-run", "same as -0")
    .option("--json", "print the report as JSON")
    .option("--debug", "the debug (test) datasets")
    .option("--config <file>", "configuration file")
    .action(async (source: string, opts: RepairFlags & { dryRun?: boolean }, self: Command) => {
      setCode(self, await repairAction(source, { ...opts, simulate: Boolean(opts.simulate || opts.dryRun) }));
    });
}

export async function repairAction(source: string, flags: RepairFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { formatRepair } = await import("../orchestration/repair.js");
    const { defaultRegistry, attachConsole } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const detach = await attachConsole(runtime.events, { quiet: Boolean(flags.json), debug: Boolean(flags.debug) });
    try {
      const { code, report } = await repairUnderLeases(runtime, registry, source, String(flags.day), flags, deps);
      out(flags.json ? `${JSON.stringify(report)}\n` : formatRepair(report));
      return code;
    } finally {
      detach();
    }
  });
}

/**
 * A repair as a run command does it (the CLI's and the console's): inside the block leases of the publish stages'
 * day, its notice sent whatever the outcome. Exit code 1 when a republish failed.
 */
export async function repairUnderLeases(
  runtime: LakeRuntime,
  registry: SourceRegistry,
  source: string,
  day: string,
  flags: { simulate?: boolean | undefined; debug?: boolean | undefined },
  deps: ActionDeps = {},
): Promise<{ code: number; report: RepairReport }> {
  const { repairDay } = await import("../orchestration/repair.js");
  const { noticeSummary } = await import("./runner.js");
  const simulate = Boolean(flags.simulate);
  let report: RepairReport | undefined;
  const notice = { command: `lake repair ${source} --day ${day}`, debug: Boolean(flags.debug), simulate };
  const code = await runWithNotice(runtime, notice, { label: "repair", wanted: !simulate, deps }, async (leases) => {
    report = await repairDay(runtime, registry, source, day, { simulate, debug: Boolean(flags.debug), leases });
    const failed = report.stages.some((s) => s.failed > 0);
    return { code: failed ? 1 : 0, stages: report.stages.map((s) => ({ source, stage: s.app, summary: noticeSummary(s) })) };
  });
  return { code, report: report! };
}
