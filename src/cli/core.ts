/** Core commands: run a stage, list stages, run the demo. */
import type { Command } from "commander";
import { setCode } from "./shared.js";

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
      const { runStageAction } = await import("./actions.js");
      setCode(cmd, await runStageAction(stage, flags));
    });

  program
    .command("list")
    .description("list the stages and sources")
    .action(async () => {
      const { entryNames, loadEntry } = await import("../entries/index.js");
      for (const name of entryNames()) {
        const { App } = await loadEntry(name);
        process.stdout.write(`${name.padEnd(22)} ${App.definition.description}\n`);
      }
    });

  program
    .command("demo")
    .description("create simulated sources (two weeks spanning 2024-11-03) and run every pipeline on the embedded default")
    .option("--dir <dir>", "lake home folder for the demo", "demo-lake")
    .option("--sources <codes>", "comma-separated sources to include (default: all)")
    .option("--json", "print the summary as JSON on the last line")
    .action(async (opts: { dir: string; sources?: string; json?: boolean }, cmd: Command) => {
      const { runDemo } = await import("../orchestration/demo.js");
      const { reportError } = await import("./entry.js");
      try {
        setCode(cmd, await runDemo({ dir: opts.dir, ...(opts.sources ? { sources: opts.sources.split(",") } : {}), json: Boolean(opts.json) }));
      } catch (err) {
        setCode(cmd, reportError(err));
      }
    });
}
