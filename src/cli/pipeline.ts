/** `lake pipeline <source|all> [standard flags]`: a source's stages in order over one window. */
import type { Command } from "commander";
import { UsageError } from "../support/errors.js";
import { runWithNotice, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export function register(program: Command): void {
  program
    .command("pipeline")
    .description("run a source's stages in order over one window (`all` = every source); the standard stage flags apply")
    .argument("<source>", "source code (or several, comma-separated), or all")
    .argument("[flags...]", "standard flags: -r, -s, -e, -F, -0, -o, --debug, --json, --config (see `lake pipeline wt --help`)")
    .allowUnknownOption()
    .helpOption(false)
    .passThroughOptions()
    .action(async (source: string, flags: string[], _opts: unknown, self: Command) => {
      setCode(self, await pipelineAction(source, flags));
    });
}

export async function pipelineAction(target: string, argv: string[], deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const { Command, CommanderError, Option } = await import("commander");
  const { STANDARD_OPTIONS } = await import("./runner.js");
  const { reportError } = await import("./runner.js");
  const cmd = new Command(`lake pipeline ${target}`).exitOverride().allowExcessArguments(false);
  cmd.configureOutput({ writeErr: () => undefined, writeOut: (s) => out(s) });
  for (const o of STANDARD_OPTIONS) cmd.addOption(new Option(o.flags, o.description));
  cmd.addOption(new Option("--no-leases", "do not take the block leases of the window (default: take them, so no backfill or worker runs those blocks meanwhile)"));
  let flags: Record<string, unknown>;
  try {
    cmd.parse(argv, { from: "user" });
    flags = cmd.opts();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help
      return reportError(new UsageError(`lake pipeline: ${err.message.replace(/^error: /, "")} (see --help)`));
    }
    throw err;
  }
  return withRuntime({ ...(flags.config ? { config: String(flags.config) } : {}) }, deps, async (runtime) => {
    if (flags.plan) throw new UsageError("lake pipeline: --plan saves one stage's plan; use `lake run <stage> -0 --plan FILE`");
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
      return await runWithNotice(runtime, notice, { label: "pipeline", wanted: flags.leases !== false && !flags.simulate, deps }, async (held) => {
        const results = await runPipelines(runtime, registry, codes, options, undefined, held);
        if (flags.json) {
          out(`${JSON.stringify({ sources: codes, stages: results.map((r) => ({ source: r.source, stage: r.stage, ...(r.summary ? (({ plan: _p, ...rest }) => rest)(r.summary) : {}), ...(r.error ? { error: r.error } : {}) })) })}\n`);
        } else out(formatPipelineSummary(results));
        const stages = results.map((r) => ({ source: r.source, stage: r.stage, ...(r.summary ? { summary: noticeSummary(r.summary) } : {}), ...(r.error ? { error: r.error } : {}) }));
        return { code: pipelineExitCode(results), stages };
      });
    } finally {
      detach();
    }
  }, "all");
}
