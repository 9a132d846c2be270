/**
 * Where the operations commands find sources and stages: a SourceRegistry. The default one is the project's
 * (src/sources/index.ts); tests and embedders pass their own.
 */
import type { DateTime } from "luxon";
import type { SourceDefinition } from "../support/kit.js";
import { SourceRegistry } from "../support/registry.js";
import { UsageError } from "../support/errors.js";
import { addDays, dayText, daysBack, eachDay, parseDay, todayMidnight, type Clock } from "../util/dates.js";

/** The project's sources (src/sources/index.ts). */
export async function defaultRegistry(): Promise<SourceRegistry> {
  const { sources } = await import("../sources/index.js");
  return new SourceRegistry(sources);
}

/** Splits repeated or comma-separated stage flags. */
function names(list: string[] | undefined): string[] {
  return (list ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
}

/**
 * The pipeline's stages after --only / --skip. A stage may be named in full ("wt-ready") or by what follows the
 * source code ("ready"); an unknown name is a usage error listing the stages.
 */
export function selectStages(pipeline: SourceDefinition, only?: string[], skip?: string[]): string[] {
  const resolve = (n: string): string => pipeline.stage(n).name;
  const onlySet = new Set(names(only).map(resolve));
  const skipSet = new Set(names(skip).map(resolve));
  const chosen = pipeline.stageNames.filter((s) => (onlySet.size === 0 || onlySet.has(s)) && !skipSet.has(s));
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
  const back = daysBack(t, flag);
  if (back !== undefined) return addDays(todayMidnight(zone, clock), -back);
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
