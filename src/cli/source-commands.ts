/**
 * `lake <source> <command> …`: the commands a source declares itself (SourceDeclaration.commands, e.g.
 * `lake feeds enable <job>`). Only the source a command line names is loaded, so no source costs start-up time
 * and the framework's command line holds no source's facts.
 */
import { Command, CommanderError } from "commander";
import type { SourceCommand } from "../support/kit.js";
import type { SourceRegistry } from "../support/registry.js";
import { exitCodeOf, setCode, stdout, withRuntime, type ActionDeps } from "./shared.js";

export interface SourceCommandDeps extends ActionDeps {
  /** Stdin as text (default: the process's). */
  input?: () => Promise<string>;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts).toString("utf8");
}

async function registryOf(deps: SourceCommandDeps): Promise<SourceRegistry> {
  if (deps.registry) return deps.registry;
  const { defaultRegistry } = await import("./runner.js");
  return defaultRegistry();
}

function addCommand(top: Command, c: SourceCommand, deps: SourceCommandDeps): void {
  const words = c.name.split(" ").filter(Boolean);
  let parent = top;
  for (const w of words.slice(0, -1)) parent = parent.commands.find((x) => x.name() === w) ?? parent.command(w).description(`${top.name()} ${w} …`);
  const cmd = parent.command(words[words.length - 1]!).description(c.description);
  for (const a of c.args ?? []) cmd.argument(`<${a.name}>`, a.description);
  for (const o of c.options ?? []) cmd.option(o.flags, o.description);
  cmd.option("--debug", "the debug catalog and repositories").option("--config <file>", "configuration file (default: lake.config.* here, or $LAKE_HOME)");
  cmd.action(async (...given: unknown[]) => {
    const self = given[given.length - 1] as Command;
    const opts = self.opts() as Record<string, unknown>;
    const args = given.slice(0, c.args?.length ?? 0).map(String);
    const code = await withRuntime(opts.config ? { config: String(opts.config) } : {}, deps, async (runtime) => {
      const { openBlockStore } = await import("../orchestration/blocks.js");
      const ctx = { runtime, debug: Boolean(opts.debug), out: deps.out ?? stdout, input: deps.input ?? readStdin, blockStore: () => openBlockStore(runtime) };
      return (await c.run(args, opts, ctx)) ?? 0;
    });
    setCode(self, code);
  });
}

/**
 * Adds `lake <code>` with its commands when `code` is a source that declares some; false otherwise (the caller's
 * "unknown command" stands). Loads that one source only.
 */
export async function registerSourceCommands(program: Command, code: string, deps: SourceCommandDeps = {}): Promise<boolean> {
  const registry = await registryOf(deps);
  if (!registry.has(code)) return false;
  const source = await registry.source(code);
  const commands = await source.loadCommands();
  if (commands.length === 0) return false;
  const top = program.command(code).description(`${source.name}: the source's own commands`);
  for (const c of commands) addCommand(top, c, deps);
  return true;
}

/** Runs `lake <code> <argv…>` in this process (tests and embedders); the exit code as the command line gives it. */
export async function sourceCommandAction(code: string, argv: string[], deps: SourceCommandDeps = {}): Promise<number> {
  const program = new Command("lake").exitOverride().configureOutput({ writeOut: (s) => (deps.out ?? stdout)(s), writeErr: (s) => process.stderr.write(s) });
  if (!(await registerSourceCommands(program, code, deps))) {
    process.stderr.write(`error: source ${code} has no commands of its own\n`);
    return 2;
  }
  // The source's commands, made after exitOverride and configureOutput, inherit them.
  const exit = exitCodeOf(program);
  try {
    await program.parseAsync([code, ...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exit();
}
