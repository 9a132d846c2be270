/**
 * The notify interface: at the end of `lake run` and `lake pipeline` the run's outcome is handed to the configured
 * notifier (the `notify` section; none by default). Drivers live in src/drivers/notify/ (the `notify` kind of the
 * driver registry) and run behind the driver runtime like every other interface: deadline, retries of transient
 * failures, and the notice's text masked (redactArgs) before the driver sees it. A failed notification is a warning:
 * it never changes the run's exit code.
 */
import { hostname } from "node:os";
import type { CallOptions, CallTable, DriverBase } from "./drivers.js";
import type { RunSummary } from "./events.js";
import type { LakeRuntime } from "./runtime.js";
import { errorMessage } from "./errors.js";
import { redact } from "../util/redact.js";

/** A summary as notified: the simulation plan is counted, not listed. */
export type NoticeSummary = Omit<RunSummary, "plan"> & { planned?: number };

/** What a notifier is told: one per `lake run` / `lake pipeline` command. */
export interface RunNotice {
  /**
   * "run.succeeded" or "run.failed" (a command's end); "item.failed" or "source.disabled" (told by a stage while it
   * runs, about one item: `source`, `stage`, `item`, `error`).
   */
  event: "run.succeeded" | "run.failed" | ItemEvent;
  ok: boolean;
  /** The command, e.g. "lake run wt-ready" or "lake pipeline wt". */
  command: string;
  exitCode: number;
  debug: boolean;
  simulate: boolean;
  host: string;
  /** ISO time the notice was made. */
  at: string;
  /** The stage run's summary (lake run), or one per stage (lake pipeline). */
  summary?: NoticeSummary;
  stages?: { source: string; stage: string; summary?: NoticeSummary; error?: string }[];
  /** The error that stopped the command before it had a summary (or the item's error). */
  error?: string;
  /** Of an item notice: the source code, the stage and the item. */
  source?: string;
  stage?: string;
  item?: string;
}

export type ItemEvent = "item.failed" | "source.disabled";

/** A notice about one item of a stage (not ok: a notifier for failures takes it). */
export function itemNotice(o: { event: ItemEvent; source: string; stage: string; item: string; error: string; debug?: boolean; simulate?: boolean; now?: number }): RunNotice {
  return { ...makeNotice({ command: `lake run ${o.stage}`, exitCode: 1, debug: Boolean(o.debug), simulate: Boolean(o.simulate), error: o.error, ...(o.now !== undefined ? { now: o.now } : {}) }), event: o.event, source: o.source, stage: o.stage, item: o.item };
}

export interface NotifyDriver extends DriverBase {
  /** Whether this notifier wants the notice (e.g. failures only, no simulations). */
  wants(notice: RunNotice): boolean;
  notify(notice: RunNotice, opts?: CallOptions): Promise<void>;
}

export const NOTIFY_CALLS: CallTable = {
  notify: { at: 1, what: (a) => (a[0] as RunNotice).event, redactArgs: true },
};

export function noticeSummary(s: RunSummary): NoticeSummary {
  const { plan, ...rest } = s;
  return { ...rest, ...(plan ? { planned: plan.length } : {}) };
}

export function makeNotice(o: {
  command: string;
  exitCode: number;
  debug?: boolean;
  simulate?: boolean;
  summary?: RunSummary;
  stages?: RunNotice["stages"];
  error?: unknown;
  now?: number;
}): RunNotice {
  const ok = o.exitCode === 0;
  return {
    event: ok ? "run.succeeded" : "run.failed",
    ok,
    command: o.command,
    exitCode: o.exitCode,
    debug: Boolean(o.debug),
    simulate: Boolean(o.simulate ?? o.summary?.simulate),
    host: hostname(),
    at: new Date(o.now ?? Date.now()).toISOString(),
    ...(o.summary ? { summary: noticeSummary(o.summary) } : {}),
    ...(o.stages ? { stages: o.stages } : {}),
    ...(o.error !== undefined ? { error: errorMessage(o.error) } : {}),
  };
}

/**
 * Hands the notice to the configured notifier, if any and if it wants it. Never throws: a notifier that cannot be
 * built or fails is reported as a warning on the run's event bus (masked like every log line).
 */
export async function notifyRun(runtime: LakeRuntime, notice: RunNotice): Promise<void> {
  const spec = runtime.config.notify;
  if (!spec) return;
  try {
    const notifier = await runtime.driver("notify", notice.debug);
    if (!notifier.wants(notice)) return;
    await notifier.notify(notice);
  } catch (err) {
    const why = redact(errorMessage(err));
    const message = `the ${notice.event} notice was not delivered: ${why.startsWith("notify") ? why : `notify (${spec.driver}): ${why}`}`;
    runtime.events.emit("log", { app: "notify", level: "warn", message });
  }
}
