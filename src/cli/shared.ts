/**
 * What the command modules share: the exit-code hand-off, the range flags, and running an action with a runtime.
 * Light to import (every command module imports it for `lake --help`): anything heavy is imported inside a function.
 */
import type { Command } from "commander";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { UsageError } from "../support/errors.js";
import { commanderOption, type FlagSpec } from "../support/flags.js";
import { WarningTally } from "./log.js";
import type { LakeEventBus, RunSummary } from "../support/events.js";
import type { RunNotice } from "../support/notify.js";
import type { LakeRuntime } from "../support/runtime.js";
import type { BlockStore } from "../support/block-store.js";
import type { SourceRegistry } from "../support/registry.js";
import type { PipelineLeases } from "../orchestration/pipeline-run.js";
import type { BlockProgress } from "../orchestration/block-runner.js";

/** The exit code the CLI returns after this command's action (read by src/cli/index.ts). */
export function setCode(cmd: Command, code: number): void {
  (cmd as Command & { exitCodeValue?: number }).exitCodeValue = code;
}

/** The exit code the last action of `program` (or of any of its subcommands) set with setCode; 0 when none did. */
export function exitCodeOf(program: Command): () => number {
  let code = 0;
  program.hook("postAction", (_this, action) => {
    const c = (action as Command & { exitCodeValue?: number }).exitCodeValue;
    if (c !== undefined) code = c;
  });
  return () => code;
}

/** Repeatable option values: --only a --only b,c → ["a", "b,c"] (split later). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface RangeFlags {
  timeMin?: string;
  timeMax?: string;
  interval?: string;
  only?: string[];
  skip?: string[];
  force?: boolean;
  incompleteOnly?: boolean;
  debug?: boolean;
  config?: string;
  json?: boolean;
}

const commandAliases = new WeakMap<Command, FlagSpec[]>();

/** Adds a flag (kebab-case, with aliases) to a command; runCli rewrites the aliases before commander parses. */
export function addFlag(cmd: Command, spec: FlagSpec, required = false): Command {
  const opt = commanderOption(spec);
  if (required) opt.makeOptionMandatory();
  cmd.addOption(opt);
  commandAliases.set(cmd, [...(commandAliases.get(cmd) ?? []), spec]);
  return cmd;
}

/** The flags with aliases a command declared through addFlag. */
export function flagsOf(cmd: Command): FlagSpec[] {
  return commandAliases.get(cmd) ?? [];
}

/** The window flags of every command: -s/--start and -e/--end, a date or N days back (the stages' vocabulary). */
export function addWindowFlags(cmd: Command, what: { start: string; end: string; aliases: [string, string] }): Command {
  addFlag(cmd, { flags: "-s, --start <day>", aliases: [what.aliases[0]], description: what.start });
  return addFlag(cmd, { flags: "-e, --end <day>", aliases: [what.aliases[1]], description: what.end });
}

/** The range flags shared by backfill and enqueue. */
export function addRangeOptions(cmd: Command): Command {
  addWindowFlags(cmd, {
    start: "first day: YYYY-MM-DD or N days back (default: --interval before --end)",
    end: "end day, exclusive: YYYY-MM-DD or N days back (default today; equal to --start = that day)",
    aliases: ["--time-min", "--time-max"],
  });
  addFlag(cmd, { flags: "-0, --dry-run", aliases: ["--simulate"], description: "print the blocks and the command each would run; write nothing" });
  return cmd
    .option("--interval <days>", "range length when --start is not given, e.g. 1d or 7d (6h for hourly sources)", "1d")
    .option("--only <stage>", "run only this stage (repeatable or comma-separated; full name or suffix, e.g. ready)", collect)
    .option("--skip <stage>", "skip this stage (repeatable or comma-separated)", collect)
    .option("--incomplete-only", "only blocks that failed or never ran (succeeded and no-data blocks are left alone)")
    .option("-F, --force", "pass --force to every stage (reprocess items the target already has)")
    .option("--debug", "debug mode: test repositories, publish targets and perfmet tables")
    .option("--config <file>", "configuration file");
}

/** The range flags as parsed (-s/-e) → the range planner's names. */
export function rangeFlags<T extends Record<string, unknown>>(opts: T): T & { timeMin?: string; timeMax?: string } {
  const { start, end, ...rest } = opts as T & { start?: string; end?: string };
  return { ...(rest as T), ...(start !== undefined ? { timeMin: start } : {}), ...(end !== undefined ? { timeMax: end } : {}) };
}

/** Injected for tests and embedding: a runtime (not closed afterwards), a registry, output sinks. */
export interface ActionDeps {
  runtime?: LakeRuntime;
  registry?: SourceRegistry;
  out?: (s: string) => void;
  progress?: BlockProgress;
  /** Lease clock (real time by default). */
  now?: () => number;
}

export function stdout(s: string): void {
  process.stdout.write(s);
}

/**
 * Runs body with a runtime (created from --config unless injected) and closes what it created. `serve` names the
 * stages the command runs ("all" for any): their simulated source systems on a demo lake are started for it.
 */
