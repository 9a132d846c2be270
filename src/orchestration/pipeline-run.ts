/**
 * `lake pipeline <source|all>`: a source's stages in order over one window, in one LakeRuntime (so each stage sees
 * what the previous one wrote, through the same drivers). A failing stage does not stop the later ones (as the
 * nightly cron jobs are independent); a ConfigError stops everything.
 *
 * With leases (the default of `lake pipeline` when a block store is available), each stage run first takes the
 * lease of every (source, stage, day) of its window, so it never overlaps a backfill or worker on one of those blocks;
 * a simulation takes none.
 *
 * With `skipUnconfigured` (`lake pipeline all`), a source that has no settings of its own (no sources.<code>) and
 * whose stage stops on a ConfigError is skipped, the rest of its stages too, and the summary says so: one source a
 * home does not use never stops the others. A ConfigError of a configured source still stops everything.
 */
import { ConfigError, TerminalError, errorMessage } from "../support/errors.js";
import { parseOptions, type AppClass, type AppOptions, type ETLApp } from "../support/etl-app.js";
import { dayText, eachDay } from "../util/dates.js";
import { redact } from "../util/redact.js";
import { collectGarbage } from "../util/collect-garbage.js";
import { leaseWindow, type WindowLeaseOptions } from "./window-leases.js";
import { blockSource } from "./blocks.js";
import { describeHolder } from "../support/block-store.js";
import type { RunSummary } from "../support/events.js";
import type { LakeRuntime } from "../support/runtime.js";
import type { SourceRegistry } from "../support/registry.js";

export interface StageResult {
  source: string;
  stage: string;
  summary?: RunSummary;
  /** The stage did not run to its end (an exception). */
  error?: string;
  /** The stage did not run, and why (`lake pipeline all`: a source with no settings of its own). */
  notRun?: string;
}

/** Windows longer than this are not leased day by day (e.g. -r 0 = since 2000); the run goes on unleased. */
const MAX_LEASED_DAYS = 400;

export interface PipelineLeases extends Omit<WindowLeaseOptions, "now"> {
  now?: () => number;
}

/** The days a stage run covers: its window, up to today when open-ended. */
function windowDays(app: ETLApp): string[] {
  const start = app.window.start;
  if (!start) return [];
  const end = app.window.end ?? app.today();
  const days: string[] = [];
  for (const d of eachDay(start, end)) {
    days.push(dayText(d));
    if (days.length > MAX_LEASED_DAYS) break;
  }
  return days;
}

/** Runs one stage, holding the leases of its window's blocks when leases are given. */
export async function runStage(runtime: LakeRuntime, App: AppClass, options: AppOptions, leases: PipelineLeases | undefined): Promise<RunSummary> {
  const app = new App(options, runtime);
  if (!leases || app.simulate) return app.run();
  const days = windowDays(app);
  if (days.length > MAX_LEASED_DAYS) {
    app.log("warn", `window longer than ${MAX_LEASED_DAYS} days: running without block leases`);
    return app.run();
  }
  const keys = days.map((day) => ({ source: blockSource(app.dataSource, app.debug), stage: app.def.name, day }));
  const lease = await leaseWindow(keys, {
    ...leases,
    onWait: (key, holder) => app.log("warn", `waiting for block ${key.stage} ${key.day}: ${describeHolder(holder)} (waiting up to ${Math.round(leases.waitMs / 1000)} s)`),
  });
  if (!lease.held) {
    const who = lease.holder ? `${lease.holder.owner} (until ${new Date(lease.holder.expiresAt).toISOString()})` : "another run";
    throw new TerminalError(`${app.def.name}: block ${lease.key.day} is being processed by ${who}; waited ${Math.round(leases.waitMs / 1000)} s — try again later`);
  }
  try {
    return await app.run();
  } finally {
    await lease.release();
  }
}

/**
 * Bytes of written objects `lake pipeline` keeps in memory at most, to hand them to the next stage (a stage's
 * outputs beyond it are read back from storage), and the largest object it keeps: a larger one (a big source's
 * day) is streamed back from storage by its reader, so it is never held whole by both the hand-over and the
 * reader.
 */
