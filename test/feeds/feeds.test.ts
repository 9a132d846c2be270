/**
 * Feeds (seed-systems §4, §6.1 datafeeds-like; issue 16.5/16.6) against the fake utility site, runs dispatched on
 * BullMQ over the services' real Redis: two jobs, one throws and the other is unaffected; every run archived under
 * its run id with a catalog row; "completed (no new data)" exits 0; a dev by-name run (-0) writes nothing; a job
 * that hangs is killed at its timeout (failed, archive kept); job names with "/" or ".." are refused by name.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { strFromU8, unzipSync } from "fflate";
import { describeService } from "../helpers/services.js";
import { tempDir, testRuntime } from "../core/helpers.js";
import { rawBullQueue } from "../ops/helpers.js";
import { startUtilitySite, type UtilitySite } from "../../src/sources/feeds/fakes.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { planRange } from "../../src/orchestration/backfill.js";
import { enqueuePlan, jobQueue, runWorker } from "../../src/orchestration/queue.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { runStageAction } from "../../src/cli/run.js";
import { parseOptions, runApp } from "../../src/support/etl-app.js";
import { Catalog, type CatalogEntry } from "../../src/support/catalog.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import type { BlockOutcome } from "../../src/orchestration/block-runner.js";

const REDIS_URL = process.env.REDIS_URL;
let seq = 0;
let site: UtilitySite;
let runtime: LakeRuntime;
let home: string;
const logs: string[] = [];

async function lake(jobs: Record<string, unknown>[]) {
  site = await startUtilitySite({ brokenPortal: true });
  home = tempDir("lake-feeds-");
  const queueName = `lake-feeds-${process.pid}-${++seq}`;
  runtime = testRuntime(home, { config: { queue: { driver: "bullmq", options: { url: REDIS_URL, queueName, backoffMs: 100, busyDelayMs: 200 } } } as never });
  runtime.overrideSourceConfig("feeds", { jobs: jobs.map((j) => ({ ...j, params: { url: site.url, ...(j.params as object) } })) });
  runtime.events.on("log", (e) => logs.push(e.message));
}

afterEach(async () => {
  if (runtime.config.queue.driver === "bullmq") {
    const q = await rawBullQueue(runtime);
    await q.obliterate({ force: true });
    await q.close();
  }
  await runtime.close();
  await site.stop();
  rmSync(home, { recursive: true, force: true });
  logs.length = 0;
});

/** The day's blocks enqueued on Redis, then a worker (2 at a time) until the queue is empty. */
async function dispatch(day: string): Promise<BlockOutcome[]> {
  const registry = await defaultRegistry();
  const store = await openBlockStore(runtime);
  try {
    const queue = await jobQueue(runtime, { shared: true });
    const plan = await planRange(runtime, registry, "feeds", { timeMin: day, timeMax: day });
    await enqueuePlan(queue, store, plan, { runId: `t${seq}` });
    const { outcomes } = await runWorker({ runtime, registry, store, queue, owner: "test", concurrency: 2, untilEmpty: true });
    return outcomes.sort((a, b) => (a.day < b.day ? -1 : 1));
  } finally {
    await store.close();
  }
}

const catalog = async () => new Catalog(await runtime.driver("catalog", false), "feeds", { zone: runtime.zone });
/** The run index: one catalog row per run (its archive). */
const runs = async (): Promise<CatalogEntry[]> => (await catalog()).list(runtime.repository("raw", false), { ext: "zip" });
const documents = async (): Promise<CatalogEntry[]> => (await catalog()).list(runtime.repository("raw", false), { ext: "pdf" });
const archive = (e: CatalogEntry) => unzipSync(readFileSync(path.join(home, "lake", runtime.repository("raw", false), e.pointer)));
const published = () => readFileSync(path.join(home, "published", "feeds-bills.csv"), "utf8").trim().split("\n");
const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(path.join(dir, f)).isFile()).sort() : []);

const WATER = { name: "water", impl: "fake-utility-bills", params: { account: "W_1001" } };
const POWER = { name: "power", impl: "fake-utility-portal", params: { account: "E-2002" } };

