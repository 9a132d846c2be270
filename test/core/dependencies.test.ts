/** The declared dependencies: each one used, soda-js's HTTP stack the maintained one, every install script reviewed. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers/build.js";

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

/** Every .ts file under dir. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const major = (version: string) => Number(version.split(".")[0]);

describe("dependencies", () => {
  it("every declared dependency is imported by src/, but ioredis, which BullMQ loads itself (its optional peer)", () => {
    const text = sources(path.join(root, "src")).map((f) => readFileSync(f, "utf8")).join("\n");
    const unused = Object.keys(pkg.dependencies).filter((name) => !new RegExp(`["']${name.replace(/[/.]/g, "\\$&")}(/[^"']*)?["']`).test(text));
    expect(unused).toEqual(["ioredis"]);
    const bullmq = JSON.parse(readFileSync(path.join(root, "node_modules/bullmq/package.json"), "utf8")) as { peerDependencies: Record<string, string> };
    expect(Object.keys(bullmq.peerDependencies)).toContain("ioredis");
  });

  it("soda-js sends its requests with superagent 10 and formidable 3 (package.json overrides), not superagent 0.21", () => {
    const fromSoda = createRequire(createRequire(path.join(root, "package.json")).resolve("soda-js"));
    const superagentPkg = fromSoda.resolve("superagent/package.json");
    expect(major((JSON.parse(readFileSync(superagentPkg, "utf8")) as { version: string }).version)).toBeGreaterThanOrEqual(10);
    // formidable exports no package.json: the one above its entry point.
    let dir = path.dirname(createRequire(superagentPkg).resolve("formidable"));
    while (!statSync(dir).isDirectory() || !readdirSync(dir).includes("package.json")) dir = path.dirname(dir);
    const formidable = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name: string; version: string };
    expect(formidable.name).toBe("formidable");
    expect(major(formidable.version)).toBeGreaterThanOrEqual(3);
  });

  it("every installed package with an install script is declared in allowScripts (npm ci lists none as skipped)", () => {
    expect(pkg.allowScripts).toMatchObject({ "better-sqlite3": true, esbuild: true });
    const out = execFileSync("npm", ["install-scripts", "ls"], { cwd: root, encoding: "utf8" });
    expect(out).toMatch(/No packages with unreviewed install scripts/);
  });
});