export const PIPELINE_HANDOVER_BYTES = 64 * 2 ** 20;
export const PIPELINE_HANDOVER_OBJECT_BYTES = 8 * 2 ** 20;

/**
 * After a stage, when the heap and buffers hold more than this, a full collection runs before the next stage
 * (util/collect-garbage.ts): the next stage's working set does not pile on the last one's leftovers.
 */
export const PIPELINE_COLLECT_ABOVE_BYTES = 48 * 2 ** 20;

export async function runPipelines(
  runtime: LakeRuntime,
  registry: SourceRegistry,
  codes: string[],
  options: AppOptions,
  onStage?: (r: StageResult) => void,
  leases?: PipelineLeases,
  handoverBytes = PIPELINE_HANDOVER_BYTES,
  skipUnconfigured = false,
): Promise<StageResult[]> {
  const results: StageResult[] = [];
  const handover = runtime.handover;
  // The stages run one after another in this runtime: what one writes, the next reads from memory.
  const mine = handoverBytes > 0 && !handover.enabled;
  if (mine) handover.enable(handoverBytes, Math.min(handoverBytes, PIPELINE_HANDOVER_OBJECT_BYTES));
  try {
    for (const code of codes) await runSource(code);
  } finally {
    if (mine) handover.disable();
  }
  return results;

  async function runSource(code: string): Promise<void> {
    const pipeline = await registry.source(code);
    let notRun: string | undefined;
    for (const stage of pipeline.stageNames) {
      if (notRun !== undefined) {
        const r: StageResult = { source: code, stage, notRun };
        results.push(r);
        onStage?.(r);
        continue;
      }
      handover.nextStage();
      let r: StageResult;
      try {
        const App = pipeline.stage(stage).App;
        r = { source: code, stage, summary: await runStage(runtime, App, parseOptions(App, options), leases) };
      } catch (err) {
        if (!(err instanceof ConfigError)) r = { source: code, stage, error: redact(errorMessage(err)) };
        else if (skipUnconfigured && !runtime.isSourceConfigured(code)) {
          notRun = `source ${code} is not configured (${redact(errorMessage(err))})`;
          runtime.events.emit("log", { app: stage, level: "warn", message: `skipped: ${notRun}; its later stages too` });
          r = { source: code, stage, notRun };
        } else throw err;
      }
      results.push(r);
      onStage?.(r);
      collectGarbage(PIPELINE_COLLECT_ABOVE_BYTES);
    }
  }
}

export function pipelineExitCode(results: StageResult[]): number {
  return results.some((r) => r.error || (r.summary?.failed ?? 0) > 0) ? 1 : 0;
}

export function formatPipelineSummary(results: StageResult[]): string {
  const w = Math.max(5, ...results.map((r) => r.stage.length));
  // processed, skipped and failed count items; rows counts records of data written (two units, each named).
  const lines = [
    `${"".padEnd(w)} ${" items ".padStart(16, "─").padEnd(26, "─")}`,
    `${"stage".padEnd(w)} ${"processed".padStart(9)} ${"skipped".padStart(8)} ${"failed".padStart(7)} ${"rows".padStart(9)} ${"seconds".padStart(8)}`,
  ];
  for (const r of results) {
    if (r.notRun !== undefined) {
      lines.push(`${r.stage.padEnd(w)} SKIPPED: ${r.notRun}`);
      continue;
    }
    if (!r.summary) {
      lines.push(`${r.stage.padEnd(w)} ERROR: ${r.error}`);
      continue;
    }
    const s = r.summary;
    lines.push(
      `${r.stage.padEnd(w)} ${String(s.processed).padStart(9)} ${String(s.skipped).padStart(8)} ${String(s.failed).padStart(7)} ${String(s.records).padStart(9)} ${s.seconds.toFixed(2).padStart(8)}`,
    );
    for (const f of s.failures.slice(0, 20)) lines.push(`${"".padEnd(w)}   FAILED ${f.item}: ${f.error}`);
  }
  return `${lines.join("\n")}\n`;
}
