/** The operations commands through the real CLI (argument mapping, exit codes) and the project's own sources. */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli, tempHome } from "./helpers.js";

const home = tempHome("lake-ops-cli-");
const config = path.join(home, "lake.config.json");
beforeAll(() => writeFileSync(config, JSON.stringify({ home })));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const cli = captureCli;

describe("lake operations commands", () => {
  it("lake schedule --json gives the original's nightly cron table (§10.3) from the sources' pipelines", async () => {
    const r = await cli(["schedule", "--json", "--config", config]);
    expect(r.code, r.err).toBe(0);
    const { zone, jobs: all } = JSON.parse(r.out);
    expect(zone).toBe("America/Chicago");
    // The three Austin sources (the example "counters" and "oeem" have their own schedules, checked in their tests).
    const hourly = (all as { every: string; stage: string; time: string; command: string }[]).filter((j) => j.every === "hour");
    expect(hourly.map((j) => `${j.time} ${j.command} ${j.stage}`)).toEqual([":15 backfill mds", ":45 backfill usage"]);
    const jobs = (all as { source: string; stage: string; time: string; args: string[]; every: string }[]).filter((j) => j.source !== "counters" && j.source !== "oeem" && j.every === "day");
    expect(jobs.map((j: { time: string; stage: string }) => `${j.time} ${j.stage}`)).toEqual([
      "00:30 bt-insert-lake",
      "01:00 wt-insert-lake",
      "01:30 gs-insert-lake",
      "03:00 bt-json-standard",
      "03:30 wt-json-standard",
      "04:00 gs-json-standard",
      "05:00 bt-ready",
      "05:30 gs-ready",
      "06:00 gs-ready-agg",
      "06:30 wt-ready",
      "07:00 bt-extract-soc",
      "07:30 wt-extract-soc",
      "08:30 gs-agg-extract-soc",
    ]);
    for (const j of jobs as { stage: string; args: string[] }[]) {
      expect(j.args.slice(0, 4)).toEqual(["-r", "0", "-s", j.stage.includes("insert-lake") ? "60" : "30"]);
    }
  });

  it("lake backfill --dry-run maps its flags and plans a real source's blocks without writing", async () => {
    const r = await cli(["backfill", "wt", "--time-min", "2024-11-01", "--time-max", "2024-11-03", "--skip", "extract-soc", "--dry-run", "--json", "--config", config]);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out);
    expect([res.stages, res.days, res.planned]).toEqual([["wt-insert-lake", "wt-json-standard", "wt-ready"], 2, 6]);
    expect(res.outcomes[0].message).toBe("lake run wt-insert-lake -s 2024-11-01 -e 2024-11-01   [never run]");
  });

  it("usage and configuration errors exit 2 with a message", async () => {
    const unknown = await cli(["backfill", "zz", "--time-min", "2024-11-01", "--config", config]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('Unknown source "zz" (known: wt, bt, gs, counters, mds, oeem, usage, feeds)');
    const noQueue = await cli(["enqueue", "wt", "--time-min", "2024-11-01", "--config", config]);
    expect(noQueue.code).toBe(2);
    expect(noQueue.err).toContain('The queue driver is "inprocess"');
    const noQueueWorker = await cli(["worker", "--dead-letters", "--config", config]);
    expect(noQueueWorker.code).toBe(2);
    const badFlag = await cli(["pipeline", "wt", "--frobnicate", "--config", config]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toContain("unknown option '--frobnicate'");
    const coverage = await cli(["coverage", "wt", "--from", "2024-11-01", "--config", config]);
    expect(coverage.code).toBe(2);
  });

  it("lake enqueue and lake worker with an unreachable Redis fail within the queue's timeoutMs, naming it, without the password", { timeout: 60_000 }, async () => {
    const cfg = path.join(home, "unreachable.json");
    writeFileSync(cfg, JSON.stringify({ home, queue: { driver: "bullmq", timeoutMs: 800, options: { url: "redis://lake:qu3ue-pw@127.0.0.1:1" } } }));
    const enq = await cli(["enqueue", "wt", "--time-min", "2024-11-01", "--time-max", "2024-11-03", "--config", cfg]);
    expect(enq.code).toBe(1);
    expect(enq.err).toMatch(/queue lake-blocks at Redis 127\.0\.0\.1:1\): no answer within 800 ms/);
    expect(enq.err).not.toContain("qu3ue-pw");
    const { openBlockStore } = await import("../../src/orchestration/blocks.js");
    const { LakeRuntime } = await import("../../src/support/runtime.js");
    const rt = LakeRuntime.create({ file: cfg, env: {} });
    const store = await openBlockStore(rt);
    expect(await store.list({ source: "wt" })).toEqual([]); // no block was marked queued
    await store.close();
    await rt.close();
    for (const args of [["worker", "--until-empty"], ["worker", "--dead-letters"]]) {
      const w = await cli([...args, "--config", cfg]);
      expect(w.code, args.join(" ")).toBe(1);
      expect(w.err).toMatch(/Redis 127\.0\.0\.1:1\): no answer within 800 ms/);
      expect(w.err).not.toContain("qu3ue-pw");
    }
  });

  it("lake coverage on an empty lake: every applicable layer missing", async () => {
    const r = await cli(["coverage", "gs", "--from", "2024-11-01", "--to", "2024-11-02", "--json", "--config", config]);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.applicable).toEqual(["raw", "standardized", "ready", "aggregated", "published"]);
    expect(rep.gaps.length).toBe(5);
  });
});
