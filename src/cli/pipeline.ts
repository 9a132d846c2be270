/** `lake pipeline <source|all> [standard flags]`: a source's stages in order over one window. */
import type { Command } from "commander";
import { LOG_FLAGS_HELP } from "./log.js";
import { UsageError } from "../support/errors.js";
import { runWithNotice, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export function register(program: Command): void {
  program
    .command("pipeline")
    .description("run a source's stages in order over one window (`all` = every source); the standard stage flags apply")
    .argument("<source>", "source code (or several, comma-separated), or all")
    .argument("[flags...]", "standard flags: -r, -s, -e, -F, -0, -o, --debug, --json, --config, --no-leases (see `lake pipeline --help`)")
    .allowUnknownOption()
    .helpOption(false)
    .passThroughOptions()
    .action(async (source: string, flags: string[], _opts: unknown, self: Command) => {
      setCode(self, await pipelineAction(source, flags));
    });
}

/** The flags of `lake pipeline`: the standard stage flags but --plan (one stage's), and --no-leases. */
async function pipelineFlags() {
  const { STANDARD_OPTIONS } = await import("./runner.js");
  return [
    ...STANDARD_OPTIONS.filter((o) => !o.flags.includes("--plan")),
    { flags: "--no-leases", description: "do not take the block leases of the window (default: take them, so no backfill or worker runs those blocks meanwhile)" },
  ];
}

export async function pipelineAction(target: string, argv: string[], deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const { CommanderError } = await import("commander");
  const { flagCommand, parseFlags } = await import("./runner.js");
  const { reportError } = await import("./runner.js");
  const options = await pipelineFlags();
  const help = target === "--help" || target === "-h";
  const cmd = flagCommand(help ? "lake pipeline <source|all>" : `lake pipeline ${target}`, "run a source's stages in order over one window (`all` = every source)", options, out);
  cmd.addHelpText("after", `\n${LOG_FLAGS_HELP}`);
  let flags: Record<string, unknown>;
  try {
    flags = parseFlags(cmd, options, help ? ["--help"] : argv, "lake pipeline");
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : reportError(err); // --help
    return reportError(err);
  }
  return withRuntime({ ...(flags.config ? { config: String(flags.config) } : {}) }, deps, async (runtime) => {
    const { attachConsole } = await import("./runner.js");
    const { defaultRegistry } = await import("./runner.js");
    const { runPipelines, formatPipelineSummary, pipelineExitCode } = await import("./runner.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const codes = target === "all" ? registry.codes() : target.split(",").filter(Boolean);
    const options: Record<string, unknown> = {};
    for (const k of ["last_run_date", "start_date", "end_date", "force", "simulate", "output_filepath", "debug"]) {
      if (flags[k] !== undefined) options[k] = flags[k];
    }
    const { noticeSummary } = await import("./runner.js");
    const detach = await attachConsole(runtime.events, { quiet: Boolean(flags.json), debug: Boolean(flags.debug) });
    const notice = { command: `lake pipeline ${target}`, debug: Boolean(flags.debug), simulate: Boolean(flags.simulate) };
    try {
      return await runWithNotice(runtime, notice, { label: "pipeline", wanted: !flags.no_leases && !flags.simulate, deps }, async (held) => {
        const results = await runPipelines(runtime, registry, codes, options, undefined, held, undefined, target === "all");
        if (flags.json) {
          out(`${JSON.stringify({ sources: codes, stages: results.map((r) => ({ source: r.source, stage: r.stage, ...(r.summary ? (({ plan: _p, ...rest }) => ({ ...rest, rows: rest.records }))(r.summary) : {}), ...(r.error ? { error: r.error } : {}), ...(r.notRun !== undefined ? { notRun: r.notRun } : {}) })) })}\n`);
        } else out(formatPipelineSummary(results));
        const stages = results.map((r) => ({ source: r.source, stage: r.stage, ...(r.summary ? { summary: noticeSummary(r.summary) } : {}), ...(r.error ? { error: r.error } : {}) }));
        return { code: pipelineExitCode(results), stages };
      });
    } finally {
      detach();
    }
  }, "all");
}
