/**
 * Isolated runs (src/support/isolated-run.ts): the child leads a process group of its own, so it would survive a
 * worker killed with SIGKILL; its heartbeat on the IPC channel takes it and what it started down with the worker.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { tempDir } from "../core/helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Alive and not a zombie (a reaped or defunct process is gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function until(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

it("a run's child and its own children do not outlive a worker killed with SIGKILL", async () => {
  const dir = tempDir("lake-orphan-");
  dirs.push(dir);
  const worker = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "fixtures/orphan-worker.ts"), dir], { stdio: "ignore" });
  const pidFile = path.join(dir, "pids.json");
  await until("the run started", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("}"));
  const { child, grandchild } = JSON.parse(readFileSync(pidFile, "utf8")) as { child: number; grandchild: number };
  expect(alive(child) && alive(grandchild)).toBe(true);
  const exited = new Promise((r) => worker.on("exit", r));
  worker.kill("SIGKILL");
  await exited;
  await until("the run's child and grandchild are gone", () => !alive(child) && !alive(grandchild));
  expect([alive(child), alive(grandchild)]).toEqual([false, false]);
}, 120_000);