describeService(["REDIS_URL"], "feeds on BullMQ (real Redis)", () => {
  it("two jobs, one throws: the other is unaffected; each run is archived under its run id with a catalog row", async () => {
    await lake([WATER, POWER]);
    const out = await dispatch("2024-11-08");
    expect(out.map((o) => [o.day, o.status])).toEqual([["2024-11-08#power", "failed"], ["2024-11-08#water", "succeeded"]]);
    expect(out[0]!.message).toMatch(/^job power run power-20241108-[0-9a-f]{8} threw: portal: the bill table is not on the page .*; archive .*power-20241108-[0-9a-f]{8}\.zip$/);

    const rows = await runs();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const meta = row.metadata as { runId: string; job: string; status: string };
      expect(path.basename(row.pointer)).toBe(`${meta.runId}.zip`);
      expect(meta.runId.startsWith(`${meta.job}-20241108-`)).toBe(true);
    }
    const water = rows.find((r) => r.metadata!.job === "water")!;
    expect(water.metadata).toMatchObject({ status: "completed", error: null, bills: 10, maxFetched: "2024-10-31", range: { start: "2024-11-08T00:00:00.000-06:00", end: "2024-11-09T00:00:00.000-06:00" } });
    const wz = archive(water);
    expect(Object.keys(wz).sort()).toEqual(["bills.csv", ...Array.from({ length: 10 }, (_, i) => `downloads/W_1001-2024${String(i + 1).padStart(2, "0")}.pdf`), "result.json", "run.log"].sort());
    expect(strFromU8(wz["bills.csv"]!).split("\n")[1]).toBe("2024-01-01,2024-01-31,1000,4800,,yes");
    expect(strFromU8(wz["run.log"]!)).toMatch(/done: 10 bill\(s\)/);
    const power = rows.find((r) => r.metadata!.job === "power")!;
    expect(power.metadata).toMatchObject({ status: "failed", error: expect.stringMatching(/^threw: portal: the bill table/) });
    const pz = archive(power);
    expect(strFromU8(pz["run.log"]!)).toMatch(/Error: portal: the bill table is not on the page[\s\S]*at /); // the stack, in the log
    expect(strFromU8(pz["portal.html"]!)).toContain("updating our site");

    // The bills of the job that worked are published, keyed by bill id (job|account|start).
    expect(published()).toHaveLength(11);
    expect(published()[1]).toContain("water|W_1001|2024-01-01");

    // The next day: nothing newer than what is stored: "completed (no new data)", and `lake run` exits 0.
    const code = await runStageAction("feeds-run", ["--partition", "2024-11-09#water"], { runtime, out: () => undefined });
    expect(code).toBe(0);
    const next = (await runs()).find((r) => String(r.metadata!.runId).startsWith("water-20241109-"))!;
    expect(next.metadata).toMatchObject({ status: "completed (no new data)", bills: 10 });
    expect(published()).toHaveLength(11); // upserted: the same 10 bills
    // A later day with a new bill (November closed) is "completed" again.
    expect(await runStageAction("feeds-run", ["--partition", "2024-12-02#water"], { runtime, out: () => undefined })).toBe(0);
    expect((await runs()).find((r) => String(r.metadata!.runId).startsWith("water-20241202-"))!.metadata).toMatchObject({ status: "completed", bills: 11, maxFetched: "2024-11-30" });
    // The failed job exits non-zero when run alone.
    expect(await runStageAction("feeds-run", ["--partition", "2024-11-09#power"], { runtime, out: () => undefined })).toBe(1);
  });

  it("a dev by-name run (-0, inline params) runs the job and prints what would be loaded, but writes nothing", async () => {
    await lake([WATER]);
    const before = files(home);
    const code = await runStageAction("feeds-run", ["--entity", "water", "-s", "2024-11-08", "-e", "2024-11-08", "-0", "--params", '{"account":"W-9"}'], { runtime, out: () => undefined });
    expect(code).toBe(0);
    expect(site.requests.filter((r) => r.includes("/accounts/W-9/"))).toHaveLength(11); // it ran: the list and 10 PDFs
    expect(logs.join("\n")).toMatch(/water run water-20241108-[0-9a-f]{8}: completed; would be loaded \(-0: nothing written\):\nstart .*\n2024-01-01 +2024-01-31 +1000.00/);
    expect(await runs()).toEqual([]);
    expect(files(path.join(home, "lake"))).toEqual([]);
    expect(existsSync(path.join(home, "published", "feeds-bills.csv"))).toBe(false);
    expect(files(home).filter((f) => !f.endsWith(".sqlite") && !f.includes(".sqlite-"))).toEqual(before.filter((f) => !f.endsWith(".sqlite") && !f.includes(".sqlite-")));
  });

  it("a job disabled in the configuration is skipped on the queue too (block status skipped), beside one that runs", async () => {
    await lake([{ name: "off", impl: "fake-utility-bills", enabled: false, params: { account: "O-1" } }, WATER]);
    const out = await dispatch("2024-11-08");
    expect(out.map((o) => [o.day, o.status, o.message])).toEqual([["2024-11-08#off", "skipped", "job off is disabled in the configuration (enabled: false)"], ["2024-11-08#water", "succeeded", expect.stringMatching(/^completed, run water-/)]]);
    const store = await openBlockStore(runtime);
    expect((await store.list({ source: "feeds" })).map((b) => [b.day, b.status]).sort()).toEqual([["2024-11-08#off", "skipped"], ["2024-11-08#water", "succeeded"]]);
    await store.close();
    expect(site.requests.some((r) => r.includes("/O-1/"))).toBe(false);
  });

  it("a job that hangs is killed at its timeout: failed, its archive kept; the other job of the day is unaffected", async () => {
    await lake([{ name: "stuck", impl: "fake-hang", timeoutMs: 1_500 }, WATER]);
    const out = await dispatch("2024-11-08");
    expect(out.map((o) => [o.day, o.status])).toEqual([["2024-11-08#stuck", "failed"], ["2024-11-08#water", "succeeded"]]);
    expect(out[0]!.message).toMatch(/^job stuck run stuck-20241108-[0-9a-f]{8} killed at its timeout \(1500 ms\); archive /);
    const stuck = (await runs()).find((r) => r.metadata!.job === "stuck")!;
    expect(stuck.metadata).toMatchObject({ status: "failed", error: "killed at its timeout (1500 ms)", bills: 0 });
    expect(strFromU8(archive(stuck)["run.log"]!)).toMatch(/started; waiting forever/);
  });

  it("a job name with '/' or '..' or an empty one is refused with the job named; nothing is run or written", async () => {
    for (const [name, i] of [["a/b", 1], ["..", 1], ["", 1], ["x..y", 1]] as const) {
      await lake([WATER, { name, impl: "fake-utility-bills" }]);
      const registry = await defaultRegistry();
      await expect(planRange(runtime, registry, "feeds", { timeMin: "2024-11-08", timeMax: "2024-11-08" })).rejects.toThrow(
        name ? `sources.feeds.jobs[${i}]: job name ${JSON.stringify(name)} is not allowed` : `sources.feeds.jobs[${i}]: the job's name is empty`,
      );
      expect(await runStageAction("feeds-run", ["--partition", "2024-11-08#water"], { runtime, out: () => undefined })).not.toBe(0);
      expect(await runs()).toEqual([]);
      expect(site.requests).toEqual([]);
      await runtime.close();
      await site.stop();
      rmSync(home, { recursive: true, force: true });
      const q = await rawBullQueue(runtime);
      await q.close();
    }
    await lake([WATER]); // for afterEach
  });

  it("an implementation given as a module path; a bill that cannot be read is refused with its row and field", async () => {
    await lake([{ name: "mod", impl: path.join(import.meta.dirname, "fixtures/bad-bills.mjs"), params: { account: "M-1" } }]);
    const [o] = await dispatch("2024-11-08");
    expect(o!.status).toBe("succeeded-with-errors");
    const store = await openBlockStore(runtime);
    const [block] = await store.list({ source: "feeds" });
    await store.close();
    expect(JSON.parse(block!.errorPayload!)).toEqual([{ reason: 'start is not a YYYY-MM-DD date: "2024-13-01"', file: expect.stringMatching(/^mod-20241108-[0-9a-f]{8}\.zip:result\.json$/), line: 2, field: "bills.start" }]);
    expect(published()).toHaveLength(2);
  });
});

