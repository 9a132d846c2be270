/**
 * The compiled package as a user gets it: `npm pack` of the checkout, installed into an empty folder, then the
 * installed `lake` and a plain Node script importing `lakeflow/stages/wt-insert-lake` (no tsx: it is a development
 * dependency and not installed). Dependencies come from npm's cache when it has them (`npm ci` of the checkout
 * filled it), else from the registry. Install scripts are skipped, so the SQLite addon is copied from the checkout's
 * build instead of compiled (what better-sqlite3's install would produce).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "./helpers.js";

const npm = (args: string[], cwd: string) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

let work: string;
let app: string;

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("lake-package-");
  app = path.join(work, "app");
  npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", work], root);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  expect(tarball).toBeDefined();
  execFileSync("mkdir", [app]);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "lake-consumer", private: true, type: "module" }));
  npm(["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", path.join(work, tarball!)], app);
  const addon = "node_modules/better-sqlite3/build/Release/better_sqlite3.node";
  cpSync(path.join(root, addon), path.join(app, addon));
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed lakeflow package", () => {
  it("holds the bundle and its declarations, not the sources or tsx", () => {
    const pkg = path.join(app, "node_modules/lakeflow");
    for (const f of ["dist/cli.js", "dist/index.js", "dist/stages/wt-insert-lake.js", "dist/sources/wt.js", "dist/types/src/index.d.ts", "dist/types/stages/wt-insert-lake.d.ts", "dist/types/sources/wt.d.ts", "bin/lake.js"]) {
      expect(existsSync(path.join(pkg, f)), f).toBe(true);
    }
    expect(existsSync(path.join(pkg, "src"))).toBe(false);
    expect(existsSync(path.join(app, "node_modules/tsx"))).toBe(false);
  });

  it("its lake command runs the demo and a plain Node script runs a stage by its package path", () => {
    const lake = path.join(app, "node_modules/.bin/lake");
    const version = spawnSync(lake, ["--version"], { cwd: app, encoding: "utf8" });
    expect(version.stdout.trim()).toBe("0.1.0");
    const home = path.join(app, "lake");
    const demo = spawnSync(lake, ["demo", "--dir", home, "--sources", "wt", "--json"], { cwd: app, encoding: "utf8" });
    expect(demo.status, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout.trim().split("\n").pop()!)).toMatchObject({ failed: 0, processed: 56 });

    writeFileSync(
      path.join(app, "run.mjs"),
      [
        'import { main } from "lakeflow/stages/wt-insert-lake";',
        'import wt from "lakeflow/sources/wt";',
        'import { LakeRuntime } from "lakeflow";',
        'const summary = await main(["-s", "2024-10-27", "-e", "2024-11-10"]);',
        "console.log(JSON.stringify({ processed: summary.processed, skipped: summary.skipped, failed: summary.failed, stages: wt.stageNames, runtime: typeof LakeRuntime }));",
      ].join("\n"),
    );
    const run = spawnSync(process.execPath, ["run.mjs"], { cwd: app, encoding: "utf8", env: { ...process.env, LAKE_HOME: home } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({
      processed: 0,
      skipped: 14,
      failed: 0,
      stages: ["wt-insert-lake", "wt-json-standard", "wt-ready", "wt-extract-soc"],
      runtime: "function",
    });

    // Executed as a script, a stage file runs its main on the command line.
    const script = spawnSync(process.execPath, [path.join(app, "node_modules/lakeflow/dist/stages/wt-ready.js"), "-s", "2024-11-01", "-e", "2024-11-02", "--json"], {
      cwd: app,
      encoding: "utf8",
      env: { ...process.env, LAKE_HOME: home },
    });
    expect(script.status, script.stderr).toBe(0);
    expect(JSON.parse(script.stdout.trim().split("\n").pop()!)).toMatchObject({ app: "wt-ready", processed: 0, skipped: 1 });
  });

  it("its declarations type a consumer's import of a stage's main", () => {
    writeFileSync(
      path.join(app, "check.ts"),
      ['import { main } from "lakeflow/stages/wt-insert-lake";', 'import wt from "lakeflow/sources/wt";', "const names: string[] = wt.stageNames;", "const s = await main([]);", "const n: number = s.processed;", "// @ts-expect-error a summary has no such field", "s.nope;", "export { n, names };"].join("\n"),
    );
    writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ["check.ts"] }),
    );
    const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", app], { cwd: app, encoding: "utf8" });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  });
});
