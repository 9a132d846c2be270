/** `lake list [--json]`: the sources, their stages and their own commands, what each does. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("list")
    .description("list the sources and their stages")
    .option("--json", "print the sources and stages as JSON")
    .action(async (opts: { json?: boolean }) => {
      const { defaultRegistry } = await import("./runner.js");
      const sources = await (await defaultRegistry()).all();
      const commands = new Map(await Promise.all(sources.map(async (s) => [s.code, await s.loadCommands()] as const)));
      if (opts.json) {
        const list = sources.map((s) => ({
          code: s.code,
          name: s.name,
          ...(s.description ? { description: s.description } : {}),
          ...(s.partition ? { grain: s.partition.grain } : {}),
          stages: s.stages.map((st) => ({ name: st.name, description: st.decl.description })),
          ...(commands.get(s.code)!.length ? { commands: commands.get(s.code)!.map((c) => ({ name: `${s.code} ${c.name}`, description: c.description })) } : {}),
        }));
        process.stdout.write(`${JSON.stringify({ sources: list })}\n`);
        return;
      }
      for (const source of sources) {
        process.stdout.write(`${source.code}: ${source.name}${source.description ? ` — ${source.description}` : ""}\n`);
        for (const s of source.stages) process.stdout.write(`  ${s.name.padEnd(22)} ${s.decl.description}\n`);
        for (const c of commands.get(source.code)!) process.stdout.write(`  lake ${`${source.code} ${c.name}`.padEnd(17)} ${c.description}\n`);
      }
    });
}
