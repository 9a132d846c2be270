/**
 * Running a stage from a terminal: console subscriber, summary printing (--json last line), exit codes
 * (0 all ok, 1 some items failed, 2 usage or configuration error).
 */
import { CommanderError } from "commander";
import type { MainFn } from "../support/etl-app.js";
import { ConfigError, TerminalError, TransientError, fsErrorMessage, isSystemError } from "../support/errors.js";
import { redact, redactProcessOutput } from "../util/redact.js";
import type { RunSummary } from "../support/events.js";
import { LakeEventBus } from "../support/events.js";
import { attachConsole } from "./console.js";
import { configureLogger, takeLogFlags, logger } from "./log.js";

/** Exit code of a run that was not run at all: every block of it skipped (e.g. its entity is disabled). */
export const EXIT_SKIPPED = 3;

/** 1 when something failed; 3 when the run had blocks and every one was skipped (nothing was run); else 0. */
export function exitCodeFor(summary: RunSummary): number {
  if (summary.failed > 0) return 1;
  if (summary.blocks?.length && summary.blocks.every((b) => b.status === "skipped")) return EXIT_SKIPPED;
  return 0;
}

export function printSummary(summary: RunSummary, json: boolean, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (json) {
    const { plan, ...rest } = summary;
    // `rows` names the row count beside the items; `records` is kept (the original's name, earlier readers).
    out(`${JSON.stringify({ ...rest, rows: rest.records, ...(plan ? { planned: plan.length } : {}) })}\n`);
    return;
  }
  // Items (what the stage works on) and rows (records of data) are two units, each named (events.ts RunSummary).
  const head = `${summary.app}: ${summary.processed} items processed, ${summary.skipped} skipped, ${summary.failed} failed; ${summary.records} rows written in ${summary.seconds.toFixed(2)} s`;
  out(`${head}\n`);
  for (const [reason, n] of Object.entries(summary.skipReasons)) out(`  skipped ${n} ${n === 1 ? "item" : "items"}: ${reason}\n`);
  for (const [reason, n] of Object.entries(summary.rowsLeftOut ?? {})) out(`  left out ${n} ${n === 1 ? "row" : "rows"}: ${reason}\n`);
  for (const f of summary.failures) out(`  FAILED ${f.item}: ${f.error}${f.terminal ? " (failed-terminal: the same failure on consecutive runs; later runs skip it until its source changes, or -F)" : ""}\n`);
  if (summary.plan) {
    out(`  simulation plan (${summary.plan.length} writes, nothing written):\n`);
    for (const p of summary.plan.slice(0, 200)) out(`    ${p.kind} → ${p.target}: ${p.detail}\n`);
    if (summary.plan.length > 200) out(`    … ${summary.plan.length - 200} more (save them all with --plan FILE)\n`);
  }
}

/**
 * Maps an error to the exit code and prints it clearly: the framework's own errors (configuration, transient,
 * terminal) as their message, which says what, where and what to do; a stack only for an unexpected error or under
 * --debug. Whatever is printed passes the secret redactor.
 */
export function reportError(err: unknown, debug = process.argv.includes("--debug")): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  const known = err instanceof ConfigError || err instanceof TransientError || err instanceof TerminalError;
  // A file-system error names its path and what to do; its stack only under --debug.
  if (isSystemError(err) && !debug) {
    logger().error(redact(fsErrorMessage(err)));
    return 1;
  }
  const text = err instanceof Error ? (debug || !known ? (err.stack ?? err.message) : `${err.name}: ${err.message}`) : String(err);
  logger().error(redact(err instanceof ConfigError && !debug ? err.message : text));
  return err instanceof ConfigError ? 2 : 1;
}

/** Runs a stage's main with the process arguments (a compiled stage file executed as a script, see script.ts). */
export async function runMainCli(main: MainFn, args: string[]): Promise<number> {
  redactProcessOutput();
  let argv: string[];
  try {
    const taken = takeLogFlags(args);
    configureLogger({ level: "info", format: "text", ...taken.settings });
    argv = taken.argv;
  } catch (err) {
    logger().error((err as Error).message);
    return 2;
  }
  const events = new LakeEventBus();
  const json = argv.includes("--json");
  const detach = await attachConsole(events, { quiet: json, debug: argv.includes("--debug") });
  try {
    const summary = await main(argv, { events });
    printSummary(summary, json);
    return exitCodeFor(summary);
  } catch (err) {
    return reportError(err);
  } finally {
    detach();
  }
}
