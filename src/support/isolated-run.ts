/**
 * Isolated runs (seed-systems §4.8, F28), for any source: a function of a module run in a child process of its own,
 * in a given working directory, so a hang or a crash cannot take the calling worker down.
 *
 * - the child gets its input as JSON on stdin (never on the command line: it may hold credentials), imports the
 *   module, calls the export with it and a `ready()` callback and exits with the number the export returns (0 when
 *   it returns anything else); an uncaught error exits 1 with its stack in the log;
 * - stdout and stderr go to a log file (the run's log, e.g. inside its working directory);
 * - the environment is the bare minimum (PATH, TZ, NODE_EXTRA_CA_CERTS, HOME = the working directory) plus what the
 *   caller adds: the parent's secrets are not inherited;
 * - the timeout counts from `ready()` (the export calls it when its own work starts); before that, loading has its
 *   own allowance (`startMs`); at either, the child and everything it started (its process group) is killed with
 *   SIGKILL;
 * - the child leads a process group of its own (so the timeout kills what it started) and therefore would not die
 *   with its parent: it watches the IPC channel as a heartbeat and, when the channel closes (the worker was killed,
 *   even with SIGKILL), kills its whole group itself;
 * - a TypeScript module (tests, development) is loaded through tsx.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { zipSync } from "fflate";

export interface IsolatedRun {
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Whether it got to ready() (a kill before it was at the start allowance). */
  started: boolean;
}

export interface IsolatedRunOptions {
  /** The module's file URL (import.meta.url of the module that exports the function). */
  module: string;
  export: string;
  input: unknown;
  /** The child's working directory (it exists). */
  cwd: string;
  /** From ready(): the work's own time. */
  timeoutMs: number;
  /** Until ready(): loading Node, the module and what it imports (default 120 s). */
  startMs?: number;
  /** Where stdout and stderr go (appended). */
  logFile: string;
  env?: Record<string, string>;
}

const CHILD = [
  // The parent is gone (the channel closed): take the group down with it, whatever the job is doing.
  "process.on('disconnect', () => { try { process.kill(-process.pid, 'SIGKILL'); } catch { process.exit(1); } });",
  "const parts = []; for await (const c of process.stdin) parts.push(c);",
  "const spec = JSON.parse(Buffer.concat(parts).toString('utf8'));",
  "process.chdir(spec.cwd);",
  "const m = await import(spec.module);",
  "if (typeof m[spec.export] !== 'function') throw new Error(`${spec.module} exports no function ${spec.export}`);",
  "const code = await m[spec.export](spec.input, () => { process.send?.('ready'); process.channel?.unref(); });",
  "process.exit(typeof code === 'number' ? code : 0);",
].join("\n");

export async function runIsolated(o: IsolatedRunOptions): Promise<IsolatedRun> {
  const log = openSync(o.logFile, "a");
  const env: Record<string, string> = { HOME: o.cwd, ...o.env };
  for (const k of ["PATH", "TZ", "NODE_EXTRA_CA_CERTS", "SystemRoot"]) if (process.env[k] !== undefined) env[k] ??= process.env[k]!;
  const loader = o.module.endsWith(".ts") ? ["--import", "tsx"] : [];
  try {
    const child = spawn(process.execPath, [...loader, "--input-type=module", "-e", CHILD], { cwd: process.cwd(), env, detached: true, stdio: ["pipe", log, log, "ipc"] });
    child.channel?.unref();
    let timedOut = false;
    let started = false;
    const kill = () => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL"); // the group: what the job started (a browser) goes too
      } catch {
        child.kill("SIGKILL");
      }
    };
    let timer = setTimeout(kill, o.startMs ?? 120_000);
    child.on("message", (m) => {
      if (m !== "ready") return;
      started = true;
      clearTimeout(timer);
      timer = setTimeout(kill, o.timeoutMs);
    });
    const done = new Promise<IsolatedRun>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (exitCode, signal) => resolve({ exitCode, signal, timedOut, started }));
    });
    child.stdin!.on("error", () => undefined); // a child that dies before reading its input
    child.stdin!.end(JSON.stringify({ module: o.module, export: o.export, input: o.input, cwd: o.cwd }));
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    closeSync(log);
  }
}

/** Every file under a folder, zipped (paths relative to it, "/"-separated). */
export async function zipDirectory(dir: string): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    files[path.relative(dir, full).split(path.sep).join("/")] = await readFile(full);
  }
  return zipSync(files);
}
