/**
 * Stage entries: src/entries/<source>-<stage>.ts, each exporting `App` (its ETLApp class) and `main`.
 * Found by file name, so adding a stage needs no edit here.
 */
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { AppClass, MainFn } from "../support/etl-app.js";
import { UsageError } from "../support/errors.js";

export interface EntryModule {
  App: AppClass;
  main: MainFn;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const ENTRY_NAME = /^[a-z0-9]+(-[a-z0-9]+)+$/;

export function entryNames(): string[] {
  return readdirSync(here)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))
    .map((f) => f.replace(/\.(ts|js)$/, ""))
    .filter((n) => ENTRY_NAME.test(n))
    .sort();
}

export async function loadEntry(name: string): Promise<EntryModule> {
  const known = entryNames();
  if (!ENTRY_NAME.test(name) || !(existsSync(path.join(here, `${name}.ts`)) || existsSync(path.join(here, `${name}.js`)))) {
    throw new UsageError(`Unknown stage "${name}" (known: ${known.join(", ") || "none"}); see \`lake list\``);
  }
  const mod = (await import(`./${name}.js`)) as Partial<EntryModule>;
  if (!mod.App || !mod.main) throw new UsageError(`Stage module ${name} must export App and main`);
  return mod as EntryModule;
}
