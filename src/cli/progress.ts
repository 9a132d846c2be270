/**
 * Progress of block runs (backfill, worker): a cli-progress bar on a TTY (blocks done / total, rate, ETA), plain log
 * lines otherwise. Log lines printed while the bar runs go above it.
 */
import cliProgress from "cli-progress";
import type { BlockOutcome, BlockProgress } from "../orchestration/block-runner.js";

export function describeOutcome(o: BlockOutcome): string {
  const c = o.counts;
  const counts = o.status === "succeeded" || o.status === "failed" || o.status === "no-data"
    ? ` (${c.processed} processed, ${c.skipped} skipped, ${c.failed} failed, ${c.records} records, ${o.seconds.toFixed(1)} s)`
    : "";
  return `${o.stage} ${o.day}: ${o.status}${counts}${o.message && o.status !== "succeeded" ? ` — ${o.message}` : ""}`;
}

export function createProgress(opts: { stream?: NodeJS.WriteStream; quiet?: boolean; label?: string } = {}): BlockProgress {
  const stream = opts.stream ?? process.stderr;
  const label = opts.label ?? "blocks";
  if (stream.isTTY && !opts.quiet) {
    const multi = new cliProgress.MultiBar(
      { format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {last}`, stream, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    let bar: cliProgress.SingleBar | undefined;
    let started = 0;
    let count = 0;
    return {
      start(total) {
        started = Date.now();
        bar = multi.create(total, 0, { rate: "0.0", last: "" });
      },
      setTotal(total) {
        bar?.setTotal(total);
      },
      done(o) {
        count++;
        const rate = (count / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
        bar?.increment(1, { rate, last: `${o.stage} ${o.day} ${o.status}` });
        if (o.status === "failed" || o.status === "busy") multi.log(`${describeOutcome(o)}\n`);
      },
      log(line) {
        multi.log(`${line}\n`);
      },
      stop() {
        multi.stop();
      },
    };
  }
  let total = 0;
  let count = 0;
  const line = (s: string) => {
    if (!opts.quiet) stream.write(`${s}\n`);
  };
  return {
    start(t) {
      total = t;
      line(`${label}: ${t} to run`);
    },
    setTotal(t) {
      total = t;
    },
    done(o) {
      count++;
      line(`[${count}/${total}] ${describeOutcome(o)}`);
    },
    log: line,
    stop() {},
  };
}
