/**
 * Kills: a demo lake on the embedded default runs `lake pipeline all` once cleanly (twice, to learn what differs
 * between clean runs); then each trial, on a fresh copy of the same simulated sources, starts the compiled CLI, kills
 * it with SIGKILL at a point drawn uniformly over the clean run's duration (seeded), reruns it to completion and
 * compares published rows, storage objects, catalog rows, temp files and leases with the clean run.
 */
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { cpSync, rmSync } from "node:fs";
import path from "node:path";
import { seededRandom } from "../../src/util/random.js";
import {
  addOutcome,
  badness,
  compare,
  embeddedInput,
  learnVolatile,
  localObjects,
  makeTemplate,
  noAlias,
  runLake,
  snapshot,
  zeroOutcome,
  type LakeRun,
  type Outcome,
  type Snapshot,
  type Volatile,
  type Window,
  pool,
} from "./lake.js";

export interface KillOptions {
  kills: number;
  seed: number;
  window: Window;
  /** Scratch folder (a fresh one per harness run). */
  work: string;
  /** Trials at once (each on its own lake copy). @default 1 */
  concurrency?: number;
  /** Kills per trial before the run to completion. @default 1 */
  killsPerTrial?: number;
  /** Keep the lake copies of trials that differ. */
  keep?: boolean;
  log: (line: string) => void;
}

export interface KillTrial {
  trial: number;
  /** ms after the start of each kill drawn. */
  killAtMs: number[];
  /** Kills that hit a running process (a draw after the run had ended kills nothing). */
  landed: number;
  reruns: number;
  completed: boolean;
  outcome: Outcome;
}

export interface KillReport {
  kills: number;
  landed: number;
  trials: KillTrial[];
  cleanMs: number;
  cleanRows: number;
  cleanObjects: number;
  cleanCatalogRows: number;
  /** Differences between the two clean runs after masking (should be 0: the harness's own noise). */
  noise: number;
  volatilePaths: string[];
  /** Trials whose rerun never finished with exit code 0. */
  rerunsFailed: number;
  outcome: Outcome;
}

export const MAX_RERUNS = 3;

/** Scrubbed environment of a child: the lake home, no stray configuration from the caller. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "LAKE_CONFIG" || k === "LAKE_CLOCK" || k === "LAKE_HOME" || k.startsWith("LAKE__") || k === "LAKE_SECRETS_FILE") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function pipelineArgs(w: Window): string[] {
  return ["pipeline", "all", "-s", w.from, "-e", w.to, "--json"];
}

/** Reruns until exit code 0 (at most MAX_RERUNS). */
async function rerun(args: string[], home: string, env: NodeJS.ProcessEnv): Promise<{ runs: LakeRun[]; ok: boolean }> {
  const runs: LakeRun[] = [];
  for (let i = 0; i < MAX_RERUNS; i++) {
    const r = await runLake(args, { cwd: home, env, watchdogMs: 600_000 });
    runs.push(r);
    if (r.code === 0) return { runs, ok: true };
  }
  return { runs, ok: false };
}

