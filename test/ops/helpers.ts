/** A temp lake on the embedded defaults (local storage, SQLite catalog and blocks) for the ops tests. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { afterEach, vi } from "vitest";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import type { LakeConfigInput } from "../../src/config/schema.js";
import { createProgress } from "../../src/cli/progress.js";
import type { ActionDeps } from "../../src/cli/shared.js";
import { ttRegistry } from "./fixtures/tt-source.js";

export const NOW = "2024-11-20T10:00:00-06:00";

export function tempHome(prefix = "lake-ops-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function ttConfig(home: string, tt: Record<string, unknown> = {}, extra: Partial<LakeConfigInput> = {}): LakeConfigInput {
  return { home, sources: { tt: { log: path.join(home, "runs.log"), ...tt } }, ...extra } as LakeConfigInput;
}

export function makeRuntime(home: string, tt: Record<string, unknown> = {}, extra: Partial<LakeConfigInput> = {}): LakeRuntime {
  return LakeRuntime.create({ overrides: ttConfig(home, tt, extra), clock: fixedClock(NOW), cwd: home, env: {} });
}

/** Deps for an action: the runtime, the test registry, output captured into `text`. */
export function deps(runtime: LakeRuntime): ActionDeps & { text: () => string } {
  let buf = "";
  return { runtime, registry: ttRegistry, out: (s) => (buf += s), progress: createProgress({ quiet: true }), text: () => buf };
}

/** Lines of the tt stage-run log ("<stage> <day> <pid>"). */
export function runLog(home: string): string[] {
  const f = path.join(home, "runs.log");
  return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : [];
}

/** Every file under dir with its bytes (to prove a dry run wrote nothing). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = readFileSync(p).toString("base64");
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * lake(tt, extra, home?) makes a runtime on a temp home (or the given one) with captured deps; every home and runtime
 * made is closed and removed after each test.
 */
export function useLakes() {
  const homes: string[] = [];
  const runtimes: LakeRuntime[] = [];
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  return {
    lake(tt: Record<string, unknown> = {}, extra: Partial<LakeConfigInput> = {}, home = tempHome()) {
      if (!homes.includes(home)) homes.push(home);
      const runtime = makeRuntime(home, tt, extra);
      runtimes.push(runtime);
      return { home, runtime, d: deps(runtime) };
    },
  };
}

/** The raw BullMQ queue a lake's `queue: {driver: bullmq}` names (tests look past the driver: workers, counts, cleanup). */
export async function rawBullQueue(runtime: LakeRuntime) {
  const { Queue } = await import("bullmq");
  const o = runtime.config.queue.options as { url?: string; queueName?: string; prefix?: string };
  const url = o.url ?? runtime.secrets.get("REDIS_URL");
  return new Queue(o.queueName ?? "lake-blocks", { connection: { url: url!, maxRetriesPerRequest: null }, prefix: o.prefix ?? "bull" });
}

/** Runs the CLI in this process, capturing what it writes to stdout and stderr. */
export async function captureCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import("../../src/cli/index.js");
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await runCli(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** A stream standing for stderr, on a terminal (tty) or not, that keeps what is written to it. */
export function fakeStream(tty: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  s.isTTY = tty;
  s.columns = 160;
  let text = "";
  s.on("data", (b) => (text += String(b)));
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}
