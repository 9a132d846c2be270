/**
 * The `lake` CLI: one module per command (src/cli/<command>.ts: its flags and its action). Light to import: an
 * action loads what it needs when it runs, so `lake --help` does no I/O and needs no service.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { redactProcessOutput } from "../util/redact.js";
import { aliasTable, rewriteAliases } from "../support/flags.js";
import { exitCodeOf, flagsOf } from "./shared.js";
import { configureLogger, LOG_FLAGS_HELP, LogFlagError, logger, takeLogFlags } from "./log.js";
import { register as registerRun } from "./run.js";
import { register as registerList } from "./list.js";
import { register as registerDemo } from "./demo.js";
import { register as registerBackfill } from "./backfill.js";
import { register as registerEnqueue } from "./enqueue.js";
import { register as registerWorker } from "./worker.js";
import { register as registerPipeline } from "./pipeline.js";
import { register as registerSchedule } from "./schedule.js";
import { register as registerCoverage } from "./coverage.js";
import { register as registerServe } from "./serve.js";
import { register as registerAudit } from "./audit.js";
import { register as registerRepair } from "./repair.js";
import { register as registerDoctor } from "./doctor.js";

/** Written in by the build (scripts/build.mjs); undefined when the sources run directly. */
declare const LAKE_VERSION: string | undefined;

function version(): string {
  if (typeof LAKE_VERSION === "string") return LAKE_VERSION;
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}

function buildProgram(): Command {
  const program = new Command("lake")
    .description("Data-lake ETL: sensor data through raw → standardized → ready → published, with a catalog and a compare loop")
    .version(version(), "-V, --version", "print the version of lakeflow")
    .enablePositionalOptions()
    .exitOverride();
  registerRun(program);
  registerList(program);
  registerDemo(program);
  registerBackfill(program);
  registerEnqueue(program);
  registerWorker(program);
  registerPipeline(program);
  registerSchedule(program);
  registerCoverage(program);
  registerServe(program);
  registerAudit(program);
  registerRepair(program);
  registerDoctor(program);
  // The logging flags apply to every command (runCli takes them out of the arguments): each help says so.
  program.addHelpText("after", `\n${LOG_FLAGS_HELP}`);
  program.addHelpText("after", "\nA source's own commands, where it declares some: lake <source> --help (lake list names them).");
  for (const c of program.commands) c.addHelpText("after", `\n${LOG_FLAGS_HELP}`);
  return program;
}

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
}

export async function runCli(argv: string[]): Promise<number> {
  // Every line the process prints, its own and any library's, passes the secret redactor.
  redactProcessOutput();
  // `lake list | head`: a reader that closed the pipe ends the output, not the process with an EPIPE trace.
  if (!process.stdout.listeners("error").includes(onStdoutError)) process.stdout.on("error", onStdoutError);
  // -v/--verbose, -q/--quiet and --log-format set the process's logger, whatever the command.
  try {
    const taken = takeLogFlags(argv);
    argv = taken.argv;
    configureLogger({ level: "info", format: "text", ...taken.settings });
  } catch (err) {
    if (!(err instanceof LogFlagError)) throw err;
    logger().error(err.message);
    return 2;
  }
  const program = buildProgram();
  // `lake <source> …`: a source's own commands, loaded only when a command line names that source.
  const first = argv[0];
  if (first && !first.startsWith("-") && !program.commands.some((c) => c.name() === first || c.aliases().includes(first))) {
    const { registerSourceCommands } = await import("./source-commands.js");
    await registerSourceCommands(program, first);
  }
  const code = exitCodeOf(program);
  // A command's flag aliases (--time-min, --from, --start_date, ...) become its flags before commander parses.
  const sub = program.commands.find((c) => c.name() === argv[0]);
  const args = sub && flagsOf(sub).length ? [argv[0]!, ...rewriteAliases(argv.slice(1), aliasTable(flagsOf(sub)))] : argv;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const { reportError } = await import("./runner.js");
    return reportError(err);
  }
  return code();
}
