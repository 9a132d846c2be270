/**
 * `lake schedule --crontab` as cron runs it: every line executed with `sh -c` in cron's bare environment (only the
 * crontab's own variables), from a folder that is not the project, on a lake whose log folder does not exist yet.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempHome } from "./helpers.js";

const dir = tempHome("lake-crontab-");
const config = path.join(dir, "lake.config.json");
const awam = path.join(dir, "awam-share");
const lake = (args: string[], cwd: string) => spawnSync(process.execPath, [path.join(root, "bin/lake.js"), ...args], { encoding: "utf8", cwd, env: { ...process.env, LAKE_HOME: "" } });

beforeAll(async () => {
  await ensureBuilt();
  mkdirSync(awam);
  mkdirSync(path.join(dir, "elsewhere"));
  writeFileSync(config, JSON.stringify({ home: path.join(dir, "lake"), sources: { bt: { sourcedir: awam } } }));
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The crontab's variable lines and its job lines (the command after the five time fields). */
function parse(text: string): { env: Record<string, string>; jobs: { when: string; command: string }[] } {
  const env: Record<string, string> = {};
  const jobs: { when: string; command: string }[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const v = /^([A-Z_]+)=(.*)$/.exec(line);
    if (v) env[v[1]!] = v[2]!;
    else {
      const f = line.split(" ");
      jobs.push({ when: f.slice(0, 5).join(" "), command: f.slice(5).join(" ") });
    }
  }
  return { env, jobs };
}

describe("lake schedule --crontab, run as cron would", () => {
  it("every line runs in cron's bare environment and writes its log file; the configured source folder is used", () => {
    const r = lake(["schedule", "--crontab", "--config", config, "--cwd", path.join(dir, "elsewhere")], dir);
    expect(r.status, r.stderr).toBe(0);
    const { env, jobs } = parse(r.stdout);
    expect(Object.keys(env)).toEqual(["SHELL", "PATH", "CRON_TZ"]);
    expect(jobs.length).toBeGreaterThan(20);
    const logs = path.join(dir, "lake", "logs");
    expect(existsSync(logs)).toBe(false); // the lines create it
    // Hourly block sweeps of the partitioned sources have their own cadence.
    expect(jobs.filter((j) => / backfill (mds|usage) /.test(j.command)).map((j) => j.when)).toEqual(["15 * * * *", "45 * * * *"]);
    expect(r.stdout).not.toMatch(/\/app\/awam/);
    for (const job of jobs) {
      const run = spawnSync("sh", ["-c", job.command], { encoding: "utf8", cwd: "/", env: { ...env, HOME: dir } });
      const log = /> (\S+\.log) 2>&1$/.exec(job.command)![1]!;
      expect(existsSync(log), `${job.command}\n${run.stderr}`).toBe(true);
      const text = readFileSync(log, "utf8");
      expect(text.length, job.command).toBeGreaterThan(0);
      expect(text, job.command).not.toMatch(/command not found|No such file|unknown option/i);
    }
    // bt-insert-lake reads sources.bt.sourcedir (an empty share: nothing to do, exit 0), not a hard-coded folder.
    const bt = jobs.find((j) => j.command.includes(" run bt-insert-lake "))!;
    expect(spawnSync("sh", ["-c", bt.command], { env: { ...env, HOME: dir } }).status).toBe(0);
    expect(readFileSync(path.join(logs, "bt-insert-lake.log"), "utf8")).toMatch(/bt-insert-lake: 0 items processed/);
  }, 300_000);

  it("a missing config writes nothing to stdout and exits 2, so `> lake.cron && crontab lake.cron` installs nothing", () => {
    const r = lake(["schedule", "--crontab", "--config", path.join(dir, "missing.yaml")], dir);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/missing\.yaml does not exist/);
  });

  it("without --config, the config file found in the working folder is passed to every job", () => {
    const r = lake(["schedule", "--crontab"], dir);
    expect(r.status, r.stderr).toBe(0);
    const { jobs } = parse(r.stdout);
    for (const j of jobs) expect(j.command).toContain(`--config ${config} `);
  });
});
