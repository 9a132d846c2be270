/**
 * Temp files of atomic writes (write beside the target, then rename), named so that a later process can tell an
 * abandoned one from one being written: `.lake-tmp-<host>-<pid>-<random>-<name>`, <host> a short hash of the host
 * name. A temp file whose writer was a process of this host that is no longer alive was left by a kill; the next
 * process that writes into (or lists) that folder removes it. Temp files of other hosts (a shared volume) or of live
 * processes are left alone; listings never show any temp file.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

export const TEMP_PREFIX = ".lake-tmp-";
const HOST = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
const PATTERN = /^\.lake-tmp-([0-9a-f]{8})-(\d+)-[0-9a-f]{8}-/;

/** The temp file to write before renaming it to `file` (same folder, so the rename is atomic). */
export function tempPathFor(file: string): string {
  const base = path.basename(file).slice(0, 80);
  return path.join(path.dirname(file), `${TEMP_PREFIX}${HOST}-${process.pid}-${randomBytes(4).toString("hex")}-${base}`);
}

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when name is a temp file written by a process of this host that has exited (or been killed). */
export function isAbandonedTemp(name: string): boolean {
  const m = PATTERN.exec(name);
  if (!m || m[1] !== HOST) return false;
  const pid = Number(m[2]);
  return pid !== process.pid && !alive(pid);
}

/** Removes the abandoned temp files directly in dir; returns their paths. A missing folder has none. */
export function sweepTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isAbandonedTemp(name)) continue;
    const file = path.join(dir, name);
    rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}

const swept = new Set<string>();

/** sweepTemps once per folder per writer (seen: the writer's folders; default this process's). */
export function sweepTempsOnce(dir: string, seen: Set<string> = swept): void {
  if (seen.has(dir)) return;
  seen.add(dir);
  sweepTemps(dir);
}
