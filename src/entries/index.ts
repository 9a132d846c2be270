/**
 * Stage entries: src/entries/<source>-<stage>.ts, each exporting `App` (its ETLApp class) and `main`. A static map of
 * lazy imports, so the compiled bundle finds every stage and `lake run X` loads only X (test/core/cli.test.ts
 * checks that the map names every file of this folder).
 */
import type { AppClass, MainFn } from "../support/etl-app.js";
import { UsageError } from "../support/errors.js";

export interface EntryModule {
  App: AppClass;
  main: MainFn;
}

const ENTRIES: Record<string, () => Promise<Partial<EntryModule>>> = {
  "bt-extract-soc": () => import("./bt-extract-soc.js"),
  "bt-insert-lake": () => import("./bt-insert-lake.js"),
  "bt-json-standard": () => import("./bt-json-standard.js"),
  "bt-ready": () => import("./bt-ready.js"),
  "gs-agg-extract-soc": () => import("./gs-agg-extract-soc.js"),
  "gs-insert-lake": () => import("./gs-insert-lake.js"),
  "gs-json-standard": () => import("./gs-json-standard.js"),
  "gs-ready": () => import("./gs-ready.js"),
  "gs-ready-agg": () => import("./gs-ready-agg.js"),
  "wt-extract-soc": () => import("./wt-extract-soc.js"),
  "wt-insert-lake": () => import("./wt-insert-lake.js"),
  "wt-json-standard": () => import("./wt-json-standard.js"),
  "wt-ready": () => import("./wt-ready.js"),
};

export function entryNames(): string[] {
  return Object.keys(ENTRIES).sort();
}

export async function loadEntry(name: string): Promise<EntryModule> {
  const load = Object.hasOwn(ENTRIES, name) ? ENTRIES[name] : undefined;
  if (!load) throw new UsageError(`Unknown stage "${name}" (known: ${entryNames().join(", ") || "none"}); see \`lake list\``);
  const mod = await load();
  if (!mod.App || !mod.main) throw new UsageError(`Stage module ${name} must export App and main`);
  return mod as EntryModule;
}
