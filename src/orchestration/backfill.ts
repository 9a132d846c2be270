/**
 * The range runner (atd-mds's runtool, rebuilt): every (stage, day) block of a source over a range, stages in order per
 * day (a day's later stage runs only after its earlier stage finished well), days in parallel up to --concurrency,
 * block status kept in the BlockStore, leases so no block runs twice at once. --dry-run prints the plan and writes
 * nothing; --incomplete-only skips blocks already succeeded or no-data; a failure stops the run unless
 * --continue-on-error (blocks already started finish).
 */
import pLimit from "p-limit";
import { ConfigError } from "../support/errors.js";
import type { BlockStore } from "../support/block-store.js";
import { blockSource, isDone } from "./blocks.js";
import type { LakeRuntime } from "../support/runtime.js";
import { rangeDays, selectStages } from "./pipelines.js";
import { blockPartKey, rangePartitions } from "../util/partitions.js";
import type { SourceRegistry } from "../support/registry.js";
import { blockCommand, NO_COUNTS, runBlock, type BlockEnv, type BlockOutcome, type BlockProgress, type OutcomeStatus } from "./block-runner.js";

export interface BackfillPlan {
  /** Source column of the blocks (blockSource(code, debug)). */
  source: string;
  /** Stage names in run order. */
  stages: string[];
  /**
   * The partitions, ascending: local days YYYY-MM-DD, or for a partitioned source its blocks' keys
   * ("<partition>#<entity>", src/util/partitions.ts).
   */
  days: string[];
  /** A partitioned source: an empty block (no-data) skips the partition's later stages. */
  partitioned?: boolean;
}

/** What a range command was asked for: the stages (--only/--skip) and the days (--time-min/--time-max/--interval). */
export interface RangeRequest {
  timeMin?: string;
  timeMax?: string;
  interval?: string;
  only?: string[];
  skip?: string[];
  debug?: boolean;
}

/** The blocks a range command covers: source, selected stages, days. */
export async function planRange(runtime: LakeRuntime, registry: SourceRegistry, source: string, flags: RangeRequest): Promise<BackfillPlan> {
  const pipeline = await registry.source(source);
  const stages = selectStages(pipeline, flags.only, flags.skip);
  if (pipeline.partition) {
    const decl = pipeline.partition;
    const parts = rangePartitions(
      {
        ...(flags.timeMin ? { timeMin: flags.timeMin } : {}),
        ...(flags.timeMax ? { timeMax: flags.timeMax } : {}),
        ...(flags.interval ? { interval: flags.interval } : {}),
        ...(decl.settleHours ? { settleHours: decl.settleHours } : {}),
      },
      decl.grain,
      runtime.zone,
      runtime.clock,
    );
    const settings = pipeline.settings(runtime.sourceConfig(source));
    const days = parts.flatMap((p) => (decl.entities ? decl.entities(settings, p) : [undefined]).map((e) => blockPartKey(p.key, e)));
    return { source: blockSource(source, Boolean(flags.debug)), stages, days, partitioned: true };
  }
  const days = rangeDays(
    { ...(flags.timeMin ? { timeMin: flags.timeMin } : {}), ...(flags.timeMax ? { timeMax: flags.timeMax } : {}), ...(flags.interval ? { interval: flags.interval } : {}) },
    runtime.zone,
    runtime.clock,
  );
  return { source: blockSource(source, Boolean(flags.debug)), stages, days };
}

export interface BackfillOptions {
  force?: boolean;
  dryRun?: boolean;
  incompleteOnly?: boolean;
  concurrency?: number;
  continueOnError?: boolean;
  debug?: boolean;
  /** Polled before each block: true = start no more blocks (SIGINT/SIGTERM); running ones finish. */
  shouldStop?: () => boolean;
}

export interface BackfillResult {
  plan: BackfillPlan;
  outcomes: BlockOutcome[];
  seconds: number;
  /** 0 all done, 1 some block failed or the run was interrupted, 2 a configuration error stopped it. */
  exitCode: number;
  /** The error that stopped the run (a ConfigError), if any. */
  aborted?: Error;
}

/** Blocks the run would start: for --incomplete-only, failed or missing (or stale pending/running) blocks only. */
async function previousStatuses(store: BlockStore, plan: BackfillPlan) {
  if (plan.days.length === 0) return new Map<string, string>();
  const days = new Set(plan.days);
  const rows = await store.list({ source: plan.source, from: plan.days[0]!.split("#")[0]! });
  return new Map(rows.filter((r) => days.has(r.day)).map((r) => [`${r.stage}|${r.day}`, r.status]));
}

