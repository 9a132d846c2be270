/**
 * docs/sources/new-source.md's promise, done as a new user does it: copy the example folder (src/sources/counters),
 * rename what names the source (code, name, dataset ids), add one line to the registry, build, and the new source is
 * listed, runs in the demo and publishes. The copy is a checkout's src/ beside this one (so node_modules resolves);
 * no framework file is edited.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../helpers/build.js";

let copy: string;

/** The steps of the doc's "Start from the example" section. */
function addTallySource(checkout: string): void {
  const dir = path.join(checkout, "src/sources/tally");
  cpSync(path.join(checkout, "src/sources/counters"), dir, { recursive: true });
  const file = path.join(dir, "source.ts");
  const text = readFileSync(file, "utf8");
  const renamed = text.replace('code: "counters"', 'code: "tally"').replace('name: "Counters"', 'name: "Tally"').replaceAll("counters-15min", "tally-15min");
  expect(renamed).not.toBe(text);
  writeFileSync(file, renamed);
  const registry = path.join(checkout, "src/sources/index.ts");
  const lines = readFileSync(registry, "utf8").replace("};", '  tally: () => import("./tally/source.js"),\n};');
  writeFileSync(registry, lines);
}

function lake(args: string[]) {
  return spawnSync(process.execPath, [path.join(copy, "bin/lake.js"), ...args], { cwd: copy, encoding: "utf8", env: { ...process.env, LAKE_HOME: "" } });
}

beforeAll(() => {
  copy = mkdtempSync(path.join(root, ".tmp-new-source-"));
  for (const p of ["src", "scripts", "bin", "package.json", "tsconfig.json"]) cpSync(path.join(root, p), path.join(copy, p), { recursive: true });
  addTallySource(copy);
  const build = spawnSync(process.execPath, [path.join(copy, "scripts/build.mjs"), "--no-types"], { cwd: copy, encoding: "utf8" });
  expect(build.status, build.stderr).toBe(0);
}, 300_000);

afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe("a new source from the example folder and one registry line", () => {
  it("is listed with its three stages, built as stage entry points", () => {
    const r = lake(["list", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const text = r.stdout;
    for (const s of ["tally-insert-lake", "tally-ready", "tally-publish"]) expect(text).toContain(s);
    expect(readdirSync(path.join(copy, "dist/stages"))).toContain("tally-ready.js");
  });

  it("runs in the demo end to end and publishes its own dataset; a rerun processes nothing", () => {
    const home = path.join(copy, "demo");
    const r = lake(["demo", "--dir", home, "--sources", "tally", "--json"]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const published = path.join(home, "published", "tally-15min.csv");
    expect(existsSync(published)).toBe(true);
    const rows = readFileSync(published, "utf8").trim().split(/\r?\n/).length - 1;
    expect(rows).toBeGreaterThan(0);
    // The example's own dataset is not written by the copy.
    expect(existsSync(path.join(home, "published", "counters-15min.csv"))).toBe(false);
    const again = lake(["pipeline", "tally", "-s", "2024-10-27", "-e", "2024-11-10", "--config", path.join(home, "lake.config.json"), "--json"]);
    expect(again.status, again.stderr).toBe(0);
    const stages = (JSON.parse(again.stdout) as { stages: { stage: string; processed: number; skipped: number }[] }).stages;
    expect(stages.map((s) => s.stage)).toEqual(["tally-insert-lake", "tally-ready", "tally-publish"]);
    for (const s of stages) expect([s.stage, s.processed, s.skipped > 0]).toEqual([s.stage, 0, true]);
    expect(readFileSync(published, "utf8").trim().split(/\r?\n/).length - 1).toBe(rows);
  });
});
