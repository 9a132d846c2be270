/** `lake list`: the stages and what each does. */
import type { Command } from "commander";

export function register(program: Command): void {
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
}
