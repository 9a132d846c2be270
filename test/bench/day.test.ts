/**
 * The day benchmark's harness at the demo size (`npm run bench -- day` runs it at the large size): the day is
 * generated, `lake pipeline bt,wt,gs` runs as a measured child process of the compiled CLI, and the published
 * datasets hold the row counts the generated inputs call for; a dataset missing a row fails the check, naming it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/build.js";
import { checkCounts, makeHome, prepareDay, publishedCounts, runPipelineOnce, startDayDevices } from "../../bench/day/harness.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "day-bench-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it("runs the day through lake pipeline in one measured process and checks the published row counts", async () => {
  await ensureBuilt();
  const inputs = await prepareDay(path.join(tmp, "cache"), "demo", "2024-11-13");
  // Every dataset of the three sources, counted from the inputs (the demo's missing reader's rows left out).
  expect(Object.keys(inputs.expected).sort()).toEqual(["i626-g7ub", "qnpj-zrb9", "sh59-i6y9 volume", "v7zg-5jg9", "x44q-icha"]);
  expect(inputs.inputs["bt unmatched lines"]).toBe(300);
  expect(inputs.expected["qnpj-zrb9"]).toBeLessThan(300);
  const again = await prepareDay(path.join(tmp, "cache"), "demo", "2024-11-13");
  expect(again.dir).toBe(inputs.dir); // cached

  const fake = await startDayDevices(inputs);
  try {
    const home = makeHome(inputs, path.join(tmp, "home"), fake);
    const run = await runPipelineOnce(inputs, home);
    expect(run.code, run.stderr).toBe(0);
    expect(run.cpu).toBeGreaterThan(0);
    expect(run.rssMiB).toBeGreaterThan(10);
    expect(checkCounts(inputs.expected, await publishedCounts(inputs, home))).toEqual([]);

    // One published row fewer: the check names the dataset and both counts.
    const csv = path.join(home, "published", "x44q-icha.csv");
    const lines = readFileSync(csv, "utf8").split("\r\n");
    writeFileSync(csv, [...lines.slice(0, -2), ""].join("\r\n"));
    const n = inputs.expected["x44q-icha"]!;
    expect(checkCounts(inputs.expected, await publishedCounts(inputs, home))).toEqual([`x44q-icha: ${n - 1}, expected ${n}`]);
  } finally {
    await fake.stop();
  }
}, 180_000);

it("a measured child's peak RSS is its own, not its parent's at spawn (getrusage's maxRSS starts there on Linux)", async () => {
  const { runMeasured } = await import("../../bench/day/harness.js");
  const ballast = Buffer.alloc(300 * 1024 * 1024, 1); // this process holds 300 MiB more when the child is spawned
  const s = await runMeasured("node -e 0", ["-e", "0"], process.env, tmp);
  expect(ballast.length).toBeGreaterThan(0);
  expect(s.code).toBe(0);
  expect(s.rssMiB).toBeGreaterThan(10);
  expect(s.rssMiB).toBeLessThan(150); // node -e 0 is about 42 MiB; with maxRSS it read over 300
});
