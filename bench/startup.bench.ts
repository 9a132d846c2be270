/**
 * Start-up: separate processes, in turn within one run, of `node -e 0` (the floor), `lake --help` and a stage with
 * nothing to do on a demo lake (`lake run wt-ready -s 2024-11-01 -e 2024-11-02`, its day already done). Prints wall
 * seconds (spawn to exit, seen by this process) and peak RSS MiB (the child's own peak, VmHWM: see measure.ts PEAK_HOOK), median min–max.
 * Budget (issue 13): each ≤ 0.2 s and ≤ 60 MiB on a quiet 2-core machine.
 *
 * BENCH_STARTUP_RUNS (default 9) runs each; BENCH_STARTUP_LAKE=<path to bin/lake.js> measures another checkout
 * (e.g. an older one, for before/after); BENCH_STARTUP_HOME=<dir> reuses a demo lake instead of making one.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBuilt, root } from "../test/helpers/build.js";
import { fmt, PEAK_HOOK } from "./measure.js";

/** Preloaded into every child (the floor too): writes its own peak RSS (measure.ts PEAK_HOOK) to $LAKE_RUSAGE_OUT. */
const RSS_HOOK = PEAK_HOOK;

interface Sample {
  wall: number;
  rssMiB: number;
}

function runOnce(args: string[], env: NodeJS.ProcessEnv, cwd: string, rssFile: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--import", RSS_HOOK, ...args], { cwd, env: { ...env, LAKE_RUSAGE_OUT: rssFile }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += String(d)));
    child.on("error", reject);
    child.on("exit", (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`${args.join(" ")} exited ${code}: ${err}`));
      resolve({ wall, rssMiB: (JSON.parse(readFileSync(rssFile, "utf8")) as { rss: number }).rss / 1024 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function run(): Promise<void> {
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 9);
  const lake = path.resolve(process.env.BENCH_STARTUP_LAKE ?? path.join(root, "bin/lake.js"));
  if (!process.env.BENCH_STARTUP_LAKE) await ensureBuilt();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-startup-"));
  try {
    const home = process.env.BENCH_STARTUP_HOME ?? path.join(tmp, "lake");
    if (!process.env.BENCH_STARTUP_HOME) {
      // Two sources: wt for the stage, gs for a simulated device API that a wt stage must not start.
      const demo = spawnSync(process.execPath, [lake, "demo", "--dir", home, "--sources", "wt,gs", "--json"], { cwd: tmp, encoding: "utf8" });
      if (demo.status !== 0) throw new Error(`demo failed: ${demo.stderr}`);
    }
    const env = { ...process.env, LAKE_HOME: home };
    const commands: { label: string; args: string[] }[] = [
      { label: "node -e 0", args: ["-e", "0"] },
      { label: "lake --help", args: [lake, "--help"] },
      { label: "lake run wt-ready (nothing to do)", args: [lake, "run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02"] },
    ];
    const samples = new Map(commands.map((c) => [c.label, [] as Sample[]]));
    const rssFile = path.join(tmp, "rss");
    for (const c of commands) await runOnce(c.args, env, tmp, rssFile); // warm-up (file cache)
    for (let i = 0; i < runs; i++) {
      for (const c of commands) samples.get(c.label)!.push(await runOnce(c.args, env, tmp, rssFile));
    }
    console.log(`${lake} (${runs} runs each, interleaved; median [min–max])`);
    console.log(`${"command".padEnd(36)} ${"wall s".padStart(20)} ${"peak RSS MiB".padStart(22)}`);
    for (const c of commands) {
      const s = samples.get(c.label)!;
      const w = s.map((x) => x.wall);
      const r = s.map((x) => x.rssMiB);
      const cell = (xs: number[], d: number) => `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}]`;
      console.log(`${c.label.padEnd(36)} ${cell(w, 3).padStart(20)} ${cell(r, 1).padStart(22)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
