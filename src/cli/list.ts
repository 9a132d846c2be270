/** `lake list`: the stages and what each does. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("list")
    .description("list the stages and sources")
    .action(async () => {
      const { defaultRegistry } = await import("./runner.js");
      for (const source of await (await defaultRegistry()).all()) {
        process.stdout.write(`${source.code}: ${source.name}${source.description ? ` — ${source.description}` : ""}\n`);
        for (const s of source.stages) process.stdout.write(`  ${s.name.padEnd(22)} ${s.decl.description}\n`);
      }
    });
}
