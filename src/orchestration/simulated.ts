/**
 * Simulated source systems that must run while stages run (the GRIDSMART device API of the demo). `lake demo`
 * registers each source's simulated window in <home>/sources/config.json (`simulatedWindow`); commands that run
 * stages start those systems for the run, only for the stages that need them, and point the source at them.
 */
import type { LakeRuntime } from "../support/runtime.js";
import type { SourceRegistry } from "../support/registry.js";
import type { DemoSize } from "../support/kit.js";

export interface SimulatedWindow {
  from: string;
  to: string;
  /** The simulator's size (DemoContext.size); default "demo". */
  size?: DemoSize;
}

/**
 * Starts the simulated systems the given stages need (all stages when none are named); returns the stop function.
 * A source without a registered simulated window (not a demo lake) is left alone and its module is not loaded.
 */
export async function serveSimulatedSources(runtime: LakeRuntime, registry: SourceRegistry, stages?: readonly string[]): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const codes = stages ? [...new Set(stages.map((s) => s.split("-")[0]!))].filter((c) => registry.has(c)) : registry.codes();
  try {
    for (const code of codes) {
      const settings = runtime.sourceConfig(code);
      const window = settings.simulatedWindow as SimulatedWindow | undefined;
      if (!window) continue;
      const source = await registry.source(code);
      const sim = await source.loadDemo();
      if (!sim?.serve) continue;
      const needed = sim.serveFor ?? source.stageNames;
      if (stages && !stages.some((s) => needed.includes(s))) continue;
      // Later commands meet healthy simulated systems: the demonstration faults are the demo's own (DemoContext.faults).
      const served = await sim.serve({ home: runtime.home, zone: runtime.zone, from: window.from, to: window.to, ...(window.size ? { size: window.size } : {}), faults: false });
      stops.push(served.stop);
      runtime.overrideSourceConfig(code, { ...settings, ...served.sourceConfig });
    }
  } catch (err) {
    for (const stop of stops) await stop();
    throw err;
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
