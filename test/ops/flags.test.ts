/**
 * One flag convention on every command: kebab-case long flags, the original's snake_case names and the older
 * operations names as aliases, one window vocabulary (-s/--start, -e/--end, N days back, negative N refused),
 * --dry-run = -0, --help on every command, lake list --json.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasTable, rewriteAliases } from "../../src/support/flags.js";
import { parseOptions, STANDARD_OPTIONS } from "../../src/support/etl-app.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { ttRegistry } from "./fixtures/tt-source.js";
import { captureCli, tempHome } from "./helpers.js";

const home = tempHome("lake-flags-");
const config = path.join(home, "lake.config.json");
beforeAll(() => writeFileSync(config, JSON.stringify({ home })));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const cli = captureCli;

const App = (await ttRegistry.stage("tt-make")).App;

describe("stage flags", () => {
  it("kebab-case long names; the original's snake_case names and --start-date are aliases with the same key", () => {
    const a = parseOptions(App, ["--last-run-date", "2024-11-01", "--start", "2024-11-02", "--end", "2024-11-03", "--output-filepath", "/tmp/x"]);
    const b = parseOptions(App, ["--last_run_date", "2024-11-01", "--start_date=2024-11-02", "--end_date", "2024-11-03", "--output_filepath", "/tmp/x"]);
    const c = parseOptions(App, ["-r", "2024-11-01", "--start-date", "2024-11-02", "-e", "2024-11-03", "-o", "/tmp/x"]);
    const want = { last_run_date: "2024-11-01", start_date: "2024-11-02", end_date: "2024-11-03", output_filepath: "/tmp/x" };
    for (const o of [a, b, c]) expect(o).toMatchObject(want);
    expect(parseOptions(App, ["-s", "1", "--dry-run"]).simulate).toBe(true);
    expect(parseOptions(App, { start: "2024-11-02", dryRun: true })).toMatchObject({ start_date: "2024-11-02", simulate: true });
    expect(rewriteAliases(["--start_date", "1", "--", "--start_date"], aliasTable(STANDARD_OPTIONS))).toEqual(["--start", "1", "--", "--start_date"]);
  });

  it("-s N and -e N count days back from today; a negative N is refused", async () => {
    const runtime = LakeRuntime.create({ overrides: { home, catalog: { driver: "memory" }, perfmet: { driver: "memory" } }, clock: () => Date.parse("2024-11-20T10:00:00-06:00"), env: {} });
    try {
      const app = new App(parseOptions(App, ["-s", "5", "-e", "2", "-0"]), runtime);
      expect([app.window.start?.toISODate(), app.window.end?.toISODate()]).toEqual(["2024-11-15", "2024-11-18"]);
    } finally {
      await runtime.close();
    }
    const neg = await cli(["run", "wt-ready", "-s", "-3", "--config", config]);
    expect(neg.code).toBe(2);
    expect(neg.err).toMatch(/-s\/--start "-3": N counts days back from today and cannot be negative/);
  });
});

describe("operations commands", () => {
  it("backfill takes -s/-e (N days back too), with --time-min/--time-max as aliases, and -0 as --dry-run", async () => {
    const a = await cli(["backfill", "wt", "-s", "2024-11-01", "-e", "2024-11-03", "--skip", "extract-soc", "-0", "--json", "--config", config]);
    const b = await cli(["backfill", "wt", "--time-min", "2024-11-01", "--time-max=2024-11-03", "--skip", "extract-soc", "--dry-run", "--json", "--config", config]);
    expect(a.code, a.err).toBe(0);
    expect(JSON.parse(a.out).planned).toBe(6);
    expect(JSON.parse(b.out).outcomes).toEqual(JSON.parse(a.out).outcomes);
    const rel = await cli(["backfill", "wt", "-s", "3", "-e", "1", "--only", "ready", "-0", "--json", "--config", config]);
    expect(rel.code, rel.err).toBe(0);
    expect(JSON.parse(rel.out).days).toBe(2);
    const neg = await cli(["backfill", "wt", "-s", "-3", "-0", "--config", config]);
    expect(neg.code).toBe(2);
    expect(neg.err).toMatch(/cannot be negative/);
  });

  it("coverage and audit take -s/-e with --from/--to as aliases; N days back works", async () => {
    const a = await cli(["coverage", "gs", "-s", "2024-11-01", "-e", "2024-11-02", "--json", "--config", config]);
    const b = await cli(["coverage", "gs", "--from", "2024-11-01", "--to", "2024-11-02", "--json", "--config", config]);
    expect(a.code, a.err).toBe(0);
    expect(a.out).toBe(b.out);
    const rel = await cli(["coverage", "gs", "-s", "2", "-e", "0", "--json", "--config", config]);
    expect(rel.code, rel.err).toBe(0);
    expect(JSON.parse(rel.out).days.length).toBe(2);
    expect((await cli(["coverage", "gs", "-s", "-1", "-e", "0", "--config", config])).code).toBe(2);
    expect((await cli(["audit", "wt", "-s", "2024-11-01", "--config", config])).err).toMatch(/give both -s\/--start and -e\/--end/);
  });

  it("--help and -h work on every command and subcommand; pipeline's help offers no --plan", async () => {
    const commands = ["run", "list", "demo", "backfill", "enqueue", "worker", "pipeline", "schedule", "coverage", "serve", "audit", "repair", "doctor"];
    for (const c of commands) {
      for (const h of ["--help", "-h"]) {
        const r = await cli([c, h]);
        expect(r.code, `${c} ${h}: ${r.err}`).toBe(0);
        expect(r.out, `${c} ${h}`).toMatch(/Usage: lake|Usage: /);
      }
    }
    const pipeline = await cli(["pipeline", "--help"]);
    expect(pipeline.out).toMatch(/--start <date>/);
    expect(pipeline.out).not.toMatch(/--plan/);
    expect((await cli(["pipeline", "wt", "-h"])).out).toMatch(/--no-leases/);
    expect((await cli(["run", "wt-ready", "-h"])).out).toMatch(/-s, --start <date>/);
    const v = await cli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("lake list --json lists every source with its stages", async () => {
    const r = await cli(["list", "--json"]);
    expect(r.code, r.err).toBe(0);
    const { sources } = JSON.parse(r.out) as { sources: { code: string; stages: { name: string }[]; grain?: string }[] };
    expect(sources.map((s) => s.code)).toEqual(["wt", "bt", "gs", "counters", "mds", "oeem", "usage", "feeds"]);
    expect(sources.find((s) => s.code === "wt")!.stages.map((s) => s.name)).toEqual(["wt-insert-lake", "wt-json-standard", "wt-ready", "wt-extract-soc"]);
    expect(sources.find((s) => s.code === "mds")!.grain).toBe("hour");
  });

  it("a source's own commands: lake <source> --help lists them, lake list names them, a source without any is an unknown command", async () => {
    const help = await cli(["feeds", "--help"]);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/credentials/);
    expect(help.out).toMatch(/enable/);
    const sub = await cli(["feeds", "credentials", "set", "--help"]);
    expect(sub.code, sub.err).toBe(0);
    expect(sub.out).toMatch(/--from-env <var>/);
    expect(sub.out).toMatch(/--config <file>/);
    const listed = JSON.parse((await cli(["list", "--json"])).out) as { sources: { code: string; commands?: { name: string }[] }[] };
    expect(listed.sources.find((s) => s.code === "feeds")!.commands!.map((c) => c.name)).toEqual(["feeds credentials set", "feeds enable"]);
    expect(listed.sources.find((s) => s.code === "wt")!.commands).toBeUndefined();
    expect((await cli(["wt", "enable", "x"])).code).toBe(2);
    expect((await cli(["nosuchthing"])).code).toBe(2);
    expect((await cli(["--help"])).out).toMatch(/lake <source> --help/);
  });
});
