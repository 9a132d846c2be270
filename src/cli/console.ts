/**
 * Console subscriber of a stage run: its events as log lines (log.ts: timestamps, levels, --verbose/--quiet,
 * --log-format json) on stderr, so stdout stays clean for --json; on a terminal the items' progress bar
 * (progress.ts, loaded only then). A warning repeated for one cause is printed once, its repeats counted in one line
 * when the stage ends.
 */
import type { LakeEventBus } from "../support/events.js";
import { logger, WarningTally, type Logger } from "./log.js";
import type { RateBar } from "./progress.js";

export interface ConsoleOptions {
  /** Only warnings and errors (--json: stdout is the summary). */
  quiet?: boolean;
  /** Debug lines too (--debug runs). */
  debug?: boolean;
  /** Stream for log lines (default stderr). */
  stream?: NodeJS.WriteStream;
  /** The logger (default: the process's, as the command line set it). */
  log?: Logger;
  /** The bar's clock (tests). */
  now?: () => number;
}

export async function attachConsole(events: LakeEventBus, opts: ConsoleOptions = {}): Promise<() => void> {
  const stream = opts.stream ?? process.stderr;
  let base = (opts.log ?? logger()).on(stream);
  if (opts.debug) base = base.with({ level: "debug" });
  else if (opts.quiet && !base.enabled("debug")) base = base.with({ level: "warn" });
  const offs: (() => void)[] = [];
  let bar: RateBar | undefined;
  const progress = base.interactive && stream.isTTY ? await import("./progress.js") : undefined;
  const log = () => bar?.log ?? base;
  const tally = new WarningTally();
  offs.push(
    events.on("run.start", (e) => {
      log().info(`== Starting ${e.app} == ${e.window}${e.simulate ? " (simulation: nothing is written)" : ""}${e.debug ? " (debug: test targets)" : ""}`);
    }),
    events.on("plan.size", (e) => {
      if (!progress) return;
      bar?.stop();
      bar = progress.rateBar({ stream, label: e.app, total: e.total, unit: "items", log: base, ...(opts.now ? { now: opts.now } : {}) });
    }),
    events.on("item.done", (e) => {
      if (bar) bar.tick();
      else if (e.count > 0) log().info(`done ${e.item} (${e.records} rows, ${e.ms} ms)`, { app: e.app });
    }),
    events.on("item.failed", (e) => {
      bar?.tick();
      log().error(`FAILED ${e.item}: ${e.error}`, { app: e.app });
    }),
    events.on("item.skipped", (e) => log().debug(`skipped ${e.item}: ${e.reason}`, { app: e.app })),
    events.on("log", (e) => {
      if (e.level !== "warn" || tally.add(e.app, e.message)) log().log(e.level, e.message, { app: e.app });
    }),
    events.on("run.end", (e) => {
      tally.flush(e.app, (message, fields) => log().warn(message, fields));
      bar?.stop();
      bar = undefined;
    }),
  );
  return () => {
    tally.flush(undefined, (message, fields) => log().warn(message, fields));
    bar?.stop();
    for (const off of offs) off();
  };
}
