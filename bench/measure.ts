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

/**
 * Preloaded into a measured child (`node --import PEAK_HOOK …`): at exit it writes {rss: peak RSS KiB, cpu: µs}
 * to the file $LAKE_RUSAGE_OUT. The peak is the process's own (VmHWM of /proc/self/status), not getrusage's maxRSS:
 * on Linux a child's maxRSS starts at its parent's RSS when it was spawned (the fork's memory is counted before
 * exec), so a benchmark process holding 80 MiB made every child it measured look at least 80 MiB big.
 */
export const PEAK_HOOK = `data:text/javascript,${encodeURIComponent(
  'import{readFileSync,writeFileSync}from"node:fs";process.on("exit",()=>{const u=process.resourceUsage();let rss=u.maxRSS;try{const m=/VmHWM:\\s+(\\d+) kB/.exec(readFileSync("/proc/self/status","utf8"));if(m)rss=Number(m[1])}catch{}if(process.env.LAKE_RUSAGE_OUT)writeFileSync(process.env.LAKE_RUSAGE_OUT,JSON.stringify({rss,cpu:u.userCPUTime+u.systemCPUTime}))});',
)}`;
