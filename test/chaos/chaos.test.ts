/**
 * The chaos harness's short version (issue 14, requirement 8): 10 SIGKILLs of `lake pipeline all` on a demo lake at
 * seeded random points over a clean run's duration, each repaired by a rerun, and every fault kind (down, reset
 * mid-run, stall mid-run, throttle) through the TCP proxy in front of each real service (PostgreSQL, PostgREST,
 * Swift S3, Redis, the Socrata and Knack fakes), each repaired by a rerun. Everything must equal a clean run: no row
 * lost or duplicated, no object or catalog row differing, no temp file or lease left. The assertions are on
 * outcomes only: where a kill lands and how long a faulted run takes do not matter. The full version (100 kills) is
 * `npm run bench -- chaos`. CHAOS_SEED replays a seed; the seed is in the test's output.
 */
import { expect, it } from "vitest";
import { describeService } from "../helpers/services.js";
import { ensureBuilt } from "../helpers/build.js";
import { formatTable, runChaos } from "../../bench/chaos/index.js";
import { compare, zeroOutcome, type Snapshot } from "../../bench/chaos/lake.js";

const SERVICES = ["PG_URL", "POSTGREST_URL", "POSTGREST_JWT", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "SOCRATA_FAKE_CERT", "SOCRATA_FAKE_KEY"];

const snap = (rows: string[], objects: Record<string, string> = {}, catalog: Record<string, string> = {}): Snapshot => {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r, (m.get(r) ?? 0) + 1);
  return { published: new Map([["ds", m]]), objects: new Map(Object.entries(objects)), catalog: new Map(Object.entries(catalog)), tempFiles: [], staleLeases: [] };
};

it("the comparison counts lost, duplicated and foreign rows, and differing objects and catalog rows", () => {
  const clean = snap(["a", "b", "c"], { o1: "h1", o2: "h2" }, { k1: "v1" });
  expect(compare(clean, clean)).toEqual(zeroOutcome());
  const got = compare(clean, snap(["a", "a", "c", "x"], { o1: "h1", o2: "other", o3: "h3" }, {}));
  expect(got).toMatchObject({ rowsLost: 1, rowsDuplicated: 1, rowsExtra: 1, objectsDiffering: 2, catalogDiffering: 1 });
});

describeService(SERVICES, "chaos harness, short version", () => {
  it("10 kills and every fault of every system: nothing lost, duplicated or differing after the reruns", async () => {
    await ensureBuilt();
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const lines: string[] = [];
    const report = await runChaos({ kills: 10, faults: true, seed, concurrency: 2, faultConcurrency: 6, log: (l) => lines.push(l) });
    const table = formatTable(report);
    console.log(`${lines.join("\n")}\n${table}`);
    expect(report.faults).toBe(24);
    expect(report.killsLanded, "most kills must hit a running process").toBeGreaterThanOrEqual(5);
    expect(
      { seed, lost: report.rowsLost, duplicated: report.rowsDuplicated, extra: report.rowsExtra, objects: report.objectsDiffering, catalog: report.catalogDiffering, temp: report.tempFiles, leases: report.staleLeases, reruns: report.rerunsFailed },
      table,
    ).toEqual({ seed, lost: 0, duplicated: 0, extra: 0, objects: 0, catalog: 0, temp: 0, leases: 0, reruns: 0 });
    expect(report.ok, table).toBe(true);
  }, 1_800_000);
});
