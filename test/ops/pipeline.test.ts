/** lake pipeline (stages in order in one runtime) and lake schedule (nightly plan, crontab). */
import { describe, expect, it } from "vitest";
import { pipelineAction } from "../../src/cli/pipeline.js";
import { scheduleAction } from "../../src/cli/schedule.js";
import { buildSchedule, formatCrontab, shellQuote } from "../../src/orchestration/schedule.js";
import { ttPipeline, ttSource } from "./fixtures/tt-source.js";
import { SourceRegistry } from "../../src/support/registry.js";
import { deps, runLog, useLakes } from "./helpers.js";
import { sqliteBlockStore } from "../../src/drivers/blocks/sqlite.js";
import path from "node:path";

const { lake } = useLakes();

describe("lake pipeline", () => {
  it("runs the stages in order over the window in one runtime: the second stage sees what the first wrote", async () => {
    const { d } = lake();
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04", "--json"], d)).toBe(0);
    const res = JSON.parse(d.text());
    expect(res.stages.map((s: { stage: string; processed: number }) => [s.stage, s.processed])).toEqual([
      ["tt-make", 3],
      ["tt-copy", 3],
    ]);
    const again = deps(d.runtime!);
    expect(await pipelineAction("all", ["-s", "2024-11-01", "-e", "2024-11-04"], again)).toBe(0);
    expect(again.text()).toMatch(/tt-make\s+0\s+3\s+0/); // nothing new: all skipped
  });

  it("a stage with failures gives exit 1 and the later stages still run; bad flags give exit 2", async () => {
    const { d } = lake({ failDays: ["2024-11-02"] });
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04"], d)).toBe(1);
    expect(d.text()).toMatch(/tt-make\s+2\s+0\s+1/);
    expect(d.text()).toMatch(/tt-copy\s+2\s+0\s+0/);
    expect(d.text()).toContain("FAILED counts/json/2024-11-02");
    const err = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await pipelineAction("tt", ["--bogus"], deps(d.runtime!))).toBe(2);
      expect(await pipelineAction("tt", [], deps(d.runtime!))).toBe(2); // neither -r nor -s
      expect(await pipelineAction("nope", ["-s", "1"], deps(d.runtime!))).toBe(2);
    } finally {
      process.stderr.write = err;
    }
  });

  it("`all` skips a source with no settings that stops on a ConfigError (and says so); the others run, exit 0", async () => {
    const { d } = lake();
    // counters needs sources.counters.dropdir; this home configures tt only.
    const registry = new SourceRegistry({ counters: () => import("../../src/sources/counters/source.js"), tt: async () => ({ default: ttSource }) });
    expect(await pipelineAction("all", ["-s", "2024-11-01", "-e", "2024-11-03"], { ...d, registry })).toBe(0);
    expect(d.text()).toMatch(/counters-insert-lake +SKIPPED: source counters is not configured \(sources\.counters\.dropdir is not set/);
    expect(d.text()).toMatch(/counters-publish +SKIPPED: source counters is not configured/);
    expect(d.text()).toMatch(/tt-make\s+2\s+0\s+0/);
    const json = deps(d.runtime!);
    expect(await pipelineAction("all", ["-s", "2024-11-01", "-e", "2024-11-03", "--json"], { ...json, registry })).toBe(0);
    const stages = JSON.parse(json.text()).stages as { stage: string; notRun?: string }[];
    expect(stages.filter((s) => s.notRun).map((s) => s.stage)).toEqual(["counters-insert-lake", "counters-ready", "counters-publish"]);
    // Named explicitly, the unconfigured source is a configuration error (exit 2), as before.
    const err = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await pipelineAction("counters", ["-s", "2024-11-01", "-e", "2024-11-03"], { ...deps(d.runtime!), registry })).toBe(2);
    } finally {
      process.stderr.write = err;
    }
  });

  it("simulation writes nothing, so the later stage has nothing to do", async () => {
    const { d } = lake();
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-03", "-0", "--json"], d)).toBe(0);
    const res = JSON.parse(d.text());
    expect(res.stages.map((s: { processed: number }) => s.processed)).toEqual([2, 0]);
  });
});

describe("lake pipeline and block leases", () => {
  const foreign = { source: "tt", stage: "tt-make", day: "2024-11-02" };

  it("takes the leases of its window's blocks and releases them after", async () => {
    const { home, d } = lake();
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04"], d)).toBe(0);
    const store = sqliteBlockStore(path.join(home, "catalog.sqlite"));
    expect(await store.leases({})).toEqual([]);
    await store.close();
  });

  it("does not run a stage while a backfill or worker holds one of its days (gives up after waiting)", async () => {
    const { home, d } = lake({}, { blocks: { leaseMs: 300 } });
    const other = sqliteBlockStore(path.join(home, "catalog.sqlite"));
    await other.acquireLease(foreign, "worker-host:7", Date.now(), 60_000);
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04"], d)).toBe(1);
    expect(d.text()).toMatch(/tt-make\s+ERROR: tt-make: block 2024-11-02 is being processed by worker-host:7/);
    expect(runLog(home).map((l) => l.split(" ")[0])).toEqual(["tt-copy"]); // tt-make never started
    const free = deps(d.runtime!);
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04", "--no-leases"], free)).toBe(0);
    await other.close();
  });

  it("waits for a held day to be released, then runs", async () => {
    const { home, d } = lake({}, { blocks: { leaseMs: 5_000 } });
    const other = sqliteBlockStore(path.join(home, "catalog.sqlite"));
    await other.acquireLease(foreign, "backfill-host:9", Date.now(), 60_000);
    setTimeout(() => void other.releaseLease(foreign, "backfill-host:9"), 300);
    expect(await pipelineAction("tt", ["-s", "2024-11-01", "-e", "2024-11-04", "--json"], d)).toBe(0);
    expect(JSON.parse(d.text()).stages[0].processed).toBe(3);
    await other.close();
  });
});

