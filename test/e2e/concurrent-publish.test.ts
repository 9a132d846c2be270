/**
 * Concurrent publishing (issue 14): two `lake run wt-extract-soc` processes over disjoint windows (their day leases
 * never collide) publish into the one CSV dataset of the embedded default at the same time. In every trial, on a
 * fresh copy of a lake with nothing published, both exit 0 and the dataset holds exactly the rows of a clean run:
 * none lost, none repeated. Also with --no-leases (no day leases at all), where only the dataset lock serialises
 * the writers (LAKE_CONCURRENT_TRIALS=50 for the 50 trials; CI runs 20). The original's shared-file rewrite lost a whole day in 3 of 11 such trials.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";

const LAKE = path.join(root, "bin/lake.js");
const DATASET = "published/i626-g7ub.csv";
const TRIALS = Number(process.env.LAKE_CONCURRENT_TRIALS ?? 20);
const NO_LEASE_TRIALS = Number(process.env.LAKE_CONCURRENT_NO_LEASE_TRIALS ?? 10);

let work: string;
let template: string;
let clean: string[];

function lake(home: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAKE, ...args], { cwd: work, env: { ...process.env, LAKE_HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** The dataset's data lines, sorted, and its repeated row ids. */
function dataset(home: string): { lines: string[]; repeated: number } {
  const [, ...lines] = readFileSync(path.join(home, DATASET), "utf8").split("\r\n").filter(Boolean);
  const ids = lines.map((l) => l.slice(0, l.indexOf(",")));
  return { lines: lines.sort(), repeated: ids.length - new Set(ids).size };
}

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("lake-concurrent-");
  template = path.join(work, "template");
  const demo = spawnSync(process.execPath, [LAKE, "demo", "--dir", template, "--sources", "wt", "--json"], { cwd: work, encoding: "utf8" });
  expect(demo.status, demo.stderr).toBe(0);
  clean = dataset(template).lines; // the demo published every day, one process after the other
  expect(clean.length).toBe(14 * 864 + 36); // two weeks, the fall-back day 25 hours
  rmSync(path.join(template, "published"), { recursive: true, force: true });
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function trial(i: number, extra: string[]): Promise<{ lost: number; extraRows: number; repeated: number; codes: (number | null)[] }> {
  const home = path.join(work, `trial-${i}`);
  cpSync(template, home, { recursive: true });
  // -F: the template's catalog says every day is published; its destination is empty.
  const [a, b] = await Promise.all([
    lake(home, ["run", "wt-extract-soc", "-s", "2024-10-27", "-e", "2024-11-03", "-F", ...extra]),
    lake(home, ["run", "wt-extract-soc", "-s", "2024-11-03", "-e", "2024-11-10", "-F", ...extra]),
  ]);
  const got = dataset(home);
  const have = new Set(got.lines);
  const want = new Set(clean);
  const result = { lost: clean.filter((l) => !have.has(l)).length, extraRows: got.lines.filter((l) => !want.has(l)).length, repeated: got.repeated, codes: [a.code, b.code] };
  if (result.lost || result.extraRows || result.repeated || a.code || b.code) console.error(`trial ${i} ${extra.join(" ")}: ${JSON.stringify(result)}\n${a.out}\n${b.out}`);
  rmSync(home, { recursive: true, force: true });
  return result;
}

describe("two processes publishing one dataset at once", () => {
  it(`lose and repeat no row in ${TRIALS} trials (day leases on)`, async () => {
    const results = [];
    for (let i = 0; i < TRIALS; i++) results.push(await trial(i, []));
    expect(results.filter((r) => r.codes.some((c) => c !== 0))).toEqual([]);
    expect(results.reduce((n, r) => n + r.lost, 0)).toBe(0);
    expect(results.reduce((n, r) => n + r.extraRows + r.repeated, 0)).toBe(0);
  }, 1_800_000);

  it(`lose, repeat and corrupt nothing with --no-leases in ${NO_LEASE_TRIALS} trials`, async () => {
    const results = [];
    for (let i = 0; i < NO_LEASE_TRIALS; i++) results.push(await trial(1000 + i, ["--no-leases"]));
    expect(results.filter((r) => r.codes.some((c) => c !== 0))).toEqual([]);
    expect(results.reduce((n, r) => n + r.lost + r.extraRows + r.repeated, 0)).toBe(0);
  }, 1_800_000);
});
