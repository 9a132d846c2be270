/**
 * A full garbage collection, asked for between the stages of one process (`lake pipeline`): what a stage let go of
 * (its day's buffers, rows, strings) is freed before the next stage builds its own, so the process's peak is about
 * the largest stage's, not two stages' worth. The collector is reached as node's --expose-gc gives it (set here at
 * run time when the process was not started with it, as test runners' leak detectors do).
 */
import type v8Module from "node:v8";
import type vmModule from "node:vm";

let gc: (() => void) | undefined;

/** Runs a full collection when the heap and off-heap buffers hold more than `aboveBytes` (else nothing). */
export function collectGarbage(aboveBytes = 0): boolean {
  const m = process.memoryUsage();
  if (m.heapUsed + m.external <= aboveBytes) return false;
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      // Loaded here, not at import: a run that never collects (every `lake run`) does not load node:v8 and node:vm.
      const v8 = process.getBuiltinModule("node:v8") as typeof v8Module;
      const vm = process.getBuiltinModule("node:vm") as typeof vmModule;
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    }
  }
  gc();
  return true;
}
