/**
 * Where the operations commands find sources and stages. The default registry is the project's
 * (src/sources/index.ts and src/entries/); tests and embedders pass their own map.
 */
import type { DateTime } from "luxon";
import type { SourceModule, SourcePipeline } from "../sources/types.js";
import type { AppClass } from "../support/etl-app.js";
import { UsageError } from "../support/errors.js";
import { addDays, dayText, eachDay, parseDay, todayMidnight, type Clock } from "../util/dates.js";

export interface OpsRegistry {
  /** Source code → lazy import of its pipeline module. */
  sources: Record<string, () => Promise<SourceModule>>;
  /** Stage (entry) name → its ETLApp class. */
  loadStage(name: string): Promise<AppClass>;
}

export async function defaultRegistry(): Promise<OpsRegistry> {
  const { sources } = await import("../sources/index.js");
  const { loadEntry } = await import("../entries/index.js");
  return { sources, loadStage: async (name) => (await loadEntry(name)).App };
}

export async function loadPipeline(registry: OpsRegistry, code: string): Promise<SourcePipeline> {
  const load = registry.sources[code];
  if (!load) throw new UsageError(`Unknown source "${code}" (known: ${Object.keys(registry.sources).join(", ")})`);
  let mod: SourceModule;
  try {
    mod = await load();
  } catch (err) {
    throw new UsageError(`Source "${code}": its pipeline module could not be loaded: ${(err as Error).message}`, { cause: err });
  }
  if (!mod.pipeline || !Array.isArray(mod.pipeline.stages)) throw new UsageError(`Source "${code}": its module must export pipeline: SourcePipeline`);
  return mod.pipeline;
}

/** Splits repeated or comma-separated stage flags. */
function names(list: string[] | undefined): string[] {
  return (list ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
}

/**
 * The pipeline's stages after --only / --skip. A stage may be named in full ("wt-ready") or by what follows the
 * source code ("ready"); an unknown name is a usage error listing the stages.
 */
export function selectStages(pipeline: SourcePipeline, only?: string[], skip?: string[]): string[] {
  const resolve = (n: string): string => {
    const hit = pipeline.stages.find((s) => s === n || s === `${pipeline.code}-${n}`);
    if (!hit) throw new UsageError(`Source ${pipeline.code} has no stage "${n}" (stages: ${pipeline.stages.join(", ")})`);
    return hit;
  };
  const onlySet = new Set(names(only).map(resolve));
  const skipSet = new Set(names(skip).map(resolve));
  const chosen = pipeline.stages.filter((s) => (onlySet.size === 0 || onlySet.has(s)) && !skipSet.has(s));
  if (chosen.length === 0) throw new UsageError(`Source ${pipeline.code}: --only/--skip leave no stage to run`);
  return chosen;
}

/** "1d", "7d", "7" → days. */
function parseInterval(text: string): number {
  const m = /^(\d+)\s*d?$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new UsageError(`Malformed --interval "${text}": use a number of days such as 1d or 7d`);
  return Number(m[1]);
}

/** A day flag: YYYY-MM-DD, or N = N days before today's local midnight. */
function parseDayFlag(text: string, zone: string, clock: Clock, flag: string): DateTime {
  const t = text.trim();
  if (/^\d{1,5}$/.test(t)) return addDays(todayMidnight(zone, clock), -Number(t));
  return parseDay(t, zone, flag);
}

/**
 * The days of a range run (start inclusive, end exclusive; equal = that one day, as -s/-e of a stage).
 * --time-max defaults to today (so the last day is yesterday); without --time-min the range is --interval days
 * back from --time-max (the atd-mds runtool's convention, in days).
 */
export function rangeDays(
  opts: { timeMin?: string; timeMax?: string; interval?: string },
  zone: string,
  clock: Clock,
): string[] {
  const max = opts.timeMax ? parseDayFlag(opts.timeMax, zone, clock, "--time-max") : todayMidnight(zone, clock);
  const min = opts.timeMin ? parseDayFlag(opts.timeMin, zone, clock, "--time-min") : addDays(max, -parseInterval(opts.interval ?? "1d"));
  if (max < min) throw new UsageError(`--time-max ${dayText(max)} is before --time-min ${dayText(min)}; the end is exclusive and must not precede the start`);
  const end = max.toMillis() === min.toMillis() ? addDays(min, 1) : max;
  return [...eachDay(min, end)].map(dayText);
}
