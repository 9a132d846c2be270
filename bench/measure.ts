/** Shared by the benchmarks: time and peak memory of one piece of work, and a child-process runner for isolation. */
import { execFileSync } from "node:child_process";

export interface Measured<T> {
  result: T;
  seconds: number;
  /** Peak RSS growth over the run, MiB (sampled every 5 ms). */
  peakRssMiB: number;
  /** Peak heap used over the run, MiB. */
  peakHeapMiB: number;
}

export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }, 5);
  const t0 = performance.now();
  try {
    const result = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    return { result, seconds, peakRssMiB: (peakRss - base.rss) / 2 ** 20, peakHeapMiB: peakHeap / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** Runs a bench script in a fresh Node process (so peak memory is its own) and returns its last JSON line. */
export function runChild<T>(script: string, args: string[]): T {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, ...args], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
