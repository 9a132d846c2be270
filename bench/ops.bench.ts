/**
 * Operations throughput: blocks per second of a backfill in process (1, 2 and 4 days at once) and through the BullMQ
 * queue (1, 2 and 4 worker processes), on the test source's tiny ingest stage (one small JSON object and one catalog
 * row per block) with no extra work and with 20 ms of simulated work per block. Rate = blocks / (last block finished
 * − first block started), from the block store's timestamps, so process start-up is not counted. With several worker
 * processes (which do not start at the same moment) the rate is also given over the span when all of them were
 * working: from the latest first start of a worker to the earliest last finish, the blocks finished in it. The worker
 * processes run a bundle of test/ops/fixtures/worker-main.ts built once with esbuild (no tsx at run time).
 * The queue part needs REDIS_URL (scripts/services.sh start); without it it is skipped with a message.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { backfillAction } from "../src/cli/backfill.js";
import { enqueueAction } from "../src/cli/enqueue.js";
import { openBlockStore } from "../src/orchestration/blocks.js";
import { createProgress } from "../src/cli/progress.js";
import { rawBullQueue } from "../test/ops/helpers.js";
import { LakeRuntime } from "../src/support/runtime.js";
import { fixedClock } from "../src/util/dates.js";
import { ttRegistry } from "../test/ops/fixtures/tt-source.js";
import { fmt } from "./measure.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(here, "../test/ops/fixtures/worker-main.ts");
const BLOCKS = Number(process.env.BENCH_OPS_BLOCKS ?? 200);
const RANGE = { timeMin: "2024-01-01", timeMax: addDaysText("2024-01-01", BLOCKS), only: ["tt-make"] };

function addDaysText(day: string, n: number): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

interface Lake {
  home: string;
  config: string;
  runtime: LakeRuntime;
}

function makeLake(sleepMs: number): Lake {
  const home = mkdtempSync(path.join(os.tmpdir(), "bench-ops-"));
  const cfg = {
    home,
    sources: { tt: { log: path.join(home, "runs.log"), ...(sleepMs ? { sleepMs } : {}) } },
    blocks: { leaseMs: 30_000 },
    ...(process.env.REDIS_URL
      ? { queue: { driver: "bullmq", options: { url: process.env.REDIS_URL, queueName: `bench-ops-${process.pid}-${path.basename(home)}`, busyDelayMs: 200 } } }
      : {}),
  };
  const config = path.join(home, "lake.config.json");
  writeFileSync(config, JSON.stringify(cfg));
  const runtime = LakeRuntime.create({ file: config, clock: fixedClock("2024-11-20T10:00:00-06:00"), env: { ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) } });
  return { home, config, runtime };
}

async function rate(lake: Lake): Promise<{ blocks: number; seconds: number }> {
  const store = await openBlockStore(lake.runtime);
  const rows = (await store.list({ source: "tt" })).filter((r) => r.status === "succeeded");
  await store.close();
  const start = Math.min(...rows.map((r) => r.startedAt!));
  const end = Math.max(...rows.map((r) => r.finishedAt!));
  return { blocks: rows.length, seconds: (end - start) / 1000 };
}

/** Blocks per second over the span when every worker (block owner) was busy; undefined with one owner. */
async function steadyRate(lake: Lake): Promise<{ blocks: number; seconds: number } | undefined> {
  const store = await openBlockStore(lake.runtime);
  const rows = (await store.list({ source: "tt" })).filter((r) => r.status === "succeeded");
  await store.close();
  const byOwner = new Map<string, { first: number; last: number }>();
  for (const r of rows) {
    const o = byOwner.get(r.owner ?? "") ?? { first: Infinity, last: -Infinity };
    byOwner.set(r.owner ?? "", { first: Math.min(o.first, r.startedAt!), last: Math.max(o.last, r.finishedAt!) });
  }
  if (byOwner.size < 2) return undefined;
  const from = Math.max(...[...byOwner.values()].map((o) => o.first));
  const to = Math.min(...[...byOwner.values()].map((o) => o.last));
  const blocks = rows.filter((r) => r.startedAt! >= from && r.finishedAt! <= to).length;
  return to > from ? { blocks, seconds: (to - from) / 1000 } : undefined;
}

/** The worker fixture bundled once (node_modules/.cache, so its packages resolve): worker processes start without tsx. */
async function bundledWorker(): Promise<string> {
  const esbuild = await import("esbuild");
  const out = path.join(here, "../node_modules/.cache/lake-bench/worker-main.mjs");
  await esbuild.build({
    entryPoints: [WORKER],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  return out;
}

async function dispose(lake: Lake): Promise<void> {
  if (process.env.REDIS_URL) {
    const q = await rawBullQueue(lake.runtime);
    await q.obliterate({ force: true });
    await q.close();
  }
  await lake.runtime.close();
  rmSync(lake.home, { recursive: true, force: true });
}

const quiet = { out: () => undefined, progress: createProgress({ quiet: true }), registry: ttRegistry };

function line(label: string, workers: number, r: { blocks: number; seconds: number }, steady?: { blocks: number; seconds: number }) {
  console.log(`${label.padEnd(28)} ${String(workers).padStart(7)} ${String(r.blocks).padStart(7)} ${fmt(r.seconds, 2).padStart(8)} ${fmt(r.blocks / r.seconds, 1).padStart(9)}${steady ? `   all ${workers} busy: ${steady.blocks} blocks in ${fmt(steady.seconds, 2)} s = ${fmt(steady.blocks / steady.seconds, 1)}/s` : ""}`);
}

export async function run(): Promise<void> {
  console.log(`${BLOCKS} blocks (tt-make, one day each) on the embedded defaults (local storage, SQLite catalog and block store)`);
  console.log(`${"runner".padEnd(28)} ${"workers".padStart(7)} ${"blocks".padStart(7)} ${"seconds".padStart(8)} ${"blocks/s".padStart(9)}`);
  for (const sleepMs of [0, 20]) {
    for (const workers of [1, 2, 4]) {
      const lake = makeLake(sleepMs);
      try {
        const code = await backfillAction("tt", { ...RANGE, concurrency: workers }, { ...quiet, runtime: lake.runtime });
        if (code !== 0) throw new Error(`backfill exit ${code}`);
        line(`in-process, ${sleepMs} ms work`, workers, await rate(lake));
      } finally {
        await dispose(lake);
      }
    }
  }
  if (!process.env.REDIS_URL) {
    console.log("queue: skipped (REDIS_URL is not set; `scripts/services.sh start` and source .services/env)");
    return;
  }
  const worker = await bundledWorker();
  for (const sleepMs of [0, 20]) {
    for (const workers of [1, 2, 4]) {
      const lake = makeLake(sleepMs);
      try {
        if ((await enqueueAction("tt", RANGE, { ...quiet, runtime: lake.runtime })) !== 0) throw new Error("enqueue failed");
        const exits = Array.from({ length: workers }, () =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, [worker, lake.config, "1", "--until-empty"], { stdio: "ignore", env: process.env });
            child.on("exit", resolve);
          }),
        );
        const codes = await Promise.all(exits);
        if (codes.some((c) => c !== 0)) throw new Error(`worker exits ${codes.join(",")}`);
        line(`queue (processes), ${sleepMs} ms`, workers, await rate(lake), await steadyRate(lake));
      } finally {
        await dispose(lake);
      }
    }
  }
}
