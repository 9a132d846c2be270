/**
 * Scale-out through BullMQ on a real Redis (REDIS_URL): worker child processes, exactly-once blocks, a worker killed
 * mid-block, retries and dead letters, graceful shutdown.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import { enqueueAction } from "../../src/cli/enqueue.js";
import { workerAction } from "../../src/cli/worker.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { Catalog } from "../../src/support/catalog.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { deps, rawBullQueue, runLog, tempHome, ttConfig } from "./helpers.js";
import { sqliteBlockStore } from "../../src/drivers/blocks/sqlite.js";
import { describeService } from "../helpers/services.js";

const REDIS_URL = process.env.REDIS_URL;
const ROOT = path.resolve(import.meta.dirname, "../..");
const WORKER = path.join(import.meta.dirname, "fixtures/worker-main.ts");
let seq = 0;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
});

interface Lake {
  home: string;
  config: string;
  runtime: LakeRuntime;
  queueName: string;
}

function makeLake(tt: Record<string, unknown>, queue: Record<string, unknown> = {}, leaseMs = 2_000, blocks: Record<string, unknown> = {}): Lake {
  const home = tempHome("lake-queue-");
  const queueName = `lake-test-${process.pid}-${++seq}`;
  const cfg = ttConfig(home, tt, {
    queue: { driver: "bullmq", options: { url: REDIS_URL, queueName, lockMs: 1_000, stalledIntervalMs: 500, busyDelayMs: 200, backoffMs: 100, ...queue } },
    blocks: { leaseMs, ...blocks },
  });
  const config = path.join(home, "lake.config.json");
  writeFileSync(config, JSON.stringify(cfg));
  const runtime = LakeRuntime.create({ file: config, env: { REDIS_URL: REDIS_URL! } });
  cleanups.push(async () => {
    const q = await rawBullQueue(runtime);
    await q.obliterate({ force: true });
    await q.close();
    await runtime.close();
    rmSync(home, { recursive: true, force: true });
  });
  return { home, config, runtime, queueName };
}

function startWorker(lake: Lake, concurrency: number, untilEmpty = true): { child: ChildProcess; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, lake.config, String(concurrency), ...(untilEmpty ? ["--until-empty"] : [])], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: REDIS_URL! },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (err += b));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on("exit", (code) => resolve({ code, out, err })));
  return { child, done };
}

async function waitFor(cond: () => boolean, what: string, ms = 20_000, refresh?: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  await refresh?.();
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
    await refresh?.();
  }
}

async function rowsPerDay(runtime: LakeRuntime, layer: "raw" | "standardized"): Promise<Map<string, number>> {
  const catalog = new Catalog(await runtime.driver("catalog", false), "tt", { zone: runtime.zone });
  const m = new Map<string, number>();
  for (const e of await catalog.list(runtime.repository(layer, false))) m.set(e.collectionDate.toISODate()!, (m.get(e.collectionDate.toISODate()!) ?? 0) + 1);
  return m;
}

describeService(["REDIS_URL"], "lake enqueue + lake worker (BullMQ on Redis)", () => {
  it("two worker processes run 60 blocks (30 days × 2 stages), each exactly once, stages in order per day", { timeout: 120_000 }, async () => {
    const lake = makeLake({ sleepMs: 40 });
    // Both workers listen before the first job exists, so both take blocks however slowly each process starts.
    const a = startWorker(lake, 2, false);
    const b = startWorker(lake, 2, false);
    const q = await rawBullQueue(lake.runtime);
    let workers = 0;
    await waitFor(() => workers >= 2, "both workers to connect", 60_000, async () => void (workers = await q.getWorkersCount()));
    await q.close();
    const d = deps(lake.runtime);
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-31", json: true }, d)).toBe(0);
    expect(JSON.parse(d.text()).jobs).toBe(30); // first stages; the second stages follow
    const store0 = await openBlockStore(lake.runtime);
    let finished = 0;
    await waitFor(() => finished === 60, "60 blocks to finish", 60_000, async () => {
      finished = (await store0.list({ source: "tt" })).filter((r) => r.status === "succeeded").length;
    });
    await store0.close();
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code], `${ra.err}\n${rb.err}`).toEqual([0, 0]);
    const lines = runLog(lake.home);
    const blocks = lines.map((l) => l.split(" ").slice(0, 2).join(" "));
    expect(lines.length).toBe(60);
    expect(new Set(blocks).size).toBe(60);
    expect(new Set(lines.map((l) => l.split(" ")[2])).size).toBe(2); // both workers took blocks
    for (let i = 1; i <= 30; i++) {
      const day = `2024-10-${String(i).padStart(2, "0")}`;
      expect(blocks.indexOf(`tt-make ${day}`)).toBeLessThan(blocks.indexOf(`tt-copy ${day}`));
    }
    const store = await openBlockStore(lake.runtime);
    const rows = await store.list({ source: "tt" });
    expect(rows.length).toBe(60);
    expect(rows.every((r) => r.status === "succeeded" && r.attempts === 1)).toBe(true);
    expect(await store.leases({})).toEqual([]);
    await store.close();
    expect([...(await rowsPerDay(lake.runtime, "standardized")).values()]).toEqual(Array(30).fill(1));
    const summaries = [JSON.parse(ra.out.trim().split("\n").pop()!), JSON.parse(rb.out.trim().split("\n").pop()!)];
    expect(summaries[0].blocks + summaries[1].blocks).toBe(60);
  });

  it("a worker killed mid-block (SIGKILL): another completes the block after the lease expires, without duplicate rows", { timeout: 120_000 }, async () => {
    const hold = path.join(tempHome("lake-hold-"), "hold");
    writeFileSync(hold, "");
    const lake = makeLake({ holdDay: "2024-10-02", holdFile: hold }, {}, 1_500);
    const d = deps(lake.runtime);
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-04" }, d)).toBe(0);
    const a = startWorker(lake, 1, false);
    await waitFor(() => existsSync(`${hold}.entered`), "worker A to enter the held block", 60_000);
    a.child.kill("SIGKILL");
    await a.done;
    unlinkSync(hold);
    const b = startWorker(lake, 2);
    const rb = await b.done;
    expect(rb.code, rb.err).toBe(0);
    const store = await openBlockStore(lake.runtime);
    const held = (await store.get({ source: "tt", stage: "tt-make", day: "2024-10-02" }))!;
    expect(held.status).toBe("succeeded");
    expect(held.attempts).toBe(2);
    expect(held.owner).toContain(`:${b.child.pid}:`);
    expect((await store.list({ source: "tt" })).every((r) => r.status === "succeeded")).toBe(true);
    await store.close();
    const runs = runLog(lake.home).filter((l) => l.startsWith("tt-make 2024-10-02"));
    expect(runs.map((l) => l.split(" ")[2])).toEqual([String(a.child.pid), String(b.child.pid)]);
    expect(Object.fromEntries(await rowsPerDay(lake.runtime, "raw"))).toEqual({ "2024-10-01": 1, "2024-10-02": 1, "2024-10-03": 1 });
    expect(Object.fromEntries(await rowsPerDay(lake.runtime, "standardized"))).toEqual({ "2024-10-01": 1, "2024-10-02": 1, "2024-10-03": 1 });
  });

  it("retries a TransientError with backoff; a terminal failure goes to the dead letters at once; later stages wait", { timeout: 120_000 }, async () => {
    const lake = makeLake({ transientDay: "2024-10-03", failDays: ["2024-10-02"] });
    const d = deps(lake.runtime);
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-04" }, d)).toBe(0);
    expect(await workerAction({ concurrency: 2, untilEmpty: true }, d)).toBe(1);
    const store = await openBlockStore(lake.runtime);
    const get = async (stage: string, day: string) => (await store.get({ source: "tt", stage, day }))!;
    expect((await get("tt-make", "2024-10-03")).status).toBe("succeeded");
    expect((await get("tt-make", "2024-10-03")).attempts).toBe(2);
    expect((await get("tt-copy", "2024-10-03")).status).toBe("succeeded");
    expect((await get("tt-make", "2024-10-02")).status).toBe("failed");
    expect((await get("tt-make", "2024-10-02")).attempts).toBe(1);
    expect(await store.get({ source: "tt", stage: "tt-copy", day: "2024-10-02" })).toBeUndefined();
    await store.close();
    const d2 = deps(lake.runtime);
    expect(await workerAction({ deadLetters: true, json: true }, d2)).toBe(0);
    const dead = JSON.parse(d2.text());
    expect(dead.map((x: { stage: string; day: string; attempts: number }) => [x.stage, x.day, x.attempts])).toEqual([["tt-make", "2024-10-02", 1]]);
    expect(dead[0].reason).toMatch(/injected failure for 2024-10-02/);
    // Fixed: --incomplete-only enqueues just the failed day.
    const d3 = deps(lake.runtime);
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-04", incompleteOnly: true, json: true }, d3)).toBe(0);
    expect(JSON.parse(d3.text()).first).toEqual(["tt-make 2024-10-02"]);
  });

  it("a block leased elsewhere goes back to the queue as delayed (no attempt used) and runs once the lease is gone", { timeout: 120_000 }, async () => {
    const lake = makeLake({});
    const other = sqliteBlockStore(path.join(lake.home, "catalog.sqlite"));
    const key = { source: "tt", stage: "tt-make", day: "2024-10-01" };
    await other.acquireLease(key, "backfill-elsewhere:1", Date.now(), 60_000);
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-01", only: ["make"] }, deps(lake.runtime))).toBe(0);
    let releasedAt = Infinity;
    setTimeout(() => {
      releasedAt = Date.now();
      void other.releaseLease(key, "backfill-elsewhere:1");
    }, 700);
    expect(await workerAction({ untilEmpty: true }, deps(lake.runtime))).toBe(0);
    const block = (await other.get(key))!;
    expect([block.status, block.attempts]).toEqual(["succeeded", 1]);
    expect(block.startedAt!).toBeGreaterThanOrEqual(releasedAt); // it waited for the other holder
    expect(runLog(lake.home).length).toBe(1);
    const q = await rawBullQueue(lake.runtime);
    const [job] = await q.getCompleted();
    await q.close();
    expect(job!.attemptsMade).toBeLessThanOrEqual(1); // the busy turns did not count as failed attempts
    await other.close();
  });

  it("SIGTERM: the worker takes no new job, finishes its current block, releases the lease and exits 0", { timeout: 120_000 }, async () => {
    const hold = path.join(tempHome("lake-hold-"), "hold");
    writeFileSync(hold, "");
    const lake = makeLake({ holdDay: "2024-10-01", holdFile: hold });
    expect(await enqueueAction("tt", { timeMin: "2024-10-01", timeMax: "2024-10-04" }, deps(lake.runtime))).toBe(0);
    const w = startWorker(lake, 1, false);
    await waitFor(() => existsSync(`${hold}.entered`), "the worker to enter the held block", 60_000);
    let stderr = "";
    w.child.stderr!.on("data", (b) => (stderr += b));
    w.child.kill("SIGTERM");
    await waitFor(() => stderr.includes("worker: stopping"), "the worker to acknowledge SIGTERM", 60_000);
    unlinkSync(hold);
    const r = await w.done;
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out.trim().split("\n").pop()!).blocks).toBe(1);
    const store = await openBlockStore(lake.runtime);
    expect((await store.get({ source: "tt", stage: "tt-make", day: "2024-10-01" }))!.status).toBe("succeeded");
    expect(await store.leases({})).toEqual([]);
    await store.close();
    const q = await rawBullQueue(lake.runtime);
    const counts = await q.getJobCounts("waiting", "active", "completed");
    await q.close();
    expect(counts).toEqual({ waiting: 3, active: 0, completed: 1 }); // 2 first stages + the finished day's successor
  });
});

describeService(["REDIS_URL", "PG_URL"], "workers sharing a PostgreSQL block store", () => {
  const schema = `lake_ops_q_${process.pid}`;
  afterAll(async () => {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: process.env.PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  it("two worker processes, blocks and leases in PostgreSQL: every block once", { timeout: 120_000 }, async () => {
    const lake = makeLake({ sleepMs: 20 }, {}, 2_000, { driver: "postgres", options: { connectionString: process.env.PG_URL, schema } });
    const d = deps(lake.runtime);
    expect(await enqueueAction("tt", { timeMin: "2024-09-01", timeMax: "2024-09-21" }, d)).toBe(0);
    const [ra, rb] = await Promise.all([startWorker(lake, 2).done, startWorker(lake, 2).done]);
    expect([ra.code, rb.code], `${ra.err}\n${rb.err}`).toEqual([0, 0]);
    const blocks = runLog(lake.home).map((l) => l.split(" ").slice(0, 2).join(" "));
    expect(blocks.length).toBe(40);
    expect(new Set(blocks).size).toBe(40);
    const store = await openBlockStore(lake.runtime);
    expect(store.driverName).toBe("postgres");
    const rows = await store.list({ source: "tt" });
    expect(rows.filter((r) => r.status === "succeeded" && r.attempts === 1).length).toBe(40);
    expect(await store.leases({})).toEqual([]);
    await store.close();
  });
});
