/**
 * What the operations commands do, behind their light command modules (src/commands/*.ts import this inside their
 * action). Each action returns the exit code: 0 all done, 1 some block/stage failed, 2 usage or configuration error.
 */
import { reportError } from "./entry.js";
import { UsageError } from "../support/errors.js";
import type { LakeEventBus } from "../support/events.js";
import { LakeRuntime } from "../support/runtime.js";
import { serveSimulatedSources } from "../orchestration/simulated.js";
import { blockSource, openBlockStore, type BlockStore } from "../orchestration/blocks.js";
import { formatBackfillSummary, runBackfill, type BackfillPlan } from "../orchestration/backfill.js";
import { createProgress, type BlockProgress } from "./progress.js";
import { defaultRegistry, loadPipeline, makeOwner, rangeDays, selectStages, type OpsRegistry } from "../orchestration/pipelines.js";

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

export interface BackfillFlags extends RangeFlags {
  dryRun?: boolean;
  concurrency?: string | number;
  continueOnError?: boolean;
}

/** Injected for tests and embedding: a runtime (not closed afterwards), a registry, output sinks. */
export interface ActionDeps {
  runtime?: LakeRuntime;
  registry?: OpsRegistry;
  out?: (s: string) => void;
  progress?: BlockProgress;
  /** Lease clock (real time by default). */
  now?: () => number;
}

export function stdout(s: string): void {
  process.stdout.write(s);
}

/** Runs body with a runtime (created from --config unless injected) and closes what it created. */
export async function withRuntime(flags: { config?: string }, deps: ActionDeps, body: (runtime: LakeRuntime) => Promise<number>): Promise<number> {
  let runtime: LakeRuntime | undefined;
  let stopSimulated: (() => Promise<void>) | undefined;
  try {
    runtime = deps.runtime ?? LakeRuntime.create(flags.config ? { file: flags.config } : {});
    if (!deps.runtime) stopSimulated = await serveSimulatedSources(runtime);
    return await body(runtime);
  } catch (err) {
    return reportError(err);
  } finally {
    await stopSimulated?.();
    if (runtime && !deps.runtime) await runtime.close();
  }
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

/** The blocks a range command covers: source, selected stages, days. */
export async function planRange(runtime: LakeRuntime, registry: OpsRegistry, source: string, flags: RangeFlags): Promise<BackfillPlan> {
  const pipeline = await loadPipeline(registry, source);
  const stages = selectStages(pipeline, flags.only, flags.skip);
  const days = rangeDays(
    { ...(flags.timeMin ? { timeMin: flags.timeMin } : {}), ...(flags.timeMax ? { timeMax: flags.timeMax } : {}), ...(flags.interval ? { interval: flags.interval } : {}) },
    runtime.zone,
    runtime.clock,
  );
  return { source: blockSource(source, Boolean(flags.debug)), stages, days };
}

/** Prints stage failures and warnings of block runs through the progress reporter. */
export function relayStageLogs(events: LakeEventBus, progress: BlockProgress): () => void {
  const offs = [
    events.on("item.failed", (e) => progress.log(`  ${e.app}: FAILED ${e.item}: ${e.error}`)),
    events.on("log", (e) => {
      if (e.level === "warn" || e.level === "error") progress.log(`  ${e.app}: ${e.level.toUpperCase()}: ${e.message}`);
    }),
  ];
  return () => offs.forEach((off) => off());
}

export async function backfillAction(source: string, flags: BackfillFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const concurrency = parseConcurrency(flags.concurrency);
    const registry = deps.registry ?? (await defaultRegistry());
    const plan = await planRange(runtime, registry, source, flags);
    let store: BlockStore | undefined;
    const progress = deps.progress ?? createProgress({ quiet: Boolean(flags.json), label: `backfill ${source}` });
    const detach = relayStageLogs(runtime.events, progress);
    try {
      store = await openBlockStore(runtime, { readOnly: Boolean(flags.dryRun) });
      // First SIGINT/SIGTERM: start no more blocks, let the running ones finish (statuses and leases stay right).
      let interrupted = false;
      const onSignal = () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        progress.log("stopping: running blocks finish, no new block starts (signal again to leave at once)");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const result = await runBackfill(
        { runtime, store, registry, owner: makeOwner("backfill"), leaseMs: runtime.config.blocks.leaseMs, ...(deps.now ? { now: deps.now } : {}) },
        plan,
        {
          force: Boolean(flags.force),
          dryRun: Boolean(flags.dryRun),
          incompleteOnly: Boolean(flags.incompleteOnly),
          concurrency,
          continueOnError: Boolean(flags.continueOnError),
          debug: Boolean(flags.debug),
          shouldStop: () => interrupted,
        },
        progress,
      ).finally(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      });
      if (flags.json) {
        const count = (s: string) => result.outcomes.filter((o) => o.status === s).length;
        out(
          `${JSON.stringify({
            source,
            stages: plan.stages,
            days: plan.days.length,
            blocks: result.outcomes.length,
            succeeded: count("succeeded"),
            noData: count("no-data"),
            failed: count("failed"),
            busy: count("busy"),
            blocked: count("blocked") + count("not-run"),
            doneBefore: count("done-before"),
            planned: count("planned"),
            seconds: result.seconds,
            outcomes: result.outcomes,
          })}\n`,
        );
      } else {
        out(formatBackfillSummary(result));
      }
      if (result.aborted) process.stderr.write(`error: ${result.aborted.message}\n`);
      return result.exitCode;
    } finally {
      detach();
      await store?.close();
    }
  });
}

