/**
 * Executing a compiled stage file (`node dist/stages/wt-ready.js -s 7`) runs its main on the command line; importing
 * it (`import { main } from "lakeflow/stages/wt-ready"`) does not. The build writes one such file per stage of the
 * source registry, each calling runIfMain (scripts/build.mjs). The terminal runner loads only when the file is the
 * process's script.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { MainFn } from "../support/etl-app.js";

export function runIfMain(metaUrl: string, main: MainFn): void {
  const entry = process.argv[1];
  if (!entry) return;
  let same = false;
  try {
    same = realpathSync(entry) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    same = false;
  }
  if (!same) return;
  void import("./entry.js")
    .then(({ runMainCli }) => runMainCli(main, process.argv.slice(2)))
    .then((code) => {
      process.exitCode = code;
    });
}
