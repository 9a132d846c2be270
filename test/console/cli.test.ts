/**
 * `lake serve` as a user runs it: the demo prints the console command, the command serves the demo lake until it is
 * stopped, and a non-loopback host without LAKE_CONSOLE_TOKEN is refused.
 */
import { beforeAll, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";

const lake = path.join(root, "bin/lake.js");
let home: string;

beforeAll(async () => {
  await ensureBuilt();
  home = path.join(tempDir("lake-serve-"), "lake");
  const demo = spawnSync(process.execPath, [lake, "demo", "--dir", home, "--sources", "wt"], { encoding: "utf8" });
  expect(demo.status, demo.stderr).toBe(0);
  expect(demo.stdout).toContain(`LAKE_HOME=${home} npx lake serve`);
  // The demo writes a config later commands pick up, and prints commands that use it with a clock in its window.
  expect(demo.stdout).toMatch(/LAKE_CLOCK=2024-11-10T09:00:00-06:00 npx lake run wt-insert-lake -s 7 -F --config \S*lake\.config\.json/);
  const cfg = path.join(home, "lake.config.json");
  const rerun = spawnSync(process.execPath, [lake, "run", "wt-insert-lake", "-s", "7", "--config", cfg, "--json"], { encoding: "utf8", cwd: root, env: { ...process.env, LAKE_HOME: "", LAKE_CLOCK: "2024-11-10T09:00:00-06:00" } });
  expect(rerun.status, rerun.stderr).toBe(0);
  expect(JSON.parse(rerun.stdout.trim().split("\n").pop()!).skipped).toBe(7); // the demo's days, found through the config
}, 120_000);

it("serves the demo lake until stopped", async () => {
  const child = spawn(process.execPath, [lake, "serve", "--port", "0"], { env: { ...process.env, LAKE_HOME: home, LAKE_CONSOLE_TOKEN: "" } });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /lake console on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`lake serve exited ${code}: ${out}`)));
    });
    const overview = (await (await fetch(`${url}/api/overview`)).json()) as { sources: { code: string; stages: { lastRun: unknown }[] }[] };
    expect(overview.sources.find((s) => s.code === "wt")!.stages.every((s) => s.lastRun !== null)).toBe(true);
    expect((await fetch(`${url}/api/runs`, { method: "POST" })).status).toBe(405);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  }
  expect(child.exitCode).toBe(0);
});

it("refuses a non-loopback host without a token", () => {
  const r = spawnSync(process.execPath, [lake, "serve", "--host", "0.0.0.0", "--port", "0"], { env: { ...process.env, LAKE_HOME: home, LAKE_CONSOLE_TOKEN: "" }, encoding: "utf8" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/LAKE_CONSOLE_TOKEN/);
});
