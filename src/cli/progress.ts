/**
 * Progress: the one cli-progress bar of the command line (rateBar: done/total, a real rate, ETA; lines logged while
 * it runs go above it), used by stage runs (console.ts: items) and block runs (backfill, worker: blocks). Off a
 * terminal, under --quiet or --log-format json there is no bar: block runs print one log line per block.
 */
import cliProgress from "cli-progress";
import type { BlockOutcome, BlockProgress } from "../orchestration/block-runner.js";
import { logger, type Logger } from "./log.js";

export function describeOutcome(o: BlockOutcome): string {
  const c = o.counts;
  const counts = o.status === "succeeded" || o.status === "failed" || o.status === "no-data"
    ? ` (${c.processed} items processed, ${c.skipped} skipped, ${c.failed} failed, ${c.records} rows, ${o.seconds.toFixed(1)} s)`
    : "";
  return `${o.stage} ${o.day}: ${o.status}${counts}${o.message && o.status !== "succeeded" ? ` — ${o.message}` : ""}`;
}

export interface RateBar {
  /** One more done; payload fills the format's other {fields}. */
  tick(payload?: Record<string, string>): void;
  setTotal(total: number): void;
  /** A logger whose lines go above the bar. */
  readonly log: Logger;
  stop(): void;
}

/**
 * A bar of `total` things on a terminal: "<label> [bar] done/total <unit> | <rate>/s | ETA", the rate being what is
 * done per second since the bar started (on `now`, the real clock unless a test gives one).
 */
export function rateBar(opts: { stream: NodeJS.WriteStream; label: string; total: number; unit?: string; extra?: string; log?: Logger; now?: () => number }): RateBar {
  const now = opts.now ?? Date.now;
  const multi = new cliProgress.MultiBar(
    {
      format: `${opts.label} [{bar}] {value}/{total}${opts.unit ? ` ${opts.unit}` : ""} | {rate}/s | ETA {eta_formatted}${opts.extra ? ` | ${opts.extra}` : ""}`,
      stream: opts.stream,
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = now();
  let count = 0;
  const bar = multi.create(opts.total, 0, { rate: "0.0", last: "" });
  return {
    tick(payload = {}) {
      count++;
      const rate = (count / Math.max(0.001, (now() - started) / 1000)).toFixed(1);
      bar.increment(1, { ...payload, rate });
    },
    setTotal: (total) => bar.setTotal(total),
    log: (opts.log ?? logger()).via((line) => multi.log(line)),
    stop: () => multi.stop(),
  };
}

export function createProgress(opts: { stream?: NodeJS.WriteStream; quiet?: boolean; label?: string; log?: Logger; now?: () => number } = {}): BlockProgress {
  const stream = opts.stream ?? process.stderr;
  const label = opts.label ?? "blocks";
  const base = (opts.log ?? logger()).on(stream);
  const log = opts.quiet ? base.with({ level: base.enabled("debug") ? "debug" : "warn" }) : base;
  if (log.interactive && stream.isTTY) {
    let bar: RateBar | undefined;
    return {
      start(total) {
        bar = rateBar({ stream, label, total, extra: "{last}", log, ...(opts.now ? { now: opts.now } : {}) });
      },
      setTotal(total) {
        bar?.setTotal(total);
      },
      done(o) {
        bar?.tick({ last: `${o.stage} ${o.day} ${o.status}` });
        if (o.status === "failed" || o.status === "busy") (bar?.log ?? log).warn(describeOutcome(o));
      },
      log(line) {
        (bar?.log ?? log).info(line);
      },
      warn(line) {
        (bar?.log ?? log).warn(line);
      },
      stop() {
        bar?.stop();
      },
    };
  }
  let total = 0;
  let count = 0;
  return {
    start(t) {
      total = t;
      log.info(`${label}: ${t} to run`);
    },
    setTotal(t) {
      total = t;
    },
    done(o) {
      count++;
      log.log(o.status === "failed" || o.status === "busy" ? "warn" : "info", `[${count}/${total}] ${describeOutcome(o)}`);
    },
    log: (line) => log.info(line),
    warn: (line) => log.warn(line),
    stop() {},
  };
}
