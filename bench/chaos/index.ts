/**
 * The chaos harness (issue 14, requirement 8): kills at random points of a pipeline run on the embedded default,
 * and faults injected through a TCP proxy in front of the real services; every run is repaired by a rerun and
 * compared with a clean run. `npm run chaos -- --kills N [--faults] [--json] [--seed S]`; see docs/chaos.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runKills, type KillReport } from "./kills.js";
import { runFaults, type FaultReport, type System } from "./faults.js";
import type { FaultKind } from "./proxy.js";
import { addOutcome, badness, zeroOutcome, type Outcome, type Window } from "./lake.js";

export interface ChaosOptions {
  kills: number;
  faults: boolean;
  seed: number;
  /** Pipeline window of the kill trials (all sources). */
  window?: Window;
  /** Pipeline window of the fault trials (the sources of the remote configuration). */
  faultWindow?: Window;
  concurrency?: number;
  killsPerTrial?: number;
  keep?: boolean;
  work?: string;
  /** Fault trials at once. @default 3 */
  faultConcurrency?: number;
  /** Only these systems / fault kinds. */
  systems?: readonly System[];
  kinds?: readonly FaultKind[];
  log?: (line: string) => void;
}

/** Three local days around the fall-back day (one 25-hour day): a clean run of every source takes seconds. */
export const DEFAULT_WINDOW: Window = { from: "2024-11-02", to: "2024-11-05" };
export const DEFAULT_FAULT_WINDOW: Window = { from: "2024-11-02", to: "2024-11-04" };

/** The outcome of every trial summed (lake.ts), with what was run. */
export interface ChaosReport extends Outcome {
  seed: number;
  kills: number;
  killsLanded: number;
  faults: number;
  rerunsFailed: number;
  seconds: number;
  ok: boolean;
  killReport?: Omit<KillReport, "trials" | "outcome">;
  faultReport?: Omit<FaultReport, "outcome">;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const work = o.work ?? mkdtempSync(path.join(os.tmpdir(), "lake-chaos-"));
  log(`chaos: seed ${o.seed}, ${o.kills} kills${o.faults ? ", faults" : ""}, work folder ${work}`);
  const total: Outcome = zeroOutcome();
  let kills: KillReport | undefined;
  let faults: FaultReport | undefined;
  try {
    // Kills (CPU-bound, embedded default) and faults (mostly waiting on stalled services) run side by side.
    // Both finish before anything is reported or removed (a failure of one must not pull the folder from under the other).
    const settled = await Promise.allSettled([
      o.kills > 0
        ? runKills({ kills: o.kills, seed: o.seed, window: o.window ?? DEFAULT_WINDOW, work, concurrency: o.concurrency ?? 1, killsPerTrial: o.killsPerTrial ?? 1, keep: Boolean(o.keep), log })
        : undefined,
      o.faults
        ? runFaults({
            seed: o.seed,
            window: o.faultWindow ?? DEFAULT_FAULT_WINDOW,
            work,
            keep: Boolean(o.keep),
            concurrency: o.faultConcurrency ?? 3,
            ...(o.systems ? { systems: o.systems } : {}),
            ...(o.kinds ? { kinds: o.kinds } : {}),
            log,
          })
        : undefined,
    ]);
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    kills = (settled[0] as PromiseFulfilledResult<KillReport | undefined>).value;
    faults = (settled[1] as PromiseFulfilledResult<FaultReport | undefined>).value;
    if (kills) addOutcome(total, kills.outcome, "kills");
    if (faults) addOutcome(total, faults.outcome, "faults");
  } finally {
    if (!o.keep && !o.work) rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  }
  const rerunsFailed = (kills?.rerunsFailed ?? 0) + (faults?.rerunsFailed ?? 0);
  const report: ChaosReport = {
    seed: o.seed,
    kills: o.kills,
    killsLanded: kills?.landed ?? 0,
    faults: faults?.trials.length ?? 0,
    rowsLost: total.rowsLost,
    rowsDuplicated: total.rowsDuplicated,
    rowsExtra: total.rowsExtra,
    objectsDiffering: total.objectsDiffering,
    catalogDiffering: total.catalogDiffering,
    tempFiles: total.tempFiles,
    staleLeases: total.staleLeases,
    rerunsFailed,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    ok: badness(total) === 0 && rerunsFailed === 0 && (kills?.noise ?? 0) === 0 && (faults?.noise ?? 0) === 0,
    details: total.details,
  };
  if (kills) {
    const { trials: _t, outcome: _o, ...rest } = kills;
    report.killReport = rest;
  }
  if (faults) {
    const { outcome: _o, ...rest } = faults;
    report.faultReport = rest;
  }
  return report;
}

/** The printed table: one line of figures under a header. */
export function formatTable(r: ChaosReport): string {
  const cols: [string, string | number][] = [
    ["kills", r.kills],
    ["faults", r.faults],
    ["rows lost", r.rowsLost],
    ["rows duplicated", r.rowsDuplicated],
    ["rows extra", r.rowsExtra],
    ["objects differing", r.objectsDiffering],
    ["catalog rows differing", r.catalogDiffering],
    ["leftover temp files", r.tempFiles],
    ["stale leases", r.staleLeases],
    ["reruns failed", r.rerunsFailed],
  ];
  const w = cols.map(([h, v]) => Math.max(h.length, String(v).length));
  const lines = [cols.map(([h], i) => h.padStart(w[i]!)).join("  "), cols.map(([, v], i) => String(v).padStart(w[i]!)).join("  ")];
  const kr = r.killReport;
  if (kr) lines.push(`kills landed on a running process: ${r.killsLanded} of ${r.kills} (clean run ${(kr.cleanMs / 1000).toFixed(1)} s: ${kr.cleanRows} rows, ${kr.cleanObjects} objects, ${kr.cleanCatalogRows} catalog rows)`);
  const fr = r.faultReport;
  if (fr) {
    lines.push("", `${"system".padEnd(12)} ${"fault".padEnd(9)} ${"faulted run".padEnd(26)} ${"rerun".padEnd(6)} differences`);
    for (const t of fr.trials) {
      lines.push(`${t.system.padEnd(12)} ${t.kind.padEnd(9)} ${t.faulted.padEnd(26)} ${(t.completed ? "ok" : "FAILED").padEnd(6)} ${t.bad}`);
    }
  }
  lines.push(`seed ${r.seed}; ${r.seconds} s; ${r.ok ? "OK: nothing lost, duplicated or differing" : "FAILED"}`);
  if (!r.ok) lines.push(...r.details.slice(0, 20).map((d) => `  ${d}`));
  return lines.join("\n");
}
