import { afterEach, describe, expect, it } from "vitest";
import { clockFromEnv } from "../../src/support/runtime.js";
import { ConfigError } from "../../src/support/errors.js";
import { demo } from "../../src/orchestration/demo.js";
import { pipelineAction } from "../../src/cli/pipeline.js";
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
});
