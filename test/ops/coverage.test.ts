/** lake coverage: day × layer counts from the catalog; a removed day shows as a gap and a backfill fills it. */
import { describe, expect, it } from "vitest";
import { backfillAction } from "../../src/cli/backfill.js";
import { coverageAction } from "../../src/cli/coverage.js";
import { coverageReport, formatCoverage } from "../../src/orchestration/coverage.js";
import { Catalog } from "../../src/support/catalog.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import { ttPipeline, ttRegistry } from "./fixtures/tt-source.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { deps, useLakes } from "./helpers.js";

const { lake } = useLakes();

async function removeDay(runtime: LakeRuntime, layer: "raw" | "standardized", day: string): Promise<void> {
  const catalog = new Catalog(await runtime.driver("catalog", false), "tt", { zone: runtime.zone });
  const storage = await runtime.driver("storage", false);
  const repo = runtime.repository(layer, false);
  const gone = (await catalog.list(repo)).filter((e) => e.collectionDate.toISODate() === day);
  for (const e of gone) await storage.delete(repo, e.pointer);
  expect(await catalog.delete(gone)).toBe(1);
}

describe("lake coverage", () => {
  it("shows a removed day as missing, and a backfill over the range fills it", async () => {
    const { home, runtime, d } = lake();
    expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-06" }, d)).toBe(0);
    await removeDay(runtime, "raw", "2024-11-03");
    await removeDay(runtime, "standardized", "2024-11-03");

    const c = deps(runtime);
    expect(await coverageAction("tt", { from: "2024-11-01", to: "2024-11-06", json: true }, c)).toBe(0);
    const report = JSON.parse(c.text());
    expect(report.applicable).toEqual(["raw", "standardized"]);
    expect(report.gaps).toEqual([
      { day: "2024-11-03", layer: "raw", status: "missing", count: 0, expected: 1 },
      { day: "2024-11-03", layer: "standardized", status: "missing", count: 0, expected: 1 },
    ]);
    expect(report.days[0].cells).toEqual({
      // rows: as the stage that wrote the objects counted them (this test stage counts one row an object)
      raw: { count: 1, rows: 1, status: "ok", expected: 1 },
      standardized: { count: 1, rows: 1, status: "ok", expected: 1 },
      ready: { count: 0, rows: null, status: "n/a", expected: null },
      aggregated: { count: 0, rows: null, status: "n/a", expected: null },
      published: { count: 0, rows: null, status: "n/a", expected: null },
    });
    const t = deps(runtime);
    expect(await coverageAction("tt", { from: "2024-11-01", to: "2024-11-06", failOnGaps: true }, t)).toBe(1);
    expect(t.text()).toMatch(/2024-11-03\s+MISSING\s+MISSING\s+n\/a\s+n\/a\s+n\/a/);
    expect(t.text()).toContain("2 missing and 0 partial");
    const page = path.join(home, "coverage.html");
    expect(await coverageAction("tt", { from: "2024-11-01", to: "2024-11-06", html: page }, deps(runtime))).toBe(0);
    const html = readFileSync(page, "utf8");
    expect(html).toContain("<tr><th>2024-11-03</th><td class=\"missing\">missing</td><td class=\"missing\">missing</td><td class=\"na\">n/a</td>");
    expect(html).toContain("<tr><th>2024-11-01</th><td class=\"ok\">1</td>");

    expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-06" }, deps(runtime))).toBe(0);
    const after = deps(runtime);
    expect(await coverageAction("tt", { from: "2024-11-01", to: "2024-11-06", failOnGaps: true }, after)).toBe(0);
    expect(after.text()).toContain("no gaps");
  });

  it("marks partial days: fewer objects than the source's known count, or than the window's maximum", async () => {
    const { runtime, d } = lake();
    expect(await backfillAction("tt", { timeMin: "2024-11-01", timeMax: "2024-11-03" }, d)).toBe(0);
    const known = await coverageReport(runtime, ttPipeline, { from: "2024-11-01", to: "2024-11-03", expected: { raw: 3 } });
    expect(known.gaps.map((g) => `${g.day} ${g.layer} ${g.status} ${g.count}/${g.expected}`)).toEqual(["2024-11-01 raw partial 1/3", "2024-11-02 raw partial 1/3"]);
    expect(formatCoverage(known)).toMatch(/2024-11-01\s+1\/3 PART\s+1/);
    // A second object on one day: the other day is now partial against the window's maximum.
    const catalog = new Catalog(await runtime.driver("catalog", false), "tt", { zone: runtime.zone });
    const [first] = await catalog.list(runtime.repository("raw", false));
    await catalog.upsert({ ...first!, base: "extra" });
    const max = await coverageReport(runtime, ttPipeline, { from: "2024-11-01", to: "2024-11-03" });
    expect(max.gaps.map((g) => `${g.day} ${g.layer} ${g.status} ${g.count}/${g.expected}`)).toEqual(["2024-11-02 raw partial 1/2"]);
  });

  it("shows failed-terminal items in their day and layer, with why", async () => {
    const { runtime } = lake({ failDays: ["2024-11-02"] });
    for (let i = 0; i < 3; i++) await ttPipeline.stage("tt-make").main({ start_date: "2024-11-01", end_date: "2024-11-04" }, { runtime });
    const report = await coverageReport(runtime, ttPipeline, { from: "2024-11-01", to: "2024-11-04" });
    expect(report.days[1]!.cells.raw).toMatchObject({ status: "missing", failed: [{ stage: "tt-make", item: "counts/json", runs: 3, error: "tt-make: injected failure for 2024-11-02" }] });
    expect(report.days[0]!.cells.raw.failed).toBeUndefined();
    const text = formatCoverage(report);
    expect(text).toMatch(/2024-11-02\s+MISSING F1/);
    expect(text).toContain("1 item(s) failed-terminal");
    expect(text).toContain("2024-11-02 tt-make counts/json: failed 3 times: tt-make: injected failure for 2024-11-02");
  });

  it("needs --from and --to (exit 2) and counts --to as exclusive", async () => {
    const { d } = lake();
    const err = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await coverageAction("tt", { from: "2024-11-01" }, d)).toBe(2);
      expect(await coverageAction("tt", { from: "2024-11-05", to: "2024-11-01" }, d)).toBe(2);
    } finally {
      process.stderr.write = err;
    }
    const one = deps(d.runtime!);
    expect(await coverageAction("tt", { from: "2024-11-01", to: "2024-11-01", json: true }, one)).toBe(0);
    expect(JSON.parse(one.text()).days.map((x: { day: string }) => x.day)).toEqual(["2024-11-01"]);
  });
});
