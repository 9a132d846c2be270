/** `lake run <stage> [flags]`: one stage, holding its days' block leases. */
import type { Command } from "commander";
import { LOG_FLAGS_HELP } from "./log.js";
import { runWithNotice, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export function register(program: Command): void {
  program
    .command("run")
    .description("run one stage, e.g. `lake run wt-insert-lake -s 7`, holding its days' block leases; `lake run <stage> --help` lists its flags")
    .argument("<stage>", "stage name (see `lake list`)")
    .argument("[flags...]", "the stage's flags")
    .allowUnknownOption()
    .helpOption(false)
    .passThroughOptions()
    .action(async (stage: string, flags: string[], _opts, cmd: Command) => {
      if (stage === "--help" || stage === "-h") {
        process.stdout.write(`${cmd.helpInformation()}\nThe stages: \`lake list\`; a stage's flags: \`lake run <stage> --help\`.\n\n${LOG_FLAGS_HELP}\n`);
        return setCode(cmd, 0);
      }
      setCode(cmd, await runStageAction(stage, flags));
    });
}

/**
 * `lake run <stage> [flags]`: one stage, holding the block leases of its window (unless -0 or --no-leases), so a
 * cron run that overlaps another run, a backfill or a worker never processes the same day at the same time.
 */
export async function runStageAction(stage: string, argv: string[], deps: ActionDeps = {}): Promise<number> {
  const { defaultRegistry } = await import("./runner.js");
  const { buildCommand, parseOptions } = await import("./runner.js");
  const { printSummary, exitCodeFor, reportError } = await import("./runner.js");
  const out = deps.out ?? stdout;
  try {
    const entry = await (deps.registry ?? (await defaultRegistry())).stage(stage);
    if (argv.includes("--help") || argv.includes("-h")) {
      out(`${buildCommand(entry.App).helpInformation()}  --no-leases                   do not take the block leases of the window\n\n${LOG_FLAGS_HELP}\n`);
      return 0;
    }
    const noLeases = argv.includes("--no-leases");
    const options = parseOptions(entry.App, argv.filter((a) => a !== "--no-leases"));
    return await withRuntime({ ...(options.config ? { config: String(options.config) } : {}) }, deps, async (runtime) => {
      const { attachConsole } = await import("./runner.js");
      const { runStage } = await import("./runner.js");
      const detach = await attachConsole(runtime.events, { quiet: Boolean(options.json), debug: Boolean(options.debug) });
      const notice = { command: `lake run ${stage}`, debug: Boolean(options.debug), simulate: Boolean(options.simulate) };
      try {
        return await runWithNotice(runtime, notice, { label: "run", wanted: !noLeases && !options.simulate, deps }, async (held) => {
          const summary = await runStage(runtime, entry.App, options, held);
          printSummary(summary, Boolean(options.json), out);
          return { code: exitCodeFor(summary), summary };
        });
      } finally {
        detach();
      }
    }, [stage]);
  } catch (err) {
    return reportError(err);
  }
}
