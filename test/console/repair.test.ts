/**
 * `lake audit` and `lake repair` as a user runs them, on a Wavetronix demo lake: a day whose published rows were
 * deleted at the destination by hand shows in the audit (exit 1), `-0` plans the repair without changing anything,
 * the repair restores exactly the rows the lake publishes (the audit is then equal, the dataset holds as many rows
 * as before) and both halves are recorded in perfmet.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { BROKEN_DAY, deletePublishedDay } from "./lake.js";

const lake = path.join(root, "bin/lake.js");
let home: string;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [lake, ...args], { env: { ...process.env, LAKE_HOME: home }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function withRuntime<T>(body: (runtime: LakeRuntime) => Promise<T>): Promise<T> {
  const runtime = LakeRuntime.create({ overrides: { home }, env: {} });
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

const datasetRows = () => withRuntime(async (rt) => (await rt.driver("publisher", false)).countRows!("i626-g7ub"));

interface AuditJson {
  datasets: { dataset: string; lakeTotal: number; destinationTotal: number; days: { day: string; lake: number; destination: number; difference: number }[] }[];
  differing: number;
}

beforeAll(async () => {
  await ensureBuilt();
  home = path.join(tempDir("lake-repair-"), "lake");
  const demo = spawnSync(process.execPath, [lake, "demo", "--dir", home, "--sources", "wt"], { encoding: "utf8" });
  expect(demo.status, demo.stderr).toBe(0);
}, 180_000);

describe("lake audit and lake repair", () => {
  it("finds a day deleted by hand, plans its repair with -0, repairs it, and records both halves in perfmet", async () => {
    const clean = run("audit", "wt", "--json");
    expect(clean.status, clean.stderr).toBe(0);
    const before = JSON.parse(clean.stdout) as AuditJson;
    expect(before.differing).toBe(0);
    const rowsBefore = await datasetRows();
    expect(rowsBefore).toBe(before.datasets[0]!.lakeTotal);

    const deleted = await withRuntime((rt) => deletePublishedDay(rt, BROKEN_DAY));
    expect(deleted).toBeGreaterThan(0);

    const broken = run("audit", "wt");
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`${BROKEN_DAY}\\s+${deleted}\\s+0\\s+-${deleted}\\s+<- differs`));
    expect(broken.stdout).toContain(`lake repair wt --day <day>`);

    const plan = run("repair", "wt", "--day", BROKEN_DAY, "-0");
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`${deleted} row(s) published for the day would be deleted`);
    expect(await datasetRows()).toBe(rowsBefore - deleted); // -0 changed nothing
    expect(run("audit", "wt").status).toBe(1);

    const repaired = run("repair", "wt", "--day", BROKEN_DAY);
    expect(repaired.status, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/wt-extract-soc: 1 republished, 0 failed/);
    const after = run("audit", "wt", "--json");
    expect(after.status, after.stdout).toBe(0);
    expect((JSON.parse(after.stdout) as AuditJson).differing).toBe(0);
    expect(await datasetRows()).toBe(rowsBefore);

    const jobs = await withRuntime(async (rt) => (await rt.driver("perfmet", false)).readJobs({ from: 0, to: Date.now() + 86_400_000 }));
    const repair = jobs.filter((j) => j.stage === "repair");
    expect(repair).toHaveLength(1); // not the -0 run
    expect(repair[0]!.data_source).toBe("Wavetronix");
    // The rows had already been deleted by hand: the destination found none of them.
    expect(repair[0]!.records).toBe(0);
    expect(repair[0]!.collection_start).toBe(Date.parse(`${BROKEN_DAY}T00:00:00-06:00`)); // CST: after the 2024-11-03 change
  });

  it("a repair of a complete day deletes its rows at the destination and puts the same rows back", async () => {
    const rowsBefore = await datasetRows();
    const r = run("repair", "wt", "--day", "2024-11-03", "--json");
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { datasets: { ids: number; deleted: number }[]; stages: { records: number }[] };
    expect(report.datasets[0]!.ids).toBeGreaterThan(0);
    expect(report.datasets[0]!.deleted).toBe(report.datasets[0]!.ids);
    expect(report.stages[0]!.records).toBe(report.datasets[0]!.ids);
    expect(await datasetRows()).toBe(rowsBefore);
    expect(run("audit", "wt").status).toBe(0);
  });

  it("refuses an unknown source, a malformed day and half a window, naming what is wrong", () => {
    const unknown = run("repair", "nope", "--day", BROKEN_DAY);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown source "nope"/);
    const badDay = run("repair", "wt", "--day", "2024-13-45");
    expect(badDay.status).toBe(2);
    expect(badDay.stderr).toMatch(/--day/);
    const half = run("audit", "wt", "--from", "2024-11-01");
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/both -s\/--start and -e\/--end/);
  });
});
