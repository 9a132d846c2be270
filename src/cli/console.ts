/**
 * Console subscriber: log lines on stderr (so stdout stays clean for --json), and a progress bar on a TTY (the bar
 * library loads only then).
 */
import type cliProgress from "cli-progress";
import type { LakeEventBus } from "../support/events.js";

export interface ConsoleOptions {
  quiet?: boolean;
  debug?: boolean;
  /** Stream for log lines (default stderr). */
  stream?: NodeJS.WriteStream;
}

export async function attachConsole(events: LakeEventBus, opts: ConsoleOptions = {}): Promise<() => void> {
  const stream = opts.stream ?? process.stderr;
  const line = (s: string) => stream.write(`${s}\n`);
  const offs: (() => void)[] = [];
  let bar: cliProgress.SingleBar | undefined;
  const useBar = Boolean(stream.isTTY) && !opts.quiet;
  const bars = useBar ? (await import("cli-progress")).default : undefined;
  offs.push(
    events.on("run.start", (e) => {
      line(`== Starting ${e.app} == ${e.window}${e.simulate ? " (simulation: nothing is written)" : ""}${e.debug ? " (debug: test targets)" : ""}`);
    }),
    events.on("plan.size", (e) => {
      if (!bars) return;
      bar = new bars.SingleBar(
        { format: `${e.app} [{bar}] {value}/{total} items | {rate}/s | ETA {eta_formatted}`, stream, hideCursor: true },
        bars.Presets.shades_classic,
      );
      bar.start(e.total, 0, { rate: "0.0" });
    }),
    events.on("item.done", (e) => {
      if (bar) bar.increment(1);
      else if (!opts.quiet && e.count > 0) line(`  done ${e.item} (${e.records} records, ${e.ms} ms)`);
    }),
    events.on("item.failed", (e) => {
      bar?.increment(1);
      line(`  FAILED ${e.item}: ${e.error}`);
    }),
    events.on("item.skipped", (e) => {
      if (opts.debug) line(`  skipped ${e.item}: ${e.reason}`);
    }),
    events.on("log", (e) => {
      if (e.level === "debug" && !opts.debug) return;
      if (opts.quiet && e.level === "info") return;
      line(`  ${e.level === "info" ? "" : `${e.level.toUpperCase()}: `}${e.message}`);
    }),
    events.on("run.end", () => {
      bar?.stop();
      bar = undefined;
    }),
  );
  return () => {
    bar?.stop();
    for (const off of offs) off();
  };
}
