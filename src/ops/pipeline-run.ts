/**
 * `lake pipeline <source|all>`: a source's stages in order over one window, in one LakeRuntime (so each stage sees
 * what the previous one wrote, through the same drivers). A failing stage does not stop the later ones (as the
 * nightly cron jobs are independent); a ConfigError stops everything.
 */
import { ConfigError, errorMessage } from "../support/errors.js";
import { parseOptions, runApp, type AppOptions } from "../support/etl-app.js";
import type { RunSummary } from "../support/events.js";
import type { LakeRuntime } from "../support/runtime.js";
import { loadPipeline, type OpsRegistry } from "./pipelines.js";

export interface StageResult {
  source: string;
  stage: string;
  summary?: RunSummary;
  /** The stage did not run to its end (an exception). */
  error?: string;
}

export async function runPipelines(
  runtime: LakeRuntime,
  registry: OpsRegistry,
  codes: string[],
  options: AppOptions,
  onStage?: (r: StageResult) => void,
): Promise<StageResult[]> {
  const results: StageResult[] = [];
  for (const code of codes) {
    const pipeline = await loadPipeline(registry, code);
    for (const stage of pipeline.stages) {
      let r: StageResult;
      try {
        const App = await registry.loadStage(stage);
        r = { source: code, stage, summary: await runApp(App, parseOptions(App, options), { runtime }) };
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        r = { source: code, stage, error: errorMessage(err) };
      }
      results.push(r);
      onStage?.(r);
    }
  }
  return results;
}

export function pipelineExitCode(results: StageResult[]): number {
  return results.some((r) => r.error || (r.summary?.failed ?? 0) > 0) ? 1 : 0;
}

export function formatPipelineSummary(results: StageResult[]): string {
  const w = Math.max(5, ...results.map((r) => r.stage.length));
  const lines = [`${"stage".padEnd(w)} ${"processed".padStart(9)} ${"skipped".padStart(8)} ${"failed".padStart(7)} ${"records".padStart(9)} ${"seconds".padStart(8)}`];
  for (const r of results) {
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
