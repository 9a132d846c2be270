/** `lake coverage <source> --from D --to D`: day × layer counts from the catalog, gaps marked. */
import type { Command } from "commander";
import { setCode } from "./shared.js";

export function register(program: Command): void {
  program
    .command("coverage")
    .description("day × layer matrix (raw, standardized, ready, aggregated, published) of a source from the catalog, gaps marked")
    .argument("<source>", "source code, e.g. gs")
    .requiredOption("--from <day>", "first day, YYYY-MM-DD")
    .requiredOption("--to <day>", "end day, exclusive (equal to --from = that day)")
    .option("--json", "print the report as JSON")
    .option("--fail-on-gaps", "exit 1 when a day is missing or partial")
    .option("--html <file>", "also write the report as a web page")
    .option("--debug", "report the debug (test) repositories")
    .option("--config <file>", "configuration file")
    .action(async (source: string, opts: Record<string, unknown>, self: Command) => {
      const { coverageAction } = await import("./actions.js");
      setCode(self, await coverageAction(source, opts));
    });
}
