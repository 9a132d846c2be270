/** Block progress: plain lines off a terminal, a cli-progress bar (done/total, rate, ETA) on one. */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createProgress, describeOutcome } from "../../src/cli/progress.js";
import type { BlockOutcome } from "../../src/orchestration/block-runner.js";
import { fakeStream } from "./helpers.js";


const ok: BlockOutcome = { source: "tt", stage: "tt-make", day: "2024-11-01", status: "succeeded", message: null, counts: { processed: 1, skipped: 0, failed: 0, records: 96 }, seconds: 0.25 };
const bad: BlockOutcome = { ...ok, day: "2024-11-02", status: "failed", message: "1 item(s) failed: x: boom", counts: { processed: 0, skipped: 0, failed: 1, records: 0 } };

describe("block progress", () => {
  it("prints one line per block with its position when not on a terminal", () => {
    const f = fakeStream(false);
    const p = createProgress({ stream: f.stream, label: "backfill tt" });
    p.start(2);
    p.done(ok);
    p.done(bad);
    p.stop();
    // Each a log line (timestamp, level: log.test.ts), its text after them.
    expect(f.text().replace(/^\S+ (\S+)\s+/gm, "$1 ")).toBe(
      "INFO backfill tt: 2 to run\n" +
        "INFO [1/2] tt-make 2024-11-01: succeeded (1 items processed, 0 skipped, 0 failed, 96 rows, 0.3 s)\n" +
        "WARN [2/2] tt-make 2024-11-02: failed (0 items processed, 0 skipped, 1 failed, 0 rows, 0.3 s) — 1 item(s) failed: x: boom\n",
    );
  });

  it("draws a bar with done/total, rate and ETA on a terminal, failures printed above it", async () => {
    const f = fakeStream(true);
    const p = createProgress({ stream: f.stream, label: "backfill tt" });
    p.start(2);
    p.done(ok);
    p.done(bad);
    await sleep(250); // the bar redraws on its own timer
    p.stop();
    const text = f.text();
    expect(text).toMatch(/backfill tt \[[█░]+\] 2\/2 \| [\d.]+\/s \| ETA \d+s/);
    expect(text).toContain("tt-make 2024-11-02: failed");
  });

  it("--json/quiet prints nothing", () => {
    const f = fakeStream(false);
    const p = createProgress({ stream: f.stream, quiet: true });
    p.start(1);
    p.done(ok);
    p.stop();
    expect(f.text()).toBe("");
    expect(describeOutcome({ ...ok, status: "busy", message: "held by h:1" })).toBe("tt-make 2024-11-01: busy — held by h:1");
  });
});
