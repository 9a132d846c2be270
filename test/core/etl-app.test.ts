import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { ingestMain, standardMain, testRuntime, tempDir, TtIngest } from "./helpers.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { MemoryPerfmet } from "../../src/drivers/perfmet/memory.js";
import type { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";

function writeSource(dir: string, days: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const d of days) {
    const [y, m, dd] = d.split("-");
    writeFileSync(path.join(dir, `tt_${m}-${dd}-${y}.csv`), `sensor,volume\ns1,${dd}\ns2,${Number(dd) * 2}\n`);
  }
}

/** Every file under a folder with its SHA-256, for byte-for-byte comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

const NOV = ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04", "2024-11-05"];

describe("ETLApp on the embedded default (local files + SQLite)", () => {
  let home: string;
  let src: string;
  let runtime: LakeRuntime;
  beforeEach(() => {
    home = tempDir();
    src = path.join(home, "share");
    writeSource(src, NOV);
    runtime = testRuntime(home);
  });
  afterEach(async () => {
    await runtime.close();
    rmSync(home, { recursive: true, force: true });
    TtIngest.failOn.clear();
  });

  it("ingests every day once; a rerun processes 0 and changes nothing", async () => {
    const first = await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(first).toMatchObject({ processed: 5, failed: 0, skipped: 0 });
    expect(existsSync(path.join(home, "lake/atd-datalake-raw/2024/11/03/tt/Austin_tt_2024-11-03.csv"))).toBe(true);
    const before = snapshot(path.join(home, "lake"));
    const second = await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(second).toMatchObject({ processed: 0, skipped: 5, failed: 0 });
    expect(snapshot(path.join(home, "lake"))).toEqual(before);
  });

  it("fills a gap when a source file is removed and restored", async () => {
    rmSync(path.join(src, "tt_11-03-2024.csv"));
    expect((await ingestMain(["-s", "2024-11-01", "-d", src], { runtime })).processed).toBe(4);
    writeSource(src, ["2024-11-03"]);
    const again = await ingestMain(["-s", "2024-11-01", "-d", src], { runtime });
    expect(again.processed).toBe(1);
    const std = await standardMain(["-r", "0"], { runtime });
    expect(std.processed).toBe(5);
  });

  it("-F reprocesses everything, same keys, no duplicate catalog rows", async () => {
    await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    const forced = await ingestMain({ start_date: "2024-11-01", sourcedir: src, force: true }, { runtime });
    expect(forced.processed).toBe(5);
    const { Catalog } = await import("../../src/support/catalog.js");
    const cat = new Catalog(await runtime.driver("catalog", false), "tt", { zone: runtime.zone });
    expect(await cat.list("atd-datalake-raw")).toHaveLength(5);
  });

  it("-0 writes nothing: lake folder and catalog byte-for-byte unchanged, and a plan is saved", async () => {
    await ingestMain({ start_date: "2024-11-01", end_date: "2024-11-03", sourcedir: src }, { runtime });
    await runtime.close();
    const before = snapshot(home);
    runtime = testRuntime(home);
    const planFile = path.join(tempDir(), "plan.json");
    const sim = await ingestMain({ start_date: "2024-11-01", sourcedir: src, simulate: true, plan: planFile }, { runtime });
    const simStd = await standardMain({ start_date: "2024-11-01", simulate: true }, { runtime });
    await runtime.close();
    expect(sim.processed).toBe(3);
    expect(simStd.processed).toBe(2);
    expect(sim.plan!.filter((p) => p.kind === "storage")).toHaveLength(3);
    expect(sim.plan!.some((p) => p.kind === "perfmet")).toBe(true);
    expect(JSON.parse(readFileSync(planFile, "utf8")).plan).toHaveLength(sim.plan!.length);
    expect(snapshot(home)).toEqual(before);
    runtime = testRuntime(home);
  });

  it("-o DIR writes local copies of every output (with -0: a full local dry run)", async () => {
    const out = tempDir();
    await ingestMain({ start_date: "2024-11-01", sourcedir: src, simulate: true, output_filepath: out }, { runtime });
    expect(readdirSync(out).sort()).toEqual(NOV.map((d) => `Austin_tt_${d}.csv`));
    expect(existsSync(path.join(home, "lake"))).toBe(false);
  });

  it("--debug uses the test repositories and the test perfmet tables (fixes B24)", async () => {
    const perf = new MemoryPerfmet(true);
    const rt = testRuntime(home, { drivers: { perfmet: perf } });
    await ingestMain({ start_date: "2024-11-01", sourcedir: src, debug: true }, { runtime: rt });
    expect(existsSync(path.join(home, "lake/atd-datalake-raw-test/2024/11/01/tt/Austin_tt_2024-11-01.csv"))).toBe(true);
    expect(existsSync(path.join(home, "lake/atd-datalake-raw"))).toBe(false);
    expect([...perf.tables.keys()]).toEqual(["etl_perfmet_job_test"]);
    await rt.close();
  });

  it("one failing item does not stop the others; its catalog row is not written; a rerun finishes it", async () => {
    TtIngest.failOn.add("tt_11-03-2024.csv");
    const r = await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(r).toMatchObject({ processed: 4, failed: 1 });
    expect(r.failures[0]!.error).toMatch(/bad input in .*tt_11-03-2024.csv/);
    TtIngest.failOn.clear();
    const again = await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(again).toMatchObject({ processed: 1, failed: 0 });
  });

  it("records a perfmet job row with the collection range (+1 day) and observations", async () => {
    await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    await standardMain({ start_date: "2024-11-01" }, { runtime });
    const perf = await runtime.driver("perfmet", false);
    const jobs = await perf.readJobs({ from: 0, to: Date.parse("2030-01-01") });
    expect(jobs.map((j) => [j.stage, j.records])).toEqual([["Ingest", 5], ["Standardize", 5]].map(([s, n]) => [s, n]).sort());
    expect(new Date(jobs[0]!.collection_end!).toISOString()).toBe("2024-11-06T06:00:00.000Z");
    const obs = await perf.readObs({ from: 0, to: Date.parse("2030-01-01") });
    expect(obs).toHaveLength(5);
  });
});

describe("ETLApp with memory drivers", () => {
  it("flushes staged catalog rows when the date changes and at the end (fixes B1)", async () => {
    const home = tempDir();
    const src = path.join(home, "share");
    writeSource(src, NOV.slice(0, 3));
    const catalog = new MemoryCatalog();
    const calls: number[] = [];
    const upsert = catalog.upsert.bind(catalog);
    catalog.upsert = async (rows) => {
      calls.push(rows.length);
      return upsert(rows);
    };
    const runtime = testRuntime(home, { drivers: { catalog, storage: new MemoryStorage(), perfmet: new MemoryPerfmet() } });
    await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(calls).toEqual([1, 1, 1]);
  });

  it("emits typed events: the plan size first, then one item event per item, with durations", async () => {
    const home = tempDir();
    const src = path.join(home, "share");
    writeSource(src, NOV.slice(0, 2));
    const runtime = testRuntime(home, { drivers: { catalog: new MemoryCatalog(), storage: new MemoryStorage(), perfmet: new MemoryPerfmet() } });
    const seen: string[] = [];
    runtime.events.on("plan.size", (e) => seen.push(`plan ${e.total}`));
    runtime.events.on("item.done", (e) => seen.push(`done ${e.item} ${e.count} ${typeof e.ms}`));
    runtime.events.on("write", (e) => seen.push(`write ${e.key}`));
    await ingestMain({ start_date: "2024-11-01", sourcedir: src }, { runtime });
    expect(seen).toEqual([
      "plan 2",
      "write 2024/11/01/tt/Austin_tt_2024-11-01.csv",
      "done Austin/csv/2024-11-01 1 number",
      "write 2024/11/02/tt/Austin_tt_2024-11-02.csv",
      "done Austin/csv/2024-11-02 1 number",
    ]);
  });

  it("same-day exclusion follows the injected clock", async () => {
    const home = tempDir();
    const src = path.join(home, "share");
    writeSource(src, ["2024-11-19", "2024-11-20"]);
    const runtime = testRuntime(home, {
      clock: fixedClock("2024-11-20T23:59:00-06:00"),
      drivers: { catalog: new MemoryCatalog(), storage: new MemoryStorage(), perfmet: new MemoryPerfmet() },
    });
    expect((await ingestMain({ start_date: "1", sourcedir: src }, { runtime })).processed).toBe(1);
    expect((await ingestMain({ start_date: "2024-11-20", end_date: "2024-11-21", sourcedir: src }, { runtime })).processed).toBe(1);
  });
});
