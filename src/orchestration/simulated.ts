/**
 * Simulated source systems that must run while stages run (the GRIDSMART device API of the demo). `lake demo`
 * registers each source's simulated window in <home>/sources/config.json (`simulatedWindow`); commands that run
 * stages start the systems of the sources whose stages read them (see readsSourceSystem) and point the source at them.
 */
import { sources } from "../sources/index.js";
import type { AppClass } from "../support/etl-app.js";
import type { LakeRuntime } from "../support/runtime.js";

export interface SimulatedWindow {
  from: string;
  to: string;
}

/** A stage with no source layer reads its source's outside system (an ingest stage); the others read the lake. */
export function readsSourceSystem(App: AppClass): boolean {
  return App.definition.purposeSrc === undefined;
}

/**
 * Starts the simulated systems of the given sources (those that have one and were registered by the demo) and
 * returns the function that stops them.
 */
export async function serveSimulatedSources(runtime: LakeRuntime, codes: string[]): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  for (const code of codes) {
    const settings = runtime.sourceConfig(code);
    const window = settings.simulatedWindow as SimulatedWindow | undefined;
    const load = sources[code];
    if (!window || !load) continue;
    const { pipeline } = await load();
    if (!pipeline.serve) continue;
    const served = await pipeline.serve({ home: runtime.home, zone: runtime.zone, from: window.from, to: window.to });
    stops.push(served.stop);
    runtime.overrideSourceConfig(code, { ...settings, ...served.sourceConfig });
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