describe("feeds: schedules and flags (embedded default)", () => {
  it("daily, weekly (Mondays) and monthly (the 1st) jobs have blocks on their days only, planned and run", async () => {
    site = await startUtilitySite();
    home = tempDir("lake-feeds-");
    runtime = testRuntime(home);
    const job = (name: string, schedule: string) => ({ name, impl: "fake-utility-bills", schedule, params: { url: site.url, account: name } });
    runtime.overrideSourceConfig("feeds", { jobs: [job("d", "daily"), job("w", "weekly"), job("m", "monthly")] });
    const registry = await defaultRegistry();
    const plan = await planRange(runtime, registry, "feeds", { timeMin: "2024-10-27", timeMax: "2024-11-05" });
    const of = (e: string) => plan.days.filter((d) => d.endsWith(`#${e}`)).map((d) => d.slice(0, 10));
    expect(of("d").length).toBeGreaterThan(7);
    expect(of("w")).toEqual(of("d").filter((d) => new Date(`${d}T12:00:00Z`).getUTCDay() === 1));
    expect(of("w")).toContain("2024-11-04");
    expect(of("m")).toEqual(["2024-11-01"]);
    // lake run over a week: the monthly job has one block (the 1st), run in simulation.
    const { App } = await registry.stage("feeds-run");
    const summary = await runApp(App, parseOptions(App, ["--entity", "m", "-s", "2024-10-28", "-e", "2024-11-04", "-0"]), { runtime });
    expect(summary.blocks!.map((b) => [b.key, b.status])).toEqual([["2024-11-01#m", "succeeded"]]);
  });

  it("--params that are not a JSON object stop the run with a usage error before any job runs", async () => {
    site = await startUtilitySite();
    home = tempDir("lake-feeds-");
    runtime = testRuntime(home);
    runtime.overrideSourceConfig("feeds", { jobs: [{ ...WATER, params: { url: site.url, account: "W-1" } }] });
    for (const bad of ["{account", "[1]"]) {
      expect(await runStageAction("feeds-run", ["--partition", "2024-11-08#water", "-0", "--params", bad], { runtime, out: () => undefined })).toBe(2);
    }
    expect(site.requests).toEqual([]);
  });
});
