/** Operations on a real source: Wavetronix on its simulated KITS database, through the project's own registry. */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backfillAction } from "../../src/cli/backfill.js";
import { coverageAction } from "../../src/cli/coverage.js";
import { pipelineAction } from "../../src/cli/pipeline.js";
import { runStageAction } from "../../src/cli/run.js";
import { openBlockStore } from "../../src/orchestration/blocks.js";
import { createProgress } from "../../src/cli/progress.js";
import { Catalog } from "../../src/support/catalog.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import { NOW, tempHome } from "./helpers.js";

const home = tempHome("lake-ops-wt-");
let runtime: LakeRuntime;
afterAll(async () => {
  await runtime?.close();
  rmSync(home, { recursive: true, force: true });
});

function capture() {
  let text = "";
  return { runtime, out: (s: string) => void (text += s), progress: createProgress({ quiet: true }), text: () => text };
}

describe("wt through backfill, coverage and pipeline", () => {
  it("a backfill fills every layer of the days, a removed day shows in coverage, --incomplete-only leaves done blocks alone", async () => {
    mkdirSync(path.join(home, "sources"), { recursive: true });
    const { default: pipeline } = await import("../../src/sources/wt/source.js");
    const wt = await (await pipeline.loadDemo())!.simulate({ home, zone: "America/Chicago", from: "2024-11-01", to: "2024-11-05" });
    runtime = LakeRuntime.create({ overrides: { home, sources: { wt } }, clock: fixedClock(NOW), cwd: home, env: {} });

    const b = capture();
    expect(await backfillAction("wt", { timeMin: "2024-11-01", timeMax: "2024-11-04", concurrency: 2, json: true }, b)).toBe(0);
    expect(JSON.parse(b.text()).succeeded).toBe(12);

    const c = capture();
    expect(await coverageAction("wt", { from: "2024-11-01", to: "2024-11-04", json: true, failOnGaps: true }, c)).toBe(0);
    expect(JSON.parse(c.text()).applicable).toEqual(["raw", "standardized", "ready", "published"]);

    // Lose a day of ready data: coverage shows it; the backfill's compare loops rebuild just that.
    const catalog = new Catalog(await runtime.driver("catalog", false), "wt", { zone: runtime.zone });
    const ready = (await catalog.list(runtime.repository("ready", false))).filter((e) => e.collectionDate.toISODate() === "2024-11-02");
    expect(await catalog.delete(ready)).toBe(1);
    const g = capture();
    expect(await coverageAction("wt", { from: "2024-11-01", to: "2024-11-04", json: true }, g)).toBe(0);
    expect(JSON.parse(g.text()).gaps).toEqual([{ day: "2024-11-02", layer: "ready", status: "missing", count: 0, expected: 1 }]);
    expect(await backfillAction("wt", { timeMin: "2024-11-02", timeMax: "2024-11-02", only: ["ready"] }, capture())).toBe(0);
    expect(await coverageAction("wt", { from: "2024-11-01", to: "2024-11-04", failOnGaps: true }, capture())).toBe(0);

    const again = capture();
    expect(await backfillAction("wt", { timeMin: "2024-11-01", timeMax: "2024-11-04", incompleteOnly: true, json: true }, again)).toBe(0);
    expect(JSON.parse(again.text()).doneBefore).toBe(12);
    const store = await openBlockStore(runtime);
    expect((await store.list({ source: "wt" })).length).toBe(12);
    await store.close();
  });

  it("lake pipeline wt over a window runs the four stages in order; rerun processes nothing new", async () => {
    const p = capture();
    expect(await pipelineAction("wt", ["-s", "2024-11-04", "-e", "2024-11-05", "--json"], p)).toBe(0);
    const res = JSON.parse(p.text());
    expect(res.stages.map((s: { stage: string; processed: number }) => `${s.stage} ${s.processed}`)).toEqual([
      "wt-insert-lake 1",
      "wt-json-standard 1",
      "wt-ready 1",
      "wt-extract-soc 1",
    ]);
    const q = capture();
    expect(await pipelineAction("wt", ["-s", "2024-11-01", "-e", "2024-11-05", "--json"], q)).toBe(0);
    expect(JSON.parse(q.text()).stages.every((s: { processed: number }) => s.processed === 0)).toBe(true);
  });

  it("lake run holds the block leases of its window: a day held by another run blocks it until released", async () => {
    const leased = LakeRuntime.create({ overrides: { home, sources: runtime.config.sources, blocks: { leaseMs: 300 } }, clock: fixedClock(NOW), cwd: home, env: {} });
    const store = await openBlockStore(leased);
    const key = { source: "wt", stage: "wt-json-standard", day: "2024-11-03" };
    expect(await store.acquireLease(key, "cron-host:7", Date.now(), 60_000)).toEqual({ acquired: true });
    let text = "";
    const deps = { runtime: leased, out: (s: string) => void (text += s) };
    const blocked = await runStageAction("wt-json-standard", ["-s", "2024-11-01", "-e", "2024-11-05", "-F", "--json"], deps);
    expect(blocked).toBe(1);
    await store.releaseLease(key, "cron-host:7");
    text = "";
    expect(await runStageAction("wt-json-standard", ["-s", "2024-11-01", "-e", "2024-11-05", "-F", "--json"], deps)).toBe(0);
    expect(JSON.parse(text.trim().split("\n").pop()!)).toMatchObject({ processed: 4, failed: 0 });
    // --no-leases runs even while a lease is held elsewhere.
    expect(await store.acquireLease(key, "cron-host:7", Date.now(), 60_000)).toEqual({ acquired: true });
    expect(await runStageAction("wt-json-standard", ["-s", "2024-11-03", "-e", "2024-11-03", "-F", "--no-leases", "--json"], deps)).toBe(0);
    await store.close();
    await leased.close();
  });
});
