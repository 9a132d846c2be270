/**
 * A full garbage collection, asked for between the stages of one process (`lake pipeline`): what a stage let go of
 * (its day's buffers, rows, strings) is freed before the next stage builds its own, so the process's peak is about
 * the largest stage's, not two stages' worth. The collector is reached as node's --expose-gc gives it (set here at
 * run time when the process was not started with it, as test runners' leak detectors do).
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | undefined;

/** Runs a full collection when the heap and off-heap buffers hold more than `aboveBytes` (else nothing). */
export function collectGarbage(aboveBytes = 0): boolean {
  const m = process.memoryUsage();
  if (m.heapUsed + m.external <= aboveBytes) return false;
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    }
  }
  gc();
  return true;
}