export interface EnqueueFlags extends RangeFlags {
  dryRun?: boolean;
  /** Names the run in job ids (default: a time-based id). */
  runId?: string;
}

export async function enqueueAction(source: string, flags: EnqueueFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const { queueSettings, enqueuePlan } = await import("../orchestration/queue.js");
    const settings = queueSettings(runtime);
    const registry = deps.registry ?? (await defaultRegistry());
    const plan = await planRange(runtime, registry, source, flags);
    const store = await openBlockStore(runtime, { readOnly: Boolean(flags.dryRun) });
    try {
      const runId = flags.runId ?? `r${Date.now().toString(36)}`;
      const res = await enqueuePlan(settings, store, plan, {
        runId,
        force: Boolean(flags.force),
        debug: Boolean(flags.debug),
        incompleteOnly: Boolean(flags.incompleteOnly),
        dryRun: Boolean(flags.dryRun),
        ...(deps.now ? { now: deps.now } : {}),
      });
      if (flags.json) {
        out(`${JSON.stringify({ source, queue: settings.queueName, runId, jobs: res.jobs.length, dryRun: Boolean(flags.dryRun), doneDays: res.doneDays, first: res.jobs.map((j) => `${j.stage} ${j.day}`) })}\n`);
      } else {
        const verb = flags.dryRun ? "would enqueue" : "enqueued";
        out(`${verb} ${res.jobs.length} job(s) on queue ${settings.queueName} (run ${runId}); each day's later stages follow as its earlier stage finishes\n`);
        for (const j of res.jobs) out(`  ${j.stage} ${j.day}${j.next.length ? ` → ${j.next.join(" → ")}` : ""}\n`);
        if (res.doneDays.length) out(`  ${res.doneDays.length} day(s) already done: ${res.doneDays.join(", ")}\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  });
}

export interface WorkerFlags {
  concurrency?: string | number;
  deadLetters?: boolean;
  retryDeadLetters?: boolean;
  untilEmpty?: boolean;
  config?: string;
  json?: boolean;
}

export async function workerAction(flags: WorkerFlags, deps: ActionDeps & { stopSignal?: Promise<unknown> } = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const q = await import("../orchestration/queue.js");
    const settings = q.queueSettings(runtime);
    if (flags.deadLetters) {
      const dead = await q.deadLetters(settings);
      if (flags.json) out(`${JSON.stringify(dead)}\n`);
      else {
        out(`${dead.length} dead letter(s) on queue ${settings.queueName}\n`);
        for (const d of dead) {
          const at = d.failedAt ? new Date(d.failedAt).toISOString() : "?";
          out(`  ${d.stage} ${d.day} (job ${d.id}, ${d.attempts} attempt(s), failed ${at}): ${d.reason}\n`);
        }
      }
      return 0;
    }
    if (flags.retryDeadLetters) {
      out(`moved ${await q.retryDeadLetters(settings)} dead letter(s) back to wait\n`);
      return 0;
    }
    const concurrency = parseConcurrency(flags.concurrency);
    const registry = deps.registry ?? (await defaultRegistry());
    const store = await openBlockStore(runtime);
    const progress = deps.progress ?? createProgress({ quiet: Boolean(flags.json), label: `worker ${settings.queueName}` });
    const detach = relayStageLogs(runtime.events, progress);
    // First SIGTERM/SIGINT: take no new job, let the current blocks finish (leases released). Second: leave now; the
    // jobs' locks and the blocks' leases expire and another worker retries them.
    let signals = 0;
    let onSignal: () => void = () => undefined;
    const signalled = new Promise<void>((resolve) => {
      onSignal = () => {
        signals++;
        if (signals === 1) {
          const notice = "stopping: the current blocks finish, no new job is taken (signal again to leave at once)";
          if (flags.json) process.stderr.write(`worker: ${notice}\n`);
          else progress.log(notice);
          resolve();
        } else process.exit(130);
      };
    });
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    try {
      const res = await q.runWorker({
        runtime,
        registry,
        store,
        settings,
        owner: makeOwner("worker"),
        concurrency,
        progress,
        untilEmpty: Boolean(flags.untilEmpty),
        stopSignal: deps.stopSignal ? Promise.race([deps.stopSignal, signalled]) : signalled,
        ...(deps.now ? { now: deps.now } : {}),
      });
      const count = (s: string) => res.outcomes.filter((o) => o.status === s).length;
      const summary = { blocks: res.outcomes.length, succeeded: count("succeeded"), noData: count("no-data"), failed: count("failed"), seconds: res.seconds };
      if (flags.json) out(`${JSON.stringify(summary)}\n`);
      else out(`worker: ${summary.blocks} block(s): ${summary.succeeded} succeeded, ${summary.noData} no-data, ${summary.failed} failed in ${summary.seconds.toFixed(1)} s\n`);
      return summary.failed > 0 ? 1 : 0;
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      detach();
      await store.close();
    }
  });
}

/** `lake pipeline <source|all> [standard flags]`. */
export async function pipelineAction(target: string, argv: string[], deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const { Command, CommanderError, Option } = await import("commander");
  const { STANDARD_OPTIONS } = await import("../support/etl-app.js");
  const cmd = new Command(`lake pipeline ${target}`).exitOverride().allowExcessArguments(false);
  cmd.configureOutput({ writeErr: () => undefined, writeOut: (s) => out(s) });
  for (const o of STANDARD_OPTIONS) cmd.addOption(new Option(o.flags, o.description));
  cmd.addOption(new Option("--no-leases", "do not take the block leases of the window (default: take them, so no backfill or worker runs those blocks meanwhile)"));
  let flags: Record<string, unknown>;
  try {
    cmd.parse(argv, { from: "user" });
    flags = cmd.opts();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help
      return reportError(new UsageError(`lake pipeline: ${err.message.replace(/^error: /, "")} (see --help)`));
    }
    throw err;
  }
  return withRuntime({ ...(flags.config ? { config: String(flags.config) } : {}) }, deps, async (runtime) => {
    if (flags.plan) throw new UsageError("lake pipeline: --plan saves one stage's plan; use `lake run <stage> -0 --plan FILE`");
    const { attachConsole } = await import("./console.js");
    const { runPipelines, formatPipelineSummary, pipelineExitCode } = await import("../orchestration/pipeline-run.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const codes = target === "all" ? Object.keys(registry.sources) : [target];
    const options: Record<string, unknown> = {};
    for (const k of ["last_run_date", "start_date", "end_date", "force", "simulate", "output_filepath", "debug"]) {
      if (flags[k] !== undefined) options[k] = flags[k];
    }
    const detach = attachConsole(runtime.events, { quiet: Boolean(flags.json), debug: Boolean(flags.debug) });
    const held = await windowLeases(runtime, "pipeline", flags.leases !== false && !flags.simulate, deps);
    try {
      const results = await runPipelines(runtime, registry, codes, options, undefined, held.leases);
      if (flags.json) {
        out(`${JSON.stringify({ sources: codes, stages: results.map((r) => ({ source: r.source, stage: r.stage, ...(r.summary ? (({ plan: _p, ...rest }) => rest)(r.summary) : {}), ...(r.error ? { error: r.error } : {}) })) })}\n`);
      } else out(formatPipelineSummary(results));
      return pipelineExitCode(results);
    } finally {
      detach();
      await held.close();
    }
  });
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
): Promise<{ leases: import("../orchestration/pipeline-run.js").PipelineLeases | undefined; close(): Promise<void> }> {
  if (!wanted) return { leases: undefined, close: async () => undefined };
  const { blockStoreSpec } = await import("../orchestration/blocks.js");
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
 * `lake run <stage> [flags]`: one stage, holding the block leases of its window (unless -0 or --no-leases), so a
 * cron run that overlaps another run, a backfill or a worker never processes the same day at the same time.
 */
export async function runStageAction(stage: string, argv: string[], deps: ActionDeps = {}): Promise<number> {
  const { loadEntry } = await import("../entries/index.js");
  const { buildCommand, parseOptions } = await import("../support/etl-app.js");
  const { printSummary, exitCodeFor } = await import("./entry.js");
  const out = deps.out ?? stdout;
  try {
    const entry = await loadEntry(stage);
    if (argv.includes("--help") || argv.includes("-h")) {
      out(`${buildCommand(entry.App).helpInformation()}  --no-leases                   do not take the block leases of the window\n`);
      return 0;
    }
    const noLeases = argv.includes("--no-leases");
    const options = parseOptions(entry.App, argv.filter((a) => a !== "--no-leases"));
    return await withRuntime({ ...(options.config ? { config: String(options.config) } : {}) }, deps, async (runtime) => {
      const { attachConsole } = await import("./console.js");
      const { runStage } = await import("../orchestration/pipeline-run.js");
      const detach = attachConsole(runtime.events, { quiet: Boolean(options.json), debug: Boolean(options.debug) });
      const held = await windowLeases(runtime, "run", !noLeases && !options.simulate, deps);
      try {
        const summary = await runStage(runtime, entry.App, options, held.leases);
        printSummary(summary, Boolean(options.json), out);
        return exitCodeFor(summary);
      } finally {
        detach();
        await held.close();
      }
    });
  } catch (err) {
    return reportError(err);
  }
}

export interface ScheduleFlags {
  crontab?: boolean;
  json?: boolean;
  config?: string;
  /** Folder the cron jobs cd into (default the working folder). */
  cwd?: string;
  /** Folder of the cron jobs' log files (default <home>/logs). */
  logDir?: string;
  /** With --crontab: HH:MM of a nightly `lake backfill --incomplete-only` per source. */
  repairAt?: string;
  /** Days back the repair sweep covers (default 35). */
  repairDays?: string | number;
}

function repairDays(value: string | number | undefined): number {
  const n = Number(value ?? 35);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--repair-days must be a whole number of days, not "${String(value)}"`);
  return n;
}

/** `lake schedule [--crontab]`. */
export async function scheduleAction(flags: ScheduleFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    const path = await import("node:path");
    const { buildSchedule, formatCrontab, formatScheduleTable } = await import("../orchestration/schedule.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const pipelines = [];
    for (const code of Object.keys(registry.sources)) pipelines.push(await loadPipeline(registry, code));
    const jobs = buildSchedule(pipelines, runtime.config.schedule);
    if (flags.json) out(`${JSON.stringify({ zone: runtime.zone, jobs })}\n`);
    else if (flags.crontab) {
      const cwd = path.resolve(flags.cwd ?? process.cwd());
      out(
        formatCrontab(jobs, {
          zone: runtime.zone,
          cwd,
          logDir: path.resolve(flags.logDir ?? path.join(runtime.home, "logs")),
          ...(flags.repairAt ? { repair: { time: flags.repairAt, days: repairDays(flags.repairDays), sources: pipelines.map((p) => p.code) } } : {}),
          ...(flags.config ? { config: path.resolve(flags.config) } : {}),
        }),
      );
    } else out(formatScheduleTable(jobs, runtime.zone));
    return 0;
  });
}

export interface CoverageFlags {
  from?: string;
  to?: string;
  json?: boolean;
  debug?: boolean;
  config?: string;
  /** Exit 1 when a day is missing or partial (for monitoring). */
  failOnGaps?: boolean;
  /** Also write the report as a web page to this file. */
  html?: string;
}

/** `lake coverage <source> --from D --to D [--json]`. */
export async function coverageAction(source: string, flags: CoverageFlags, deps: ActionDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  return withRuntime(flags, deps, async (runtime) => {
    if (!flags.from || !flags.to) throw new UsageError("lake coverage: --from and --to are required (YYYY-MM-DD; --to is exclusive)");
    const { coverageReport, formatCoverage, formatCoverageHtml } = await import("../orchestration/coverage.js");
    const registry = deps.registry ?? (await defaultRegistry());
    const pipeline = await loadPipeline(registry, source);
    const report = await coverageReport(runtime, registry, pipeline, { from: flags.from, to: flags.to, debug: Boolean(flags.debug) });
    out(flags.json ? `${JSON.stringify(report)}\n` : formatCoverage(report, pipeline.name));
    if (flags.html) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(flags.html, formatCoverageHtml(report, pipeline.name));
    }
    return flags.failOnGaps && report.gaps.length > 0 ? 1 : 0;
  });
}
