/**
 * The compiled package for tests and benchmarks that run bin/lake.js or dist/: builds dist/ (scripts/build.mjs) when
 * it is missing or older than the sources, once across parallel test processes (a lock folder).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const root = path.resolve(import.meta.dirname, "../..");
const STAMP = path.join(root, "dist/types/src/index.d.ts");
/** Longer than any build takes: a lock this old was left by a killed process. */
const STALE_LOCK_MS = 15 * 60_000;
const INPUTS = ["src", "bin", "scripts/build.mjs", "package.json", "tsconfig.json", "tsconfig.build.json"];

function newest(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let n = st.mtimeMs;
  for (const e of readdirSync(p)) n = Math.max(n, newest(path.join(p, e)));
  return n;
}

function fresh(): boolean {
  let built: number;
  try {
    built = Math.min(statSync(STAMP).mtimeMs, statSync(path.join(root, "dist/cli.js")).mtimeMs);
  } catch {
    return false;
  }
  return INPUTS.every((p) => newest(path.join(root, p)) <= built);
}

export async function ensureBuilt(): Promise<void> {
  const lock = path.join(root, "node_modules/.cache/lake-build.lock");
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    if (fresh()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another test process is building; a lock left by a killed build (older than any build takes) is removed.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      if (fresh()) return;
      const r = spawnSync(process.execPath, [path.join(root, "scripts/build.mjs")], { cwd: root, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
