import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "./helpers.js";
import { ensureBuilt } from "../helpers/build.js";
import { sources } from "../../src/sources/index.js";
import { SourceRegistry } from "../../src/support/registry.js";

const root = path.resolve(import.meta.dirname, "../..");
const lake = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(root, "bin/lake.js"), ...args], { encoding: "utf8", env: { ...process.env, ...env }, cwd: tempDir() });
const tt = (args: string[], cwd: string) =>
  spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(root, "test/core/tt-cli.ts"), ...args], {
    encoding: "utf8",
    cwd,
    env: { ...process.env, LAKE_HOME: cwd },
  });

// bin/lake.js runs the compiled bundle.
beforeAll(() => ensureBuilt(), 900_000);

describe("lake CLI", () => {
  it("--version prints the package's version", () => {
    const r = lake(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version);
  });

  it("--help works offline and lists the commands", () => {
    const r = lake(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/run <stage>/);
    expect(r.stdout).toMatch(/demo/);
  });

  it("an unknown stage or command is a usage error (exit 2)", () => {
    const r = lake(["run", "no-such-stage", "-s", "1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown stage "no-such-stage"/);
    expect(lake(["frobnicate"]).status).toBe(2);
  });

  it("a stage prints its summary as JSON on the last line with --json; exit 0, 1 on item failures, 2 on usage errors", () => {
    const home = tempDir();
    const share = path.join(home, "share");
    mkdirSync(share);
    writeFileSync(path.join(share, "tt_11-01-2024.csv"), "a\n");
    writeFileSync(path.join(share, "tt_11-02-2024.csv"), "b\n");
    const ok = tt(["-s", "2024-11-01", "-e", "2024-11-03", "-d", share, "--json"], home);
    expect(ok.status).toBe(0);
    const last = JSON.parse(ok.stdout.trim().split("\n").pop()!);
    expect(last).toMatchObject({ processed: 2, skipped: 0, failed: 0 });
    const again = tt(["-s", "2024-11-01", "-e", "2024-11-03", "-d", share, "--json"], home);
    expect(JSON.parse(again.stdout.trim().split("\n").pop()!)).toMatchObject({ processed: 0, skipped: 2, failed: 0 });
    const bad = tt(["-s", "2024-11-01", "-e", "2024-10-01", "-d", share], home);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/before the start/);
    const unknown = tt(["-s", "1", "--wat"], home);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--wat'/);
    const missing = tt(["-s", "2024-11-01", "-d", path.join(home, "nope")], home);
    expect(missing.status).toBe(1);
  });

  it("the registry names every source folder of src/sources/; each loads with its stages' App and main", async () => {
    const folders = readdirSync(path.join(root, "src/sources"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    const registry = new SourceRegistry(sources);
    expect([...registry.codes()].sort()).toEqual(folders);
    for (const stage of await registry.stages()) {
      expect(stage.App.definition.name).toBe(stage.name);
      expect(stage.name.startsWith(`${stage.source.code}-`)).toBe(true);
      expect(typeof stage.main).toBe("function");
      expect((await registry.stage(stage.name)).App).toBe(stage.App);
    }
  });
});