describe("lake schedule", () => {
  it("orders the pipelines' stages by local time and applies config overrides", () => {
    const other = { ...ttPipeline, code: "uu", stageNames: ["uu-a"], schedule: [{ stage: "uu-a", time: "01:00", args: ["-r", "0", "-s", "60"] }] };
    const jobs = buildSchedule([ttPipeline, other], { "tt-copy": { time: "00:15", args: ["-s", "7"] } });
    expect(jobs.map((j) => `${j.time} ${j.stage} ${j.args.join(" ")}`)).toEqual(["00:15 tt-copy -s 7", "00:30 tt-make -r 0 -s 60", "01:00 uu-a -r 0 -s 60"]);
    expect(buildSchedule([ttPipeline], { "tt-make": { enabled: false } }).map((j) => j.stage)).toEqual(["tt-copy"]);
    expect(() => buildSchedule([ttPipeline], { "xx-ready": { time: "01:00" } })).toThrow(/schedule.xx-ready: no source pipeline has this stage/);
  });

  it("--crontab: SHELL, PATH and CRON_TZ first, then one line per stage that cds, creates the log folder and runs lake, shell-quoted", () => {
    const base = { zone: "America/Chicago", lake: ["/opt/node/bin/node", "/srv/my lake/bin/lake.js"], path: "/opt/node/bin:/usr/bin:/bin" };
    const text = formatCrontab(buildSchedule([ttPipeline]), { ...base, cwd: "/srv/my lake", logDir: "/var/log/lake", config: "/etc/lake.yaml", env: { LAKE_HOME: "/data/lake" } });
    const lines = text.trim().split("\n").filter((l) => !l.startsWith("#"));
    expect(lines.slice(0, 4)).toEqual(["SHELL=/bin/sh", "PATH=/opt/node/bin:/usr/bin:/bin", "CRON_TZ=America/Chicago", "LAKE_HOME=/data/lake"]);
    expect(lines[4]).toBe(
      "30 0 * * * cd '/srv/my lake' && mkdir -p /var/log/lake && /opt/node/bin/node '/srv/my lake/bin/lake.js' run tt-make -r 0 -s 60 --config /etc/lake.yaml >> /var/log/lake/tt-make.log 2>&1",
    );
    expect(lines[5]).toMatch(/^0 3 \* \* \* .* tt-copy -r 0 -s 30 /);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    const repair = formatCrontab(buildSchedule([ttPipeline]), { ...base, cwd: "/srv/lake", logDir: "/var/log/lake", repair: { time: "09:15", days: 35, sources: ["tt"] } });
    expect(repair.trim().split("\n").pop()).toBe(
      "15 9 * * * cd /srv/lake && mkdir -p /var/log/lake && /opt/node/bin/node '/srv/my lake/bin/lake.js' backfill tt --start 35 --incomplete-only --continue-on-error >> /var/log/lake/backfill-tt.log 2>&1",
    );
    expect(() => formatCrontab([], { ...base, cwd: "/", logDir: "/", repair: { time: "9:15", days: 35, sources: [] } })).toThrow(/--repair-at "9:15"/);
  });

  it("an hourly block sweep of a partitioned source runs every hour at its minute as `lake backfill <source>`", () => {
    const hourly = { ...ttPipeline, code: "hh", stageNames: ["hh-a"], schedule: [{ stage: "hh", every: "hour" as const, time: ":15", args: ["--interval", "6h", "--incomplete-only"], command: "backfill" as const }] };
    const jobs = buildSchedule([ttPipeline, hourly], { hh: { time: ":20" } });
    expect(jobs.map((j) => `${j.every} ${j.time} ${j.stage}`)).toEqual(["hour :20 hh", "day 00:30 tt-make", "day 03:00 tt-copy"]);
    const line = formatCrontab(jobs, { zone: "UTC", cwd: "/srv", logDir: "/log", lake: ["node", "/srv/bin/lake.js"], path: "/usr/bin:/bin" }).split("\n").find((l) => l.includes(" hh "));
    expect(line).toBe("20 * * * * cd /srv && mkdir -p /log && node /srv/bin/lake.js backfill hh --interval 6h --incomplete-only >> /log/hh.log 2>&1");
    expect(() => buildSchedule([hourly], { hh: { time: "01:20" } })).toThrow(/schedule.hh.time: "01:20" is not :MM/);
    expect(() => buildSchedule([ttPipeline], { "tt-make": { time: ":20" } })).toThrow(/schedule.tt-make.time: ":20" is not HH:MM/);
  });

  it("prints the plan in the configured zone; overrides come from the config's schedule section", async () => {
    const { d } = lake({}, { zone: "America/New_York", schedule: { "tt-make": { time: "01:45" } } });
    expect(await scheduleAction({}, d)).toBe(0);
    expect(d.text()).toContain("schedule (local time, America/New_York;");
    expect(d.text()).toMatch(/01:45\s+tt-make\s+tt\s+run tt-make -r 0 -s 60/);
    const c = deps(d.runtime!);
    expect(await scheduleAction({ crontab: true, cwd: "/srv/lake" }, c)).toBe(0);
    expect(c.text()).toContain("CRON_TZ=America/New_York\n45 1 * * * cd /srv/lake && mkdir -p ");
    expect(c.text()).toMatch(/bin\/lake\.js run tt-make -r 0 -s 60 >> /);
  });
});
