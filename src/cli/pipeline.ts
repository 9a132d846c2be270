/** `lake pipeline <source|all> [standard flags]`: a source's stages in order over one window. */
import type { Command } from "commander";
import { setCode } from "./shared.js";

export function register(program: Command): void {
  program
    .command("pipeline")
    .description("run a source's stages in order over one window (`all` = every source); the standard stage flags apply")
    .argument("<source>", "source code, or all")
    .argument("[flags...]", "standard flags: -r, -s, -e, -F, -0, -o, --debug, --json, --config (see `lake pipeline wt --help`)")
    .allowUnknownOption()
    .helpOption(false)
    .passThroughOptions()
    .action(async (source: string, flags: string[], _opts: unknown, self: Command) => {
      const { pipelineAction } = await import("./actions.js");
      setCode(self, await pipelineAction(source, flags));
    });
}