export async function withRuntime(
  flags: { config?: string },
  deps: ActionDeps,
  body: (runtime: LakeRuntime) => Promise<number>,
  serve?: readonly string[] | "all",
): Promise<number> {
  const { reportError } = await import("./runner.js");
  let runtime: LakeRuntime | undefined;
  let stopSimulated: (() => Promise<void>) | undefined;
  try {
    const { LakeRuntime } = await import("./runner.js");
    // A command-line process has one zone: it becomes the process's (no Intl zone data at start-up).
    runtime = deps.runtime ?? LakeRuntime.create({ ...(flags.config ? { file: flags.config } : {}), processZone: true });
    if (!deps.runtime && serve) {
      const { serveSimulatedSources } = await import("./runner.js");
      const { defaultRegistry } = await import("./runner.js");
      stopSimulated = await serveSimulatedSources(runtime, deps.registry ?? (await defaultRegistry()), serve === "all" ? undefined : serve);
    }
    return await body(runtime);
  } catch (err) {
    return reportError(err);
  } finally {
    await stopSimulated?.();
    if (runtime && !deps.runtime) await runtime.close();
  }
}

/** A day window of -s/-e (a date or N days back, in the lake's zone) as YYYY-MM-DD days. */
export async function windowDays(runtime: LakeRuntime, start: string, end: string): Promise<{ from: string; to: string }> {
  const { parseWindowDay } = await import("../util/dates.js");
  const day = (t: string, flag: string) => parseWindowDay(t, runtime.zone, runtime.clock, flag).toISODate()!;
  return { from: day(start, "-s/--start"), to: day(end, "-e/--end") };
}

/** Most blocks one process runs at once. */
const MAX_CONCURRENCY = 256;

export function parseConcurrency(value: string | number | undefined): number {
  const n = Number(value ?? 1);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, not "${String(value)}"`);
  }
  return n;
}

/** A run's identity in leases and block rows: host, process and a random tag. */
export function makeOwner(tag = "run"): string {
  return `${hostname()}:${process.pid}:${tag}:${randomBytes(3).toString("hex")}`;
}

/**
 * Prints stage failures and warnings of block runs through the progress reporter; a warning repeated for one cause
 * once, its repeats counted in one line when the stage ends (log.ts).
 */
export function relayStageLogs(events: LakeEventBus, progress: BlockProgress): () => void {
  const tally = new WarningTally();
  const warn = (line: string) => (progress.warn ?? progress.log)(line);
  const flush = (app?: string) => tally.flush(app, (message, f) => warn(`${f.app}: ${message}`));
  const offs = [
    events.on("item.failed", (e) => warn(`${e.app}: FAILED ${e.item}: ${e.error}`)),
    events.on("log", (e) => {
      if (e.level === "warn" && tally.add(e.app, e.message)) warn(`${e.app}: ${e.message}`);
      else if (e.level === "error") warn(`${e.app}: ERROR: ${e.message}`);
    }),
    events.on("run.end", (e) => flush(e.app)),
  ];
  return () => {
    flush();
    offs.forEach((off) => off());
  };
}

/**
 * Lease options for runs over a window (`lake pipeline`, `lake run`): the block store of the catalog's database, so
 * cron runs, manual runs, backfills and workers never process one (source, stage, day) at once. None when wanted is
 * false or no block store can be had (e.g. a PostgREST catalog without a blocks section).
 */
export async function windowLeases(
  runtime: LakeRuntime,
  label: string,
  wanted: boolean,
  deps: ActionDeps = {},
): Promise<{ leases: PipelineLeases | undefined; close(): Promise<void> }> {
  if (!wanted) return { leases: undefined, close: async () => undefined };
  const { blockStoreSpec, openBlockStore } = await import("./runner.js");
  try {
    blockStoreSpec(runtime);
  } catch {
    runtime.events.emit("log", { app: label, level: "warn", message: "no block store configured: running without block leases" });
    return { leases: undefined, close: async () => undefined };
  }
  const store: BlockStore = await openBlockStore(runtime);
  const leaseMs = runtime.config.blocks.leaseMs;
  return {
    leases: { store, owner: makeOwner(label), leaseMs, waitMs: 2 * leaseMs, ...(deps.now ? { now: deps.now } : {}) },
    close: () => store.close(),
  };
}

/**
 * A run command's work inside the block leases of its window (when wanted), with its notice sent (support/notify.ts)
 * whatever the outcome: the exit code and report the work returns, or the error it threw (2 for a configuration
 * error, else 1), which is then thrown on.
 */
export async function runWithNotice(
  runtime: LakeRuntime,
  notice: { command: string; debug: boolean; simulate: boolean },
  leases: { label: string; wanted: boolean; deps: ActionDeps },
  work: (held: PipelineLeases | undefined) => Promise<{ code: number; summary?: RunSummary; stages?: RunNotice["stages"] }>,
): Promise<number> {
  const { makeNotice, notifyRun } = await import("./runner.js");
  const { ConfigError } = await import("./runner.js");
  try {
    const held = await windowLeases(runtime, leases.label, leases.wanted, leases.deps);
    try {
      const { code, ...report } = await work(held.leases);
      await notifyRun(runtime, makeNotice({ ...notice, exitCode: code, ...report }));
      return code;
    } finally {
      await held.close();
    }
  } catch (err) {
    await notifyRun(runtime, makeNotice({ ...notice, exitCode: err instanceof ConfigError ? 2 : 1, error: err }));
    throw err;
  }
}
