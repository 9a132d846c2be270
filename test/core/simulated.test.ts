import { afterEach, describe, expect, it } from "vitest";
import { clockFromEnv } from "../../src/support/runtime.js";
import { ConfigError } from "../../src/support/errors.js";
import { demo } from "../../src/orchestration/demo.js";
import { pipelineAction } from "../../src/cli/pipeline.js";
import { runStageAction } from "../../src/cli/run.js";
import { tempDir } from "./helpers.js";

describe("LAKE_CLOCK", () => {
  it("starts the clock at the given instant and lets it run", () => {
    const clock = clockFromEnv({ LAKE_CLOCK: "2024-11-10T09:00:00-06:00" })!;
    const t = clock();
    expect(t - Date.parse("2024-11-10T15:00:00Z")).toBeGreaterThanOrEqual(0);
    expect(t - Date.parse("2024-11-10T15:00:00Z")).toBeLessThan(5_000);
    expect(clockFromEnv({})).toBeUndefined();
    expect(() => clockFromEnv({ LAKE_CLOCK: "next tuesday" })).toThrow(ConfigError);
  });
});

describe("simulated source systems registered by the demo", () => {
  const saved = { home: process.env.LAKE_HOME, clock: process.env.LAKE_CLOCK };
  afterEach(() => {
    for (const [k, v] of [["LAKE_HOME", saved.home], ["LAKE_CLOCK", saved.clock]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("are started for a later `lake pipeline` on the demo lake, so the device API answers", async () => {
    const home = tempDir();
    await demo({ dir: home, sources: ["gs"] });
    process.env.LAKE_HOME = home;
    process.env.LAKE_CLOCK = "2024-11-10T09:00:00-06:00";
    let text = "";
    const code = await pipelineAction("gs", ["-s", "3", "--json"], { out: (s) => void (text += s) });
    const stages = JSON.parse(text).stages as { stage: string; processed: number; skipped: number; failed: number }[];
    expect(code).toBe(0);
    // The devices were reached (nothing failed); the three days were already in the lake.
    expect(stages[0]).toMatchObject({ stage: "gs-insert-lake", processed: 0, failed: 0, skipped: 9 });
  }, 120_000);

  it("meet later commands healthy: the demo's own outage hour and broken portal page do not fail a rerun of their blocks", async () => {
    const home = tempDir();
    // The demo shows both faults and repairs them (its repair pass); a later command starts the systems afresh.
    await demo({ dir: home, sources: ["mds", "feeds"] });
    process.env.LAKE_HOME = home;
    const run = async (stage: string, partition: string) => {
      let text = "";
      const code = await runStageAction(stage, ["--partition", partition, "--json"], { out: (s) => void (text += s) });
      const summary = JSON.parse(text) as { processed: number; failed: number; blocks: { status: string }[] };
      return { code, failed: summary.failed, status: summary.blocks[0]?.status };
    };
    // bird's 10:00 hour of 2024-11-03 answers 500 three times in the demo (more than a run's retries).
    expect(await run("mds-extract", "2024-11-03T10:00-06:00#bird")).toEqual({ code: 0, failed: 0, status: "succeeded" });
    // The portal's first page is broken in the demo (that run fails there); now the job completes, with no new data
    // (the demo's repair pass loaded those bills).
    expect(await run("feeds-run", "2024-11-08#city-power")).toEqual({ code: 0, failed: 0, status: "no-data" });
  }, 300_000);
});
