/** Counts in two named units: items (what a stage works on) and rows (records of data), never mixed. */
import { describe, expect, it } from "vitest";
import { printSummary } from "../../src/cli/entry.js";
import { formatPipelineSummary } from "../../src/orchestration/pipeline-run.js";
import { formatBackfillSummary } from "../../src/orchestration/backfill.js";
import type { RunSummary } from "../../src/support/events.js";

const summary: RunSummary = {
  app: "wt-ready",
  processed: 3,
  skipped: 7,
  failed: 0,
  records: 1200,
  seconds: 0.5,
  failures: [],
  skipReasons: { "already done": 7 },
  rowsLeftOut: { "quarantined: volume outside [0, 10000]": 2, "detector without an inventory entry": 1 },
  simulate: false,
};

describe("items and rows", () => {
  it("a stage's summary names items and rows; rows left out are not skipped items", () => {
    let out = "";
    printSummary(summary, false, (s) => (out += s));
    expect(out).toBe(
      "wt-ready: 3 items processed, 7 skipped, 0 failed; 1200 rows written in 0.50 s\n" +
        "  skipped 7 items: already done\n" +
        "  left out 2 rows: quarantined: volume outside [0, 10000]\n" +
        "  left out 1 row: detector without an inventory entry\n",
    );
    let json = "";
    printSummary(summary, true, (s) => (json += s));
    expect(JSON.parse(json)).toMatchObject({ processed: 3, skipped: 7, records: 1200, rows: 1200, skipReasons: { "already done": 7 }, rowsLeftOut: { "detector without an inventory entry": 1 } });
  });

  it("the pipeline and backfill tables head their item columns as items and their row column as rows", () => {
    const table = formatPipelineSummary([{ source: "wt", stage: "wt-ready", summary }]).split("\n");
    expect(table[0]).toMatch(/─ items ─/);
    expect(table[1]).toMatch(/^stage\s+processed\s+skipped\s+failed\s+rows\s+seconds$/);
    expect(table[2]).toMatch(/^wt-ready\s+3\s+7\s+0\s+1200\s+0\.50$/);
    const backfill = formatBackfillSummary({
      plan: { stages: ["wt-ready"], days: ["2024-11-01"], partitioned: false },
      seconds: 1,
      exitCode: 0,
      outcomes: [{ source: "wt", stage: "wt-ready", day: "2024-11-01", status: "succeeded", message: null, counts: { processed: 3, skipped: 0, failed: 0, records: 1200 }, seconds: 1 }],
    } as unknown as Parameters<typeof formatBackfillSummary>[0]);
    expect(backfill.split("\n")[0]).toMatch(/^stage\s+succeeded\s+rows\s+seconds$/);
  });
});
