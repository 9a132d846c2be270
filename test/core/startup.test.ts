/**
 * Start-up of the compiled `lake` (dist/): which packages and built-ins a short command loads. Vendor SDKs load only
 * when their driver is chosen, YAML only for a YAML config file, simulated source systems only for a stage that
 * reads its source system, and never tsx. (Counts modules, not time: `npm run bench -- startup` gives the figures.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "./helpers.js";

const TRACE = path.join(root, "test/helpers/module-trace.mjs");
const INTL_TRACE = path.join(root, "test/helpers/intl-trace.mjs");
const withoutTz = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const { TZ: _tz, ...rest } = env;
  return rest;
};
const VENDOR = ["@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@supabase/postgrest-js", "pg", "mssql", "tedious", "bullmq", "ioredis", "soda-js"];

let home: string;
let work: string;

/** Runs bin/lake.js with the module trace; returns the exit status and the distinct names it loaded. */
function traced(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string; loaded: Set<string> } {
  const out = path.join(work, `trace-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(out, "");
  const r = spawnSync(process.execPath, ["--import", TRACE, path.join(root, "bin/lake.js"), ...args], {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, LAKE_HOME: home, LAKE_MODULE_TRACE: out, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, loaded: new Set(readFileSync(out, "utf8").split("\n").filter(Boolean)) };
}

/** The bundle's files a traced run compiled (module-trace.mjs's `dist <bytes> <url>` lines): list, KiB, listing. */
function bundleLoaded(loaded: Set<string>) {
  const files = [...loaded].filter((l) => l.startsWith("dist ")).map((l) => ({ bytes: Number(l.split(" ")[1]), url: l.split(" ")[2]! }));
  return { files, kib: files.reduce((n, f) => n + f.bytes, 0) / 1024, list: files.map((f) => `${f.bytes} ${f.url}`).join("\n") };
}

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("lake-startup-");
  home = path.join(work, "lake");
  // A demo lake with a source that has a simulated system running alongside its stages (gs: the device API).
  const demo = spawnSync(process.execPath, [path.join(root, "bin/lake.js"), "demo", "--dir", home, "--sources", "wt,gs", "--json"], { cwd: work, encoding: "utf8" });
  expect(demo.status, demo.stderr).toBe(0);
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("start-up of the compiled lake", () => {
  it("lake --help loads no package from node_modules (everything it needs is in the bundle) and not tsx", () => {
    const r = traced(["--help"]);
    expect(r.status).toBe(0);
    expect([...r.loaded].filter((m) => !m.startsWith("node:") && !m.startsWith("dist "))).toEqual([]);
  });

  it("a stage with nothing to do loads SQLite for the catalog, and no vendor SDK, no YAML parser, no simulated system of another source", () => {
    const r = traced(["run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped 1 item: already done/);
    expect(r.loaded.has("better-sqlite3")).toBe(true);
    // Its addon is loaded by path (drivers/sqlite-db.ts), not found by the `bindings` package's search.
    expect(r.loaded.has("bindings")).toBe(false);
    for (const m of [...VENDOR, "yaml", "tsx", "esbuild", "cli-progress"]) expect(r.loaded.has(m), m).toBe(false);
    // The demo's GRIDSMART device API (an HTTP server) is not started for a Wavetronix stage.
    expect(r.loaded.has("node:http")).toBe(false);
    // Nor node:vm / node:v8 (the pipeline's garbage collection reaches them only when it runs: +0.4 MiB at start).
    expect(r.loaded.has("node:vm")).toBe(false);
    expect(r.loaded.has("node:v8")).toBe(false);
  });

  it("lake --help compiles at most 150 KiB of the bundle (commander and the command list: no luxon, no zod)", () => {
    const r = traced(["--help"]);
    expect(r.status).toBe(0);
    const { files, kib, list } = bundleLoaded(r.loaded);
    expect(files.length).toBeGreaterThan(0);
    expect(kib, list).toBeLessThanOrEqual(150);
  });

  it("a stage with nothing to do compiles at most 600 KiB of the bundle, in at most 64 files (the start-up budget's guard)", () => {
    // Time and RSS of a short command follow the JavaScript it compiles and the files it loads (about 560 KiB in
    // 50 files for 0.17 s / 59 MiB on a quiet machine): this fails when a change pulls a large module into the start path.
    const r = traced(["run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02"]);
    expect(r.status, r.stderr).toBe(0);
    const { files, kib, list } = bundleLoaded(r.loaded);
    expect(files.some((f) => f.url.endsWith("/dist/cli.js"))).toBe(true);
    expect(kib, list).toBeLessThanOrEqual(600);
    expect(files.length).toBeLessThanOrEqual(64);
  });

  it("a stage with nothing to do builds no Intl formatter (the lake zone is the process's: no ICU zone data loaded)", () => {
    const out = path.join(work, `intl-${Math.random().toString(36).slice(2)}.txt`);
    const run = (env: Record<string, string>) => {
      writeFileSync(out, "");
      const r = spawnSync(process.execPath, ["--import", INTL_TRACE, path.join(root, "bin/lake.js"), "run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02"], {
        cwd: work,
        encoding: "utf8",
        env: { ...withoutTz(process.env), LAKE_HOME: home, LAKE_INTL_TRACE: out, ...env },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/skipped 1 item: already done/);
      return readFileSync(out, "utf8").split("\n").filter(Boolean);
    };
    expect(run({})).toEqual([]);
    // The positive case: with TZ naming another zone the process zone is refused and luxon's own zone builds them.
    expect(run({ TZ: "UTC" }).some((l) => l.startsWith("Intl.DateTimeFormat"))).toBe(true);
  });

  it("an ingest stage of a source with a simulated system starts it (the positive case of the test above)", () => {
    const r = traced(["run", "gs-insert-lake", "-s", "2024-11-01", "-e", "2024-11-02"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.loaded.has("node:http")).toBe(true);
  });

  it("the YAML parser loads when the config file is YAML", () => {
    const config = path.join(work, "lake.config.yaml");
    writeFileSync(config, `home: ${home}\n`);
    const r = traced(["run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02", "--config", config]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.loaded.has("yaml")).toBe(true);
  });

  it("a vendor SDK loads when its driver is chosen (the trace sees externals)", () => {
    const config = path.join(work, "pg.config.json");
    // An unreachable PostgreSQL catalog: the run fails, but only after loading pg for the chosen driver.
    writeFileSync(config, JSON.stringify({ home, catalog: { driver: "postgres", options: { connectionString: "postgres://nobody@127.0.0.1:1/none" } } }));
    const r = traced(["run", "wt-ready", "-s", "2024-11-01", "-e", "2024-11-02", "--no-leases", "--config", config]);
    expect(r.status).not.toBe(0);
    expect(r.loaded.has("pg")).toBe(true);
    expect(r.loaded.has("@aws-sdk/client-s3")).toBe(false);
  });
});
