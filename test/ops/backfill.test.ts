/** The in-process range runner over the test source tt (two stages) on a temp lake with the embedded defaults. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { backfillAction } from "../../src/cli/backfill.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { sqliteBlockStore } from "../../src/drivers/blocks/sqlite.js";
import { Catalog } from "../../src/support/catalog.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import { deps, runLog, snapshot, tempHome, useLakes } from "./helpers.js";

const { lake } = useLakes();

async function catalogDays(runtime: LakeRuntime, layer: "raw" | "standardized"): Promise<string[]> {
  const catalog = new Catalog(await runtime.driver("catalog", false), "tt", { zone: runtime.zone });
  return (await catalog.list(runtime.repository(layer, false))).map((e) => e.collectionDate.toISODate()!);
}

const RANGE = { timeMin: "2024-11-01", timeMax: "2024-11-05" };

describe("lake backfill (in-process)", () => {
  it("runs every (stage, day) block in order, records each block's status and counts, exit 0", async () => {
    const { home, runtime, d } = lake();
    expect(await backfillAction("tt", { ...RANGE }, d)).toBe(0);
    expect(await catalogDays(runtime, "raw")).toEqual(["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04"]);
    expect(await catalogDays(runtime, "standardized")).toEqual(["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04"]);
    const store = await openBlockStore(runtime);
    const blocks = await store.list({ source: "tt" });
    expect(blocks.length).toBe(8);
    expect(blocks.every((b) => b.status === "succeeded" && b.processed === 1 && b.records === 1 && b.attempts === 1)).toBe(true);
    expect(await store.leases({ source: "tt" })).toEqual([]); // every lease released
    await store.close();
    // stages in order per day
    const log = runLog(home).map((l) => l.split(" ").slice(0, 2).join(" "));
    for (const day of ["2024-11-01", "2024-11-04"]) expect(log.indexOf(`tt-make ${day}`)).toBeLessThan(log.indexOf(`tt-copy ${day}`));
    expect(d.text()).toMatch(/tt-make\s+8?\s*4/);
    expect(d.text()).toContain("8 block(s)");
  });

  it("--time-max equal to --time-min is that one day; --interval counts back from --time-max", async () => {
    const { home, d } = lake();
    expect(await backfillAction("tt", { timeMin: "2024-11-03", timeMax: "2024-11-03", only: ["make"] }, d)).toBe(0);
    expect(runLog(home)).toEqual([`tt-make 2024-11-03 ${process.pid}`]);
    expect(await backfillAction("tt", { timeMax: "2024-11-10", interval: "2d", only: ["tt-make"] }, d)).toBe(0);
    expect(runLog(home).slice(1).map((l) => l.split(" ")[1])).toEqual(["2024-11-08", "2024-11-09"]);
  });

  it("a failed block stops its day's later stages; --incomplete-only then reruns only failed or missing blocks", async () => {
    const home = tempHome();
    const first = lake({ failDays: ["2024-11-03"] }, {}, home);
    expect(await backfillAction("tt", { ...RANGE, continueOnError: true }, first.d)).toBe(1);
    const store = await openBlockStore(first.runtime);
    const failed = (await store.get({ source: "tt", stage: "tt-make", day: "2024-11-03" }))!;
    expect(failed.status).toBe("failed");
    expect(failed.message).toMatch(/injected failure for 2024-11-03/);
    expect(failed.failed).toBe(1);
    expect(await store.get({ source: "tt", stage: "tt-copy", day: "2024-11-03" })).toBeUndefined(); // blocked, never started
    expect(first.d.text()).toContain("1 block(s) not started (blocked behind a failed or busy stage, or the run stopped) on 1 day(s): 2024-11-03");
    await store.close();

    const fixed = lake({}, {}, home);
    const before = runLog(home).length;
    expect(await backfillAction("tt", { ...RANGE, incompleteOnly: true }, fixed.d)).toBe(0);
    expect(runLog(home).slice(before).map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["tt-make 2024-11-03", "tt-copy 2024-11-03"]);
    const store2 = await openBlockStore(fixed.runtime);
    const blocks = await store2.list({ source: "tt" });
    expect(blocks.filter((b) => b.status === "succeeded").length).toBe(8);
    expect(blocks.find((b) => b.stage === "tt-make" && b.day === "2024-11-03")!.attempts).toBe(2);
    await store2.close();
  });

  it("without --continue-on-error the run stops starting blocks after the first failure", async () => {
    const { d } = lake({ failDays: ["2024-11-01"] });
    expect(await backfillAction("tt", { ...RANGE, json: true }, d)).toBe(1);
    const summary = JSON.parse(d.text());
    expect(summary.failed).toBe(1);
    expect(summary.succeeded).toBe(0);
    expect(summary.blocked).toBe(7);
  });

  it("a day without source data is no-data, and its later stage still runs (and is no-data too)", async () => {
    const { runtime, d } = lake({ emptyDays: ["2024-11-02"] });
    expect(await backfillAction("tt", { ...RANGE }, d)).toBe(0);
    const store = await openBlockStore(runtime);
    const day2 = await store.list({ source: "tt", from: "2024-11-02", to: "2024-11-03" });
    expect(day2.map((b) => b.status)).toEqual(["no-data", "no-data"]);
    await store.close();
  });

  it("--dry-run prints the plan and writes nothing (catalog and storage byte-identical; no database on a new lake)", async () => {
    const fresh = lake();
    expect(await backfillAction("tt", { ...RANGE, dryRun: true }, fresh.d)).toBe(0);
    expect(snapshot(fresh.home)).toEqual({});
    expect(fresh.d.text()).toContain("lake run tt-make -s 2024-11-01 -e 2024-11-01   [never run]");

    const home = tempHome();
    const full = lake({}, {}, home);
    expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-03" }, full.d)).toBe(0);
    await full.runtime.close();
    const before = snapshot(home);
    expect(Object.keys(before)).toContain("catalog.sqlite");
    const dry = lake({}, {}, home);
    expect(await backfillAction("tt", { ...RANGE, dryRun: true, force: true }, dry.d)).toBe(0);
    await dry.runtime.close();
    expect(snapshot(home)).toEqual(before);
    expect(dry.d.text()).toContain("lake run tt-copy -s 2024-11-02 -e 2024-11-02 -F   [now succeeded]");
    expect(dry.d.text()).toContain("dry run: 8 block(s) would run");
  });

  it("leaves a block leased by another live run alone (busy), and takes over an expired lease of a crashed run", async () => {
    const { home, runtime, d } = lake();
    const other = sqliteBlockStore(path.join(home, "catalog.sqlite"));
    const now = Date.now();
    await other.acquireLease({ source: "tt", stage: "tt-make", day: "2024-11-02" }, "other-host:1", now, 60_000);
    await other.acquireLease({ source: "tt", stage: "tt-make", day: "2024-11-03" }, "crashed-host:2", now - 120_000, 60_000);
    expect(await backfillAction("tt", { ...RANGE, continueOnError: true }, d)).toBe(0);
    const ran = runLog(home).map((l) => l.split(" ").slice(0, 2).join(" "));
    expect(ran).not.toContain("tt-make 2024-11-02");
    expect(ran).toContain("tt-make 2024-11-03");
    expect(d.text()).toMatch(/BUSY tt-make 2024-11-02: held by other-host:1/);
    expect(d.text()).toMatch(/1 block\(s\) not started .* on 1 day\(s\): 2024-11-02\n/);
    expect((await other.leases({ source: "tt" })).map((l) => l.owner)).toEqual(["other-host:1"]);
    await other.close();
    void runtime;
  });

  it("renews a running block's lease (heartbeat), so a block longer than the lease is never taken over", async () => {
    const { home, runtime } = lake({ sleepMs: 1_200 }, { blocks: { leaseMs: 300 } });
    const other = sqliteBlockStore(path.join(home, "catalog.sqlite"));
    const key = { source: "tt", stage: "tt-make", day: "2024-11-01" };
    const run = backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-01", only: ["make"] }, deps(runtime));
    const tries: boolean[] = [];
    let running = true;
    void run.finally(() => (running = false));
    while (running) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await other.get(key))?.status !== "leased") continue;
      const got = await other.acquireLease(key, "intruder", Date.now(), 300);
      tries.push(got.acquired);
      if (got.acquired) await other.releaseLease(key, "intruder");
    }
    expect(await run).toBe(0);
    expect(tries.length).toBeGreaterThan(3); // tried well past the 300 ms lease
    expect(tries.every((t) => t === false)).toBe(true);
    await other.close();
  });

  it("--concurrency runs days in parallel, still in stage order per day", async () => {
    const { home, runtime, d } = lake({ sleepMs: 20 });
    expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-09", concurrency: 4 }, d)).toBe(0);
    const log = runLog(home).map((l) => l.split(" ").slice(0, 2).join(" "));
    expect(log.length).toBe(16);
    for (let i = 1; i <= 8; i++) {
      const day = `2024-11-0${i}`;
      expect(log.indexOf(`tt-make ${day}`)).toBeLessThan(log.indexOf(`tt-copy ${day}`));
    }
    expect((await catalogDays(runtime, "standardized")).length).toBe(8);
  });

  it("an interrupt (shouldStop) starts no new block; the running one finishes", async () => {
    const { runtime } = lake();
    const { runBackfill } = await import("../../src/orchestration/backfill.js");
    const { ttRegistry } = await import("./fixtures/tt-source.js");
    const store = await openBlockStore(runtime);
    let started = 0;
    const res = await runBackfill(
      { runtime, store, registry: ttRegistry, owner: "t", leaseMs: 10_000 },
      { source: "tt", stages: ["tt-make", "tt-copy"], days: ["2024-11-01", "2024-11-02"] },
      { shouldStop: () => started++ >= 1 },
    );
    expect(res.outcomes.map((o) => `${o.stage} ${o.day} ${o.status}`)).toEqual([
      "tt-make 2024-11-01 succeeded",
      "tt-copy 2024-11-01 not-run",
      "tt-make 2024-11-02 not-run",
      "tt-copy 2024-11-02 blocked",
    ]);
    expect(res.outcomes[1]!.message).toBe("the run was interrupted");
    expect(res.exitCode).toBe(1);
    await store.close();
  });

  it("keeps debug blocks apart: a --debug backfill does not make production blocks look done", async () => {
    const { home, runtime, d } = lake();
    expect(await backfillAction("tt", { ...RANGE, debug: true }, d)).toBe(0);
    const before = runLog(home).length;
    expect(await backfillAction("tt", { ...RANGE, incompleteOnly: true }, deps(runtime))).toBe(0);
    expect(runLog(home).length - before).toBe(8);
    const store = await openBlockStore(runtime);
    expect((await store.list({ source: "tt@debug" })).length).toBe(8);
    expect((await store.list({ source: "tt" })).length).toBe(8);
    await store.close();
  });

  it("usage errors exit 2 with a clear message", async () => {
    const { d } = lake();
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      expect(await backfillAction("tt", { ...RANGE, only: ["nope"] }, d)).toBe(2);
      expect(await backfillAction("zz", { ...RANGE }, d)).toBe(2);
      expect(await backfillAction("tt", { timeMin: "2024-11-05", timeMax: "2024-11-01" }, d)).toBe(2);
      expect(await backfillAction("tt", { timeMin: "2024-13-01", timeMax: "2024-11-01" }, d)).toBe(2);
      expect(await backfillAction("tt", { ...RANGE, concurrency: "0" }, d)).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    const text = err.join("");
    expect(text).toContain('Source tt has no stage "nope" (stages: tt-make, tt-copy)');
    expect(text).toContain('Unknown source "zz"');
    expect(text).toContain("is before --time-min");
    expect(text).toContain('Malformed --time-min "2024-13-01"');
    expect(text).toContain("--concurrency");
  });
});