export async function runKills(o: KillOptions): Promise<KillReport> {
  const template = path.join(o.work, "kills-template");
  // Every source but mds and feeds: their simulators fail on purpose (an mds provider's hour, the feeds portal job's
  // first run; the demo repairs both with an --incomplete-only backfill), so a clean `lake pipeline all` of them exits
  // 1. Without their settings they run no block.
  const codes = (await defaultRegistry()).codes().filter((c) => c !== "mds" && c !== "feeds");
  await makeTemplate(template, o.window, codes);
  const args = pipelineArgs(o.window);

  // Two clean runs: the reference, and what legitimately differs between clean runs.
  const refs: string[] = [];
  const times: number[] = [];
  for (const name of ["clean-1", "clean-2"]) {
    const home = path.join(o.work, name);
    cpSync(template, home, { recursive: true });
    const r = await runLake(args, { cwd: home, env: childEnv({ LAKE_HOME: home }), watchdogMs: 600_000 });
    if (r.code !== 0) throw new Error(`chaos: the clean run failed (exit ${r.code}): ${args.join(" ")}\n${r.out}`);
    refs.push(home);
    times.push(r.ms);
  }
  const [a, b] = refs.map(embeddedInput) as [ReturnType<typeof embeddedInput>, ReturnType<typeof embeddedInput>];
  const volatile: Volatile = await learnVolatile(localObjects(path.join(refs[0]!, "lake")), localObjects(path.join(refs[1]!, "lake")), noAlias, noAlias, a.catalog, b.catalog);
  const clean: Snapshot = await snapshot(a, volatile);
  const noise = badness(compare(clean, await snapshot(b, volatile)));
  const cleanMs = times.reduce((x, y) => x + y, 0) / times.length;
  const cleanRows = [...clean.published.values()].reduce((n, m) => n + [...m.values()].reduce((x, y) => x + y, 0), 0);
  o.log(
    `kills: clean run ${(cleanMs / 1000).toFixed(1)} s: ${cleanRows} published rows, ${clean.objects.size} objects, ${clean.catalog.size} catalog rows; ` +
      `masked as volatile: ${[...volatile.paths].join(", ") || "nothing"}${noise ? `; NOISE between two clean runs: ${noise}` : ""}`,
  );

  const perTrial = Math.max(1, o.killsPerTrial ?? 1);
  const trialCount = Math.ceil(o.kills / perTrial);
  const rng = seededRandom(o.seed);
  // Draw every kill point up front, so the points do not depend on the order trials finish in.
  const draws = Array.from({ length: trialCount }, (_, t) => Array.from({ length: Math.min(perTrial, o.kills - t * perTrial) }, () => rng() * cleanMs));

  const trials = await pool(o.concurrency ?? 1, trialCount, async (t): Promise<KillTrial> => {
    const home = path.join(o.work, `kill-${t}`);
    cpSync(template, home, { recursive: true });
    const env = childEnv({ LAKE_HOME: home });
    let landed = 0;
    for (const at of draws[t]!) {
      const r = await runLake(args, { cwd: home, env, killAtMs: at, watchdogMs: 600_000 });
      if (r.killedAtMs !== undefined) landed++;
    }
    const { runs, ok } = await rerun(args, home, env);
    const outcome = compare(clean, await snapshot(embeddedInput(home), volatile));
    if (!ok) outcome.details.unshift(`the rerun never exited 0 (${runs.map((r) => r.code).join(", ")}): ${runs.at(-1)!.out.slice(-600)}`);
    const bad = badness(outcome) > 0 || !ok;
    o.log(
      `kill ${t + 1}/${trialCount}: at ${draws[t]!.map((x) => `${(x / 1000).toFixed(2)} s`).join(", ")}${landed < draws[t]!.length ? " (run had ended)" : ""}; ` +
        `rerun ${ok ? "ok" : "FAILED"}${bad ? `: ${outcome.details.slice(0, 3).join("; ")}` : ""}`,
    );
    if (!bad || !o.keep) rmSync(home, { recursive: true, force: true });
    return { trial: t, killAtMs: draws[t]!, landed, reruns: runs.length, completed: ok, outcome };
  });

  const outcome = zeroOutcome();
  for (const t of trials) addOutcome(outcome, t.outcome, `kill trial ${t.trial} (at ${t.killAtMs.map((x) => x.toFixed(0)).join(",")} ms)`);
  for (const r of refs) if (!o.keep) rmSync(r, { recursive: true, force: true });
  rmSync(template, { recursive: true, force: true });
  return {
    kills: o.kills,
    landed: trials.reduce((n, t) => n + t.landed, 0),
    trials,
    cleanMs,
    cleanRows,
    cleanObjects: clean.objects.size,
    cleanCatalogRows: clean.catalog.size,
    noise,
    volatilePaths: [...volatile.paths].sort(),
    rerunsFailed: trials.filter((t) => !t.completed).length,
    outcome,
  };
}