export async function runBackfill(
  env: Omit<BlockEnv, "owner"> & { owner?: string },
  plan: BackfillPlan,
  opts: BackfillOptions = {},
  progress?: BlockProgress,
): Promise<BackfillResult> {
  const t0 = Date.now();
  const owner = env.owner ?? "backfill";
  const blockEnv: BlockEnv = { ...env, owner };
  const previous = await previousStatuses(env.store, plan);
  const outcomes: BlockOutcome[] = [];
  let stop = false;
  let stopReason = "the run stopped after a failure (use --continue-on-error to go on)";
  let aborted: Error | undefined;
  const record = (o: BlockOutcome) => {
    outcomes.push(o);
    progress?.done(o);
  };
  const total = plan.days.length * plan.stages.length;
  progress?.start(total);

  const runDay = async (day: string) => {
    let blockedBy: string | undefined;
    /** A partitioned source's stage that found the block empty: the later stages are skipped. */
    let emptyAt: string | undefined;
    /** An earlier stage of the partition ran in this run: later ones run too (their input may have changed). */
    let rerun = false;
    for (const stage of plan.stages) {
      const key = { source: plan.source, stage, day };
      const base = { ...key, message: null, counts: NO_COUNTS, seconds: 0 };
      if (blockedBy) {
        record({ ...base, status: "blocked", message: `waits for ${blockedBy}` });
        continue;
      }
      const was = previous.get(`${stage}|${day}`);
      if (emptyAt && opts.incompleteOnly && !rerun && isDone(was)) {
        record({ ...base, status: "done-before" });
        continue;
      }
      if (emptyAt) {
        const message = `no data in ${emptyAt}`;
        if (!opts.dryRun) await env.store.markFinished(key, { status: "skipped", message, counts: NO_COUNTS }, (env.now ?? Date.now)());
        record({ ...base, status: "skipped", message });
        continue;
      }
      if (opts.incompleteOnly && !(plan.partitioned && rerun) && isDone(was)) {
        record({ ...base, status: "done-before" });
        if (plan.partitioned && was === "no-data") emptyAt = stage;
        continue;
      }
      if (opts.dryRun) {
        const was = previous.get(`${stage}|${day}`);
        record({ ...base, status: "planned", message: `${blockCommand(key, Boolean(opts.force))}${was ? `   [now ${was}]` : "   [never run]"}` });
        continue;
      }
      if (!stop && opts.shouldStop?.()) {
        stop = true;
        stopReason = "the run was interrupted";
      }
      if (stop) {
        record({ ...base, status: "not-run", message: stopReason });
        blockedBy = stage;
        continue;
      }
      let o: BlockOutcome;
      try {
        o = await runBlock(blockEnv, key, { force: Boolean(opts.force), debug: Boolean(opts.debug) });
      } catch (err) {
        if (err instanceof ConfigError) {
          aborted ??= err;
          stop = true;
          record({ ...base, status: "failed", message: err.message });
          blockedBy = stage;
          continue;
        }
        throw err;
      }
      record(o);
      rerun = true;
      if (plan.partitioned && o.status === "no-data") emptyAt = stage;
      else if (!isDone(o.status) && o.status !== "succeeded-with-errors") {
        blockedBy = stage;
        if (o.status === "failed" && !opts.continueOnError) stop = true;
      }
    }
  };

  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  try {
    await Promise.all(plan.days.map((day) => limit(() => runDay(day))));
  } finally {
    progress?.stop();
  }
  const order = new Map(plan.stages.map((s, i) => [s, i]));
  outcomes.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : order.get(a.stage)! - order.get(b.stage)!));
  const failed = outcomes.some((o) => o.status === "failed");
  const interrupted = stopReason === "the run was interrupted";
  return { plan, outcomes, seconds: (Date.now() - t0) / 1000, exitCode: aborted ? 2 : failed || interrupted ? 1 : 0, ...(aborted ? { aborted } : {}) };
}

const COLUMNS: OutcomeStatus[] = ["succeeded", "succeeded-with-errors", "no-data", "skipped", "failed", "busy", "blocked", "not-run", "done-before", "planned"];

/** The summary table: one row per stage, a column per outcome, then every block that did not finish well. */
export function formatBackfillSummary(result: BackfillResult): string {
  const used = COLUMNS.filter((c) => result.outcomes.some((o) => o.status === c));
  const stageWidth = Math.max(5, ...result.plan.stages.map((s) => s.length));
  const head = ["stage".padEnd(stageWidth), ...used.map((c) => c.padStart(Math.max(11, c.length))), "rows".padStart(9), "seconds".padStart(8)];
  const lines = [head.join(" ")];
  const totals = new Map<string, number>();
  for (const stage of result.plan.stages) {
    const mine = result.outcomes.filter((o) => o.stage === stage);
    const cells = used.map((c) => {
      const n = mine.filter((o) => o.status === c).length;
      totals.set(c, (totals.get(c) ?? 0) + n);
      return String(n).padStart(Math.max(11, c.length));
    });
    const records = mine.reduce((s, o) => s + o.counts.records, 0);
    const secs = mine.reduce((s, o) => s + o.seconds, 0);
    lines.push([stage.padEnd(stageWidth), ...cells, String(records).padStart(9), secs.toFixed(1).padStart(8)].join(" "));
  }
  lines.push(["total".padEnd(stageWidth), ...used.map((c) => String(totals.get(c) ?? 0).padStart(11))].join(" "));
  const planned = result.outcomes.filter((o) => o.status === "planned");
  if (planned.length) {
    lines.push("", `dry run: ${planned.length} block(s) would run, nothing was written:`);
    for (const o of planned) lines.push(`  ${o.message}`);
  }
  const bad = result.outcomes.filter((o) => o.status === "failed" || o.status === "busy" || o.status === "succeeded-with-errors");
  if (bad.length) {
    lines.push("");
    for (const o of bad.slice(0, 100)) lines.push(`  ${o.status.toUpperCase()} ${o.stage} ${o.day}: ${o.message ?? ""}`);
    if (bad.length > 100) lines.push(`  … ${bad.length - 100} more`);
  }
  const waiting = result.outcomes.filter((o) => o.status === "blocked" || o.status === "not-run");
  if (waiting.length) {
    const days = [...new Set(waiting.map((o) => o.day))];
    const shown = days.length > 10 ? `${days.slice(0, 10).join(", ")}, …` : days.join(", ");
    lines.push(`  ${waiting.length} block(s) not started (blocked behind a failed or busy stage, or the run stopped) on ${days.length} day(s): ${shown}`);
    lines.push("  rerun with --incomplete-only once the cause is fixed");
  }
  lines.push("", `${result.outcomes.length} block(s) in ${result.seconds.toFixed(1)} s over ${result.plan.days.length} ${result.plan.partitioned ? "partition block(s)" : "day(s)"}`);
  return `${lines.join("\n")}\n`;
}
